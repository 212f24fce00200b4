/**
 * The command-line conventions every piwheels tool shares: `-h/--help`, `--version`,
 * `-c/--configuration FILE`, `-q/--quiet`, `-v/--verbose` and `-l/--log-file FILE`.
 *
 * A configuration file is INI-style with one section per tool (`[master]` or `[piw-master]`)
 * whose keys are the tool's long option names (`pypi-xmlrpc = https://…`, `yes = true`).
 * Values given on the command line win over the file, and the file wins over the defaults.
 * Without `-c`, `/etc/piwheels.conf` and then `~/.config/piwheels/piwheels.conf` are read when
 * they can be: one that cannot (missing, a directory, hidden by systemd's `ProtectHome=`, not
 * permitted to the tool) is skipped, saying why with `-v`; a `-c FILE` that cannot be read is an
 * error.
 *
 * Every usage error (an unknown option, a bad value, a configuration file that cannot be read or
 * holds something unknown, a log file that cannot be opened) is one line on stderr, naming the
 * value and what was expected, and exit status 2.
 *
 * @module
 */

import { Command, CommanderError, InvalidArgumentError, type Option } from "commander";
import { configureLogging, errorMessage, levelsFor, Logger } from "./log.ts";
import { type EndpointRole, endpointValue } from "./option_values.ts";
import { VERSION } from "./version.ts";

/** The options every tool has. */
export interface CommonOptions {
  /** `-c FILE`: the configuration file to load. */
  configuration?: string;
  /** `-q`: less console output. */
  quiet?: boolean;
  /** `-v`: more console output. */
  verbose?: boolean;
  /** `-l FILE`: log to this file too. */
  logFile?: string;
}

/** Raised for a configuration file that cannot be read or holds something unknown. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Passwords in URLs (`postgres://user:secret@host/db`) replaced by `***`, for messages that
 * quote what an operator typed.
 */
export function redactPasswords(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"[\]]*):[^\s@/'"]*@/gi, "$1:***@");
}

/** A message as one line of a tool's stderr: its lines joined, control characters as `?`. */
function oneLine(message: string): string {
  return redactPasswords(message.trim().split(/\s*\n\s*/).join(" ")).replace(/\p{Cc}/gu, "?");
}

/** Prints a usage error as one line: `piw-tool: error: …`. */
function usageError(tool: string, message: string): void {
  console.error(
    `${tool}: ${oneLine(message.startsWith("error: ") ? message : `error: ${message}`)}`,
  );
}

/**
 * A commander `Command` for a tool, with the common options and help that explains itself.
 * Add the tool's own options and arguments, then call {@linkcode parseCommand}.
 */
export function toolCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .helpOption("-h, --help", "show this help message and exit")
    .version(VERSION, "--version", "show the program's version number and exit")
    .option("-c, --configuration <FILE>", "specify a configuration file to load")
    .option("-q, --quiet", "produce less console output")
    .option("-v, --verbose", "produce more console output")
    .option("-l, --log-file <FILE>", "log messages to the specified file")
    .configureOutput({
      outputError: (text) => usageError(name, `${text.trim().replace(/\.$/, "")}; see --help`),
    });
}

/**
 * Adds the monitors' two queues (`--status-queue`, `--control-queue`) with the manual's
 * defaults: the master binds them (`role` "bind"), piw-monitor and piw-sense connect to them
 * ("connect").
 */
export function monitorQueueOptions(cmd: Command, role: EndpointRole): Command {
  return cmd
    .option(
      "--status-queue <ADDR>",
      "the address of the queue used to report status to monitors",
      endpointValue(role),
      "ipc:///tmp/piw-status",
    )
    .option(
      "--control-queue <ADDR>",
      "the address of the queue a monitor can use to control the master",
      endpointValue(role),
      "ipc:///tmp/piw-control",
    );
}

