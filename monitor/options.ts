/**
 * The options piw-monitor and piw-sense share (manual chapters 4.1 and 5.1): the common ones,
 * the status and control queues, and `--once`/`--json` for scripts and health checks.
 *
 * @module
 */

import type { Command } from "commander";
import {
  type CommonOptions,
  monitorQueueOptions,
  parseCommand,
  toolCommand,
} from "../shared/config.ts";
import { Duration } from "../shared/duration.ts";
import { positiveDuration } from "../shared/option_values.ts";
import { printOnce } from "./once.ts";

// piw-sense's --alert-after and --long-build take it from here
export { positiveDuration };

/** The options both monitors have. */
export interface MonitorOptions extends CommonOptions {
  /** The master's status queue (PUB). */
  statusQueue: string;
  /** The master's control queue (PULL). */
  controlQueue: string;
  /** Print the farm's status once and exit. */
  once?: boolean;
  /** With `--once`: as one JSON document. */
  json?: boolean;
  /** With `--once`: how long to wait for the master. */
  timeout: Duration;
}

/** A monitor's command with the options both monitors share. */
export function monitorCommand(name: string, description: string): Command {
  return monitorQueueOptions(toolCommand(name, description), "connect")
    .option(
      "--once",
      "print the farm's status (master, statistics, slaves) once and exit, instead of the " +
        "interactive display; exits 1 when the master does not answer",
    )
    .option("--json", "with --once: print the status as one JSON document")
    .option(
      "--timeout <DURATION>",
      "with --once: how long to wait for the master to answer (e.g. 10s; bare numbers are seconds)",
      positiveDuration,
      Duration.of({ seconds: 10 }),
    );
}

/**
 * Runs a monitor: parses its command line, then prints the farm's status for `--once`, or
 * runs `interactive`. Resolves to the exit code (2 for a usage error).
 */
export async function runMonitor<T extends MonitorOptions>(
  cmd: Command,
  interactive: (opts: T) => Promise<number>,
): Promise<number> {
  const opts = parseCommand<T>(cmd);
  if (opts.json && !opts.once) {
    console.error(`${cmd.name()}: error: --json only goes with --once`);
    return 2;
  }
  if (opts.once) return await printOnce(cmd.name(), opts);
  return await interactive(opts);
}
