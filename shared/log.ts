/**
 * Logging for every tool: console output on stderr at the level `-q`/`-v` choose, and an
 * optional log file (`-l FILE`) with timestamps. Messages quote what peers and PyPI said, so
 * each is made {@linkcode terminalSafe} first, and cut at {@linkcode MAX_LOG_MESSAGE}.
 *
 * @module
 */

/** Severity, from most to least verbose. */
export type Level = "debug" | "info" | "warning" | "error";

/** A console level that writes nothing (a full-screen program owns the terminal). */
export type ConsoleLevel = Level | "silent";

const RANK: Record<ConsoleLevel, number> = {
  debug: 10,
  info: 20,
  warning: 30,
  error: 40,
  silent: 100,
};

/** Where and how much to log. */
export interface LogSettings {
  /** The lowest level written to the console (stderr); "silent" for none. */
  consoleLevel: ConsoleLevel;
  /** The lowest level written to the log file. */
  fileLevel: Level;
  /** The log file, appended to; none when undefined. */
  logFile?: string | undefined;
}

const encoder = new TextEncoder();
let settings: LogSettings = { consoleLevel: "info", fileLevel: "info" };
let file: Deno.FsFile | undefined;

/** The log levels the common `-q` / `-v` options select. */
export function levelsFor(opts: { quiet?: boolean; verbose?: boolean }): Level {
  return opts.verbose ? "debug" : opts.quiet ? "warning" : "info";
}

/** Applies log settings, opening (creating, appending to) the log file if one is named. */
export function configureLogging(next: LogSettings): void {
  file?.close();
  file = undefined;
  settings = { ...next };
  if (next.logFile) {
    file = Deno.openSync(next.logFile, { create: true, append: true });
  }
}

/** The settings in force (so that a Worker can be given the same). */
export function currentLogSettings(): LogSettings {
  return { ...settings };
}

/**
 * Text made safe to print on a terminal or in a log file: control characters other than tab
 * (escape sequences, carriage returns, bells) shown as `\xNN`, format characters (a bidi
 * override turns the rest of a line around, a zero-width space hides) and line separators as
 * `\u{NNNN}`, and every line after the first indented, so that nothing quoted from outside can
 * move the cursor, retitle or clear a terminal, pass for a line of its own, or read as other
 * text than it is.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[^\P{Cc}\t]|[\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => {
    if (c === "\n") return "\n  ";
    const code = c.codePointAt(0)!;
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/**
 * The most characters of a message logged: what a peer or PyPI says can be megabytes (a fault's
 * text, a malformed value), and a line of it a poll fills a disk in a day.
 */
export const MAX_LOG_MESSAGE = 4096;

function write(level: Level, name: string, raw: string): void {
  const cut = raw.length > MAX_LOG_MESSAGE
    ? `${raw.slice(0, MAX_LOG_MESSAGE)}… (${raw.length - MAX_LOG_MESSAGE} characters more)`
    : raw;
  const message = terminalSafe(cut);
  if (RANK[level] >= RANK[settings.consoleLevel]) {
    const prefix = level === "info" || level === "debug" ? "" : `${level}: `;
    Deno.stderr.writeSync(encoder.encode(`${name}: ${prefix}${message}\n`));
  }
  if (file && RANK[level] >= RANK[settings.fileLevel]) {
    const line = `[${new Date().toISOString()}] ${name} ${level.toUpperCase()}: ${message}\n`;
    file.writeSync(encoder.encode(line));
  }
}

/** A named logger (the tool or task name shows in every line). */
export class Logger {
  /** Makes a logger whose lines start with `name`. */
  constructor(readonly name: string) {}

  /** Logs detail shown only with `-v`. */
  debug(message: string): void {
    write("debug", this.name, message);
  }

  /** Logs normal progress. */
  info(message: string): void {
    write("info", this.name, message);
  }

  /** Logs something wrong that the program carries on from. */
  warning(message: string): void {
    write("warning", this.name, message);
  }

  /** Logs a failure. */
  error(message: string): void {
    write("error", this.name, message);
  }
}

/**
 * A warning anyone can make us repeat (a flood of junk, of HELLOs) said at most once per
 * `everyMs`: the times it was not said are counted, and the next line is told how many.
 */
export class ThrottledWarning {
  #said = -Infinity;
  #missed = 0;

  /** Says it through `log`. */
  constructor(readonly log: Logger, readonly everyMs: number) {}

  /** Says `text(missed)`, unless one was said within `everyMs`: then counts it as missed. */
  warn(text: (missed: number) => string): void {
    const now = Date.now();
    if (now - this.#said < this.everyMs) {
      this.#missed++;
      return;
    }
    this.log.warning(text(this.#missed));
    this.#said = now;
    this.#missed = 0;
  }
}

/** The message of anything thrown, for a log line. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