/** Parses INI text into sections of key → value. Keys are lower-cased, `_` read as `-`. */
export function parseIni(text: string, source = "configuration"): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trimEnd();
    const where = `${source}, line ${index + 1}`;
    if (/^\s*([#;]|$)/.test(line)) return;
    if (/^\s/.test(line) && current && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey)}\n${line.trim()}`); // continuation
      return;
    }
    const section = /^\[([^\]]+)\]$/.exec(line.trim());
    if (section) {
      const name = section[1]!.trim().toLowerCase();
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      lastKey = undefined;
      return;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line.trim());
    if (!pair) throw new ConfigError(`${where}: expected "key = value" or "[section]"`);
    if (!current) throw new ConfigError(`${where}: "${pair[1]}" is outside any [section]`);
    lastKey = pair[1]!.toLowerCase().replaceAll("_", "-");
    current.set(lastKey, pair[2]!);
  });
  return sections;
}

function parseBool(value: string, where: string): boolean {
  const v = value.trim().toLowerCase();
  if (["1", "yes", "true", "on"].includes(v)) return true;
  if (["0", "no", "false", "off"].includes(v)) return false;
  throw new ConfigError(`${where}: expected true or false, not "${value}"`);
}

function canRead(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

function defaultConfigFiles(): string[] {
  const files = ["/etc/piwheels.conf"];
  try {
    if (Deno.permissions.querySync({ name: "env", variable: "HOME" }).state === "granted") {
      const home = Deno.env.get("HOME");
      if (home) files.push(`${home}/.config/piwheels/piwheels.conf`);
    }
  } catch {
    // no HOME to look in
  }
  return files;
}

/** What a configuration file is, read or not. */
type ConfigText = { text: string } | { skipped: string };

/**
 * Reads a configuration file. One given with `-c` (`required`) must be readable; a default one
 * that cannot be read is skipped (`skipped` says why, or is empty when it simply is not there).
 */
function readConfig(path: string, required: boolean): ConfigText {
  const notPermitted = "this tool is not permitted to read it";
  if (!required && !canRead(path)) return { skipped: notPermitted };
  try {
    return { text: Deno.readTextFileSync(path) };
  } catch (e) {
    const why = e instanceof Deno.errors.NotCapable ? notPermitted : errorMessage(e);
    if (required) throw new ConfigError(`cannot read configuration file ${path}: ${why}`);
    return { skipped: e instanceof Deno.errors.NotFound ? "" : why };
  }
}

/** Applies one configuration file's section to the options not given on the command line. */
function applyConfig(cmd: Command, path: string, text: string): void {
  const sections = parseIni(text, path);
  const name = cmd.name();
  const short = name.replace(/^piw-/, "");
  const section = sections.get(name) ?? sections.get(short);
  if (!section) return;
  const byKey = new Map<string, Option>();
  for (const opt of cmd.options) {
    if (opt.long && !["--help", "--version", "--configuration"].includes(opt.long)) {
      byKey.set(opt.long.slice(2), opt);
    }
  }
  for (const [key, value] of section) {
    const where = `${path}, [${name === short ? name : short}] ${key}`;
    const opt = byKey.get(key);
    if (!opt) {
      const known = [...byKey.keys()].join(", ");
      throw new ConfigError(`${where}: not an option of ${name} (known: ${known})`);
    }
    const attr = opt.attributeName();
    if (cmd.getOptionValueSource(attr) === "cli") continue;
    let parsed: unknown;
    if (opt.negate) {
      parsed = !parseBool(value, where); // `no-network = true` is `--no-network`: network false
    } else if (opt.isBoolean()) {
      parsed = parseBool(value, where);
    } else if (opt.parseArg) {
      try {
        parsed = opt.parseArg(value.trim(), undefined);
      } catch (e) {
        throw new ConfigError(`${where}: '${value.trim()}' is invalid. ${errorMessage(e)}`);
      }
    } else {
      parsed = value.trim();
    }
    cmd.setOptionValueWithSource(attr, parsed, "config");
  }
}

/**
 * Parses the command line (default `Deno.args`), merges the configuration files, sets up
 * logging, and returns the options. Help, version and usage errors print and exit as usual
 * (exit code 0 for help and version, 2 for a usage error, as argparse does).
 */
export function parseCommand<T extends CommonOptions>(
  cmd: Command,
  argv: string[] = Deno.args,
): T {
  cmd.exitOverride();
  try {
    cmd.parse(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) Deno.exit(e.exitCode === 0 ? 0 : 2);
    throw e;
  }
  const given = cmd.opts<T>().configuration;
  const skipped: string[] = [];
  try {
    const files = given ? [given] : defaultConfigFiles();
    for (const path of files) {
      const read = readConfig(path, given !== undefined);
      if ("text" in read) applyConfig(cmd, path, read.text);
      else if (read.skipped) skipped.push(`skipped configuration file ${path}: ${read.skipped}`);
    }
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    usageError(cmd.name(), e.message);
    Deno.exit(2);
  }
  const opts = cmd.opts<T>();
  const level = levelsFor(opts);
  try {
    configureLogging({
      consoleLevel: level,
      fileLevel: opts.verbose ? "debug" : "info",
      logFile: opts.logFile,
    });
  } catch (e) {
    usageError(cmd.name(), `cannot open log file ${opts.logFile}: ${errorMessage(e)}`);
    Deno.exit(2);
  }
  const log = new Logger(cmd.name());
  for (const note of skipped) log.debug(note);
  return opts;
}

/**
 * A commander argument parser that turns a parsing function's exception into a usage error,
 * e.g. `.option("--format <FORMAT>", "…", parsed(compileLogFormat))`. (The common kinds of value
 * have parsers of their own in `option_values.ts`.)
 */
export function parsed<T>(parse: (text: string) => T): (value: string) => T {
  return (value: string) => {
    try {
      return parse(value);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}
