/**
 * piw-master's command line (manual chapter 2.1), with the defaults the manual gives, plus the
 * embedded database a newcomer gets when no database is configured at all.
 *
 * @module
 */

import { type Command, Option } from "commander";
import {
  type CommonOptions,
  monitorQueueOptions,
  parseCommand,
  toolCommand,
} from "../shared/config.ts";
import { resolve } from "node:path";
import {
  baseUrlValue,
  dsnValue,
  endpointValue,
  mebibytes,
  urlValue,
} from "../shared/option_values.ts";

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
  /** PyPI's JSON API (release data); the XML-RPC URL when not given. */
  pypiJson: string;
  /** Where Cloud Gazer reads each new release's description, Requires-Python and yank from. */
  releaseData: ReleaseDataChoice;
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
  /** The master's secret CURVE certificate (`piw-keygen`): the slave and file queues use CURVE. */
  curveKey?: string;
  /** The directory of the public certificates of the slaves and importers let in. */
  curveClients?: string;
  /** Where the Prometheus metrics are written (node_exporter's textfile collector reads them). */
  metricsFile?: string;
  /** Bytes the output's file system keeps free: no build is handed out below it. */
  minFree: number;
}

/** Where release data comes from: PyPI's JSON API, the PEP 691 simple API, or nowhere. */
export const RELEASE_DATA = ["json", "simple", "none"] as const;

/** One of {@linkcode RELEASE_DATA}. */
export type ReleaseDataChoice = (typeof RELEASE_DATA)[number];

/** Where the master keeps its data by default: `$XDG_DATA_HOME/piwheels` or `~/.local/share/piwheels`. */
export function defaultDataDir(): string {
  const xdg = Deno.env.get("XDG_DATA_HOME");
  if (xdg) return `${xdg}/piwheels`;
  return `${Deno.env.get("HOME") ?? "."}/.local/share/piwheels`;
}

/** The default data directory as `--help` describes it (it depends on the environment). */
const DATA_DIR_HELP = "DATA being $XDG_DATA_HOME/piwheels or else ~/.local/share/piwheels";

/** piw-master's command definition (exported for --help tests and documentation). */
export function masterCommand(dataDir = defaultDataDir()): Command {
  const bind = endpointValue("bind");
  const internal = endpointValue("internal");
  const cmd = toolCommand(
    "piw-master",
    "The piw-master script is intended to be run on the database and file-server machine. " +
      "It follows PyPI, keeps the database, hands builds to build slaves, receives their wheels " +
      "and keeps the web site up to date.",
  )
    .option(
      "-d, --dsn <DSN>",
      "the database to use: postgres://USER@HOST/DATABASE (prepared by piw-initdb; not a " +
        "superuser), postgres:///DATABASE?host=/SOCKET/DIR for a local socket directory, or " +
        `pglite:///DIR (embedded); default: pglite://DATA/db, ${DATA_DIR_HELP}`,
      dsnValue,
    )
    .addOption(
      new Option(
        "-o, --output-path <PATH>",
        "the path under which the website should be written; must be writable by the current " +
          "user",
      ).default(`${dataDir}/www`, "DATA/www, as for --dsn"),
    )
    .option("--dev-mode", "run the master in development mode, which reduces some timeouts")
    .addOption(
      new Option(
        "--min-free <MIB>",
        "hand out no build while the output path's file system has less than MIB MiB free, and " +
          "put off (not refuse) a build whose files would leave less (an import is refused)",
      ).argParser(mebibytes).default(1024 * 1024 * 1024, "1024"),
    )
    .option(
      "--pypi-xmlrpc <URL>",
      "the URL of the PyPI XML-RPC service",
      urlValue,
      "https://pypi.org/pypi",
    )
    .option(
      "--pypi-simple <URL>",
      "the URL of the PyPI simple API",
      urlValue,
      "https://pypi.org/simple",
    )
    .option(
      "--pypi-json <URL>",
      "the URL of the PyPI JSON API, <URL>/<project>/<version>/json (default: the " +
        "--pypi-xmlrpc URL, as on PyPI)",
      urlValue,
    )
    .addOption(
      new Option(
        "--release-data <SOURCE>",
        "where to read each new release's description, Requires-Python and yank from: json " +
          "(the JSON API), simple (the PEP 691 simple API: no descriptions), or none",
      ).choices(RELEASE_DATA).default("json"),
    )
    .addOption(
      new Option(
        "--base-url <URL>",
        "the public URL of the web site (e.g. https://piwheels.example.org), shown in the pages' " +
          "pip install instructions as URL/simple/",
      ).argParser(baseUrlValue).default("", "none: the pages say https://YOUR-PIWHEELS-HOST"),
    );
  return monitorQueueOptions(cmd, "bind")
    .option(
      "--import-queue <ADDR>",
      "the address of the queue used by piw-import, piw-rebuild and piw-remove",
      bind,
      "ipc:///tmp/piw-import",
    )
    .option(
      "--log-queue <ADDR>",
      "the address of the queue used by piw-logger",
      bind,
      "ipc:///tmp/piw-logger",
    )
    .option(
      "--slave-queue <ADDR>",
      "the address of the queue used to talk to the build slaves",
      bind,
      "tcp://*:5555",
    )
    .option(
      "--file-queue <ADDR>",
      "the address of the queue used to transfer files from slaves",
      bind,
      "tcp://*:5556",
    )
    .option(
      "--web-queue <ADDR>",
      "the address of the queue used to request web page updates",
      internal,
      "inproc://web",
    )
    .option(
      "--builds-queue <ADDR>",
      "the address of the queue used to store pending builds",
      internal,
      "inproc://builds",
    )
    .option(
      "--db-queue <ADDR>",
      "the address of the queue used to talk to the database server",
      internal,
      "inproc://db",
    )
    .option(
      "--fs-queue <ADDR>",
      "the address of the queue used to talk to the file-system server",
      internal,
      "inproc://fs",
    )
    .option(
      "--stats-queue <ADDR>",
      "the address of the queue used to send statistics to the collator task",
      internal,
      "inproc://stats",
    )
    .option(
      "--curve-key <FILE>",
      "the master's secret CURVE certificate (made by piw-keygen): the slave and file queues " +
        "then encrypt everything and let in only the keys in --curve-clients; without it they " +
        "speak plain ZMTP, as deployed piwheels does",
    )
    .option(
      "--curve-clients <DIR>",
      "the directory of the public certificates (NAME.key) of the slaves and importers let in " +
        "with --curve-key; a certificate dropped in lets its slave in at its next attempt",
    )
    .option(
      "--metrics-file <PATH>",
      "write the master's metrics in Prometheus's text format to PATH every 5 seconds (whole, " +
        "by a rename), e.g. /var/lib/prometheus/node-exporter/piwheels.prom for node_exporter's " +
        "textfile collector",
      (path: string) => resolve(path),
    );
}

/** Parses piw-master's command line. */
export function parseMasterOptions(argv: string[] = Deno.args): MasterOptions {
  const options = parseCommand<MasterOptions>(masterCommand(), argv);
  options.pypiJson ??= options.pypiXmlrpc;
  return options;
}
