/**
 * piw-slave's command line: the manual's options (chapter 3.1: `-m HOST`, `-t DURATION`, and
 * the common ones) and what a build farm needs beyond them — which Python to build with, a
 * label, the build directory, the sandbox, and the master's queues when they are not on the
 * default ports.
 *
 * @module
 */

import { type Command, InvalidArgumentError, Option } from "commander";
import { type CommonOptions, toolCommand } from "../shared/config.ts";
import { curveClientCommand, type CurveClientOptions } from "../shared/curve_setup.ts";
import { Duration } from "../shared/duration.ts";
import {
  absolutePath,
  endpointValue,
  hostValue,
  nonEmpty,
  positiveDuration,
} from "../shared/option_values.ts";

/** The sandbox modes. */
export const SANDBOXES = ["auto", "bwrap", "none"] as const;

/** piw-slave's options after parsing (and merging a configuration file). */
export interface SlaveOptions extends CommonOptions, CurveClientOptions {
  /** The master's host name or address. */
  master: string;
  /** The build timeout. */
  timeout: Duration;
  /** The interpreter to build with (absolute path). */
  python: string;
  /** The label the monitors show. */
  label: string;
  /** Where builds happen. */
  buildDir: string;
  /** How builds are isolated. */
  sandbox: (typeof SANDBOXES)[number];
  /** Whether builds may use the network (`--no-network`: the sdist is fetched and checked first). */
  network: boolean;
  /** The master's slave queue (default: tcp://MASTER:5555). */
  slaveQueue?: string;
  /** The master's file queue (default: tcp://MASTER:5556). */
  fileQueue?: string;
  /** How long to wait for the master's reply before starting again with HELLO. */
  masterTimeout: Duration;
  /** How long to wait after SLEEP before asking again. */
  sleep: Duration;
}

/** The defaults that depend on the machine. */
export interface SlaveDefaults {
  /** The host name (the default label). */
  hostname: string;
  /** The default build directory. */
  buildDir: string;
}

function sandbox(mode: string): SlaveOptions["sandbox"] {
  if (!(SANDBOXES as readonly string[]).includes(mode)) {
    throw new InvalidArgumentError(`expected one of ${SANDBOXES.join(", ")}`);
  }
  return mode as SlaveOptions["sandbox"];
}

/** piw-slave's command definition. */
export function slaveCommand(defaults: SlaveDefaults): Command {
  const cmd = toolCommand(
    "piw-slave",
    "The piw-slave script is intended to be run on a standalone machine to build packages on " +
      "behalf of the piw-master script. It is intended to be run as an unprivileged user with a " +
      "clean home-directory. Any build dependencies you wish to use must already be installed. " +
      "The script will run until it is explicitly terminated, either by Ctrl+C, SIGTERM, or by " +
      "the remote piw-master script.",
  )
    .option(
      "-m, --master <HOST>",
      "the IP address or hostname of the master server",
      hostValue,
      "localhost",
    )
    .option(
      "-t, --timeout <DURATION>",
      "the time to wait before assuming a build has failed",
      positiveDuration,
      Duration.of({ hours: 3 }),
    )
    .option(
      "--python <PATH>",
      "the Python interpreter to build with, by absolute path (its tags decide the ABI built for)",
      absolutePath,
      "/usr/bin/python3",
    )
    .addOption(
      new Option("--label <NAME>", "the label the monitors show for this slave")
        .argParser(nonEmpty)
        .default(defaults.hostname, "the host name"),
    )
    .addOption(
      new Option("--build-dir <PATH>", "the directory builds happen in (emptied after each build)")
        .argParser(absolutePath)
        .default(defaults.buildDir, "$XDG_CACHE_HOME/piwheels/build or ~/.cache/piwheels/build"),
    )
    .option(
      "--sandbox <MODE>",
      "how builds are isolated: bwrap (bubblewrap), none, or auto (bwrap when it works)",
      sandbox,
      "auto",
    )
    .option(
      "--no-network",
      "run no code of a package with network: the sdist is fetched and its SHA-256 checked " +
        "first, then built with no network at all (needs bubblewrap)",
    )
    .option(
      "--slave-queue <ADDR>",
      "the master's slave queue (default: tcp://MASTER:5555)",
      endpointValue("connect"),
    )
    .option(
      "--file-queue <ADDR>",
      "the master's file queue (default: tcp://MASTER:5556)",
      endpointValue("connect"),
    )
    .option(
      "--master-timeout <DURATION>",
      "how long to wait for a reply from the master before starting again with HELLO",
      positiveDuration,
      Duration.of({ seconds: 60 }),
    )
    .option(
      "--sleep <DURATION>",
      "how long to wait after the master says SLEEP before asking again",
      positiveDuration,
      Duration.of({ seconds: 10 }),
    );
  return curveClientCommand(cmd, "slave");
}
