/**
 * The command-line conventions every piwheels tool shares: `-h/--help`, `--version`,
 * `-c/--configuration FILE`, `-q/--quiet`, `-v/--verbose` and `-l/--log-file FILE`.
 *
 * A configuration file is INI-style with one section per tool (`[master]` or `[piw-master]`)
 * whose keys are the tool's long option names (`pypi-xmlrpc = https://…`, `yes = true`).
 * Values given on the command line win over the file, and the file wins over the defaults.
 * Without `-c`, `/etc/piwheels.conf` and `~/.config/piwheels/piwheels.conf` are read when they
 * exist and the tool is allowed to read them.
 *
 * @module
 */

import { Command, CommanderError, InvalidArgumentError, type Option } from "commander";
import { configureLogging, levelsFor } from "./log.ts";
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
    .showHelpAfterError("(run with --help for usage)");
}

/**
 * Adds the monitors' two queues (`--status-queue`, `--control-queue`) with the manual's
 * defaults: the master binds them, piw-monitor and piw-sense connect to them.
 */
export function monitorQueueOptions(cmd: Command): Command {
  return cmd
    .option(
      "--status-queue <ADDR>",
      "the address of the queue used to report status to monitors",
      "ipc:///tmp/piw-status",
    )
    .option(
      "--control-queue <ADDR>",
      "the address of the queue a monitor can use to control the master",
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

function readConfig(path: string, required: boolean): string | undefined {
  if (!required && !canRead(path)) return undefined;
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (!required && e instanceof Deno.errors.NotFound) return undefined;
    const why = e instanceof Deno.errors.NotCapable
      ? "this tool is not permitted to read it"
      : (e as Error).message;
    throw new ConfigError(`cannot read configuration file ${path}: ${why}`);
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
    if (opt.isBoolean()) {
      parsed = parseBool(value, where);
    } else if (opt.parseArg) {
      try {
        parsed = opt.parseArg(value.trim(), undefined);
      } catch (e) {
        throw new ConfigError(`${where}: ${(e as Error).message}`);
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
  try {
    const files = given ? [given] : defaultConfigFiles();
    for (const path of files) {
      const text = readConfig(path, given !== undefined);
      if (text !== undefined) applyConfig(cmd, path, text);
    }
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`${cmd.name()}: error: ${e.message}`);
    Deno.exit(2);
  }
  const opts = cmd.opts<T>();
  const level = levelsFor(opts);
  configureLogging({
    consoleLevel: level,
    fileLevel: opts.verbose ? "debug" : "info",
    logFile: opts.logFile,
  });
  return opts;
}

/**
 * A commander argument parser that turns a parsing function's exception into a usage error,
 * e.g. `.option("-t, --timeout <DURATION>", "…", parsed(Duration.parse), Duration.of({hours: 3}))`.
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
