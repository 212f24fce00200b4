/**
 * piw-master's command line (manual chapter 2.1), with the defaults the manual gives, plus the
 * embedded database a newcomer gets when no database is configured at all.
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

/** piw-master's options after parsing (and merging a configuration file). */
export interface MasterOptions extends CommonOptions {
  /** The database DSN (`postgres://…` or `pglite:///dir`); undefined → embedded default. */
  dsn?: string;
  /** Where the web site is written. */
  outputPath: string;
  /** Development mode: shorter timeouts. */
  devMode?: boolean;
  /** PyPI's XML-RPC service. */
  pypiXmlrpc: string;
  /** PyPI's simple index (handed to slaves in ACK). */
  pypiSimple: string;
  /** The public base URL of the site, for install snippets. */
  baseUrl: string;
  /** Queue addresses. */
  statusQueue: string;
  controlQueue: string;
  importQueue: string;
  logQueue: string;
  slaveQueue: string;
  fileQueue: string;
  webQueue: string;
  buildsQueue: string;
  dbQueue: string;
  fsQueue: string;
  statsQueue: string;
}

/** Where the master keeps its data by default: `$XDG_DATA_HOME/piwheels` or `~/.local/share/piwheels`. */
export function defaultDataDir(): string {
  const xdg = Deno.env.get("XDG_DATA_HOME");
  if (xdg) return `${xdg}/piwheels`;
  return `${Deno.env.get("HOME") ?? "."}/.local/share/piwheels`;
}

/** piw-master's command definition (exported for --help tests and documentation). */
export function masterCommand(dataDir = defaultDataDir()): Command {
  const cmd = toolCommand(
    "piw-master",
    "The piw-master script is intended to be run on the database and file-server machine. " +
      "It follows PyPI, keeps the database, hands builds to build slaves, receives their wheels " +
      "and keeps the web site up to date.",
  )
    .option(
      "-d, --dsn <DSN>",
      "the database to use: postgres://user@host/piwheels (configured with piw-initdb, not as a " +
        `superuser) or pglite:///path (embedded; default: pglite://${dataDir}/db)`,
    )
    .option(
      "-o, --output-path <PATH>",
      "the path under which the website should be written; must be writable by the current user",
      `${dataDir}/www`,
    )
    .option("--dev-mode", "run the master in development mode, which reduces some timeouts")
    .option("--pypi-xmlrpc <URL>", "the URL of the PyPI XML-RPC service", "https://pypi.org/pypi")
    .option("--pypi-simple <URL>", "the URL of the PyPI simple API", "https://pypi.org/simple")
    .option(
      "--base-url <URL>",
      "the public URL of the web site, shown in install instructions",
      "",
    );
  return monitorQueueOptions(cmd)
    .option(
      "--import-queue <ADDR>",
      "the address of the queue used by piw-import, piw-rebuild and piw-remove",
      "ipc:///tmp/piw-import",
    )
    .option(
      "--log-queue <ADDR>",
      "the address of the queue used by piw-logger",
      "ipc:///tmp/piw-logger",
    )
    .option(
      "--slave-queue <ADDR>",
      "the address of the queue used to talk to the build slaves",
      "tcp://*:5555",
    )
    .option(
      "--file-queue <ADDR>",
      "the address of the queue used to transfer files from slaves",
      "tcp://*:5556",
    )
    .option(
      "--web-queue <ADDR>",
      "the address of the queue used to request web page updates",
      "inproc://web",
    )
    .option(
      "--builds-queue <ADDR>",
      "the address of the queue used to store pending builds",
      "inproc://builds",
    )
    .option(
      "--db-queue <ADDR>",
      "the address of the queue used to talk to the database server",
      "inproc://db",
    )
    .option(
      "--fs-queue <ADDR>",
      "the address of the queue used to talk to the file-system server",
      "inproc://fs",
    )
    .option(
      "--stats-queue <ADDR>",
      "the address of the queue used to send statistics to the collator task",
      "inproc://stats",
    );
}

/** Parses piw-master's command line. */
export function parseMasterOptions(argv: string[] = Deno.args): MasterOptions {
  return parseCommand<MasterOptions>(masterCommand(), argv);
}
