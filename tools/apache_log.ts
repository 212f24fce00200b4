/**
 * Reading Apache access logs for piw-logger: a parser built from any `LogFormat` string (or the
 * nicknames `common`, `combined`, `common_vhost`), the classification of each record into what
 * the master counts (WIRE.md: downloads, searches, project pages, project JSON, other pages),
 * and pip's User-Agent JSON read into the ten optional fields.
 *
 * @module
 */

import { emptyUserAgentInfo, type UserAgentInfo } from "../shared/states.ts";
import { Timestamp } from "../shared/timestamp.ts";

/** The LogFormat nicknames Apache defines. */
export const NICKNAMES: Readonly<Record<string, string>> = {
  common: '%h %l %u %t "%r" %>s %b',
  combined: '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
  common_vhost: '%v %h %l %u %t "%r" %>s %b',
};

/** Raised for a LogFormat this parser cannot use. */
export class LogFormatError extends Error {
  override name = "LogFormatError";
}

/** The fields of one access-log record that piw-logger uses. */
export interface LogRecord {
  /** The client (`%h` or `%a`). */
  host: string;
  /** When the request was received (`%t`), if logged. */
  time: Timestamp | null;
  /** The request method. */
  method: string;
  /** The request path, without the query string. */
  path: string;
  /** The final status (`%>s`, or `%s`). */
  status: number;
  /** The User-Agent header (`%{User-agent}i`), or "". */
  userAgent: string;
}

type Field =
  | "host"
  | "time"
  | "request"
  | "status"
  | "agent"
  | "path"
  | "method"
  | "query"
  | "ignore";

/** A compiled LogFormat: a regular expression and what each group holds. */
export interface LogParser {
  /** Parses one line, or returns null if it does not match the format. */
  parse(line: string): LogRecord | null;
}

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

/** Apache's `%t`: `10/Oct/2000:13:55:36 -0700` (brackets removed). */
export function parseApacheTime(text: string): Timestamp | null {
  const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(
    text,
  );
  if (!m) return null;
  const month = MONTHS[m[2]!];
  if (month === undefined || +m[8]! > 14 || +m[9]! > 59) return null;
  const local = new Date(Date.UTC(+m[3]!, month, +m[1]!, +m[4]!, +m[5]!, +m[6]!));
  // a field out of its range (31 February, 25:61) would roll over into the next: refuse it
  const fields = [local.getUTCDate(), local.getUTCMonth(), local.getUTCFullYear()];
  const clock = [local.getUTCHours(), local.getUTCMinutes(), local.getUTCSeconds()];
  if ([...fields, ...clock].join() !== [+m[1]!, month, +m[3]!, +m[4]!, +m[5]!, +m[6]!].join()) {
    return null;
  }
  const offset = (+m[8]! * 60 + +m[9]!) * 60_000 * (m[7] === "-" ? -1 : 1);
  try {
    return new Timestamp((local.getTime() - offset) * 1000);
  } catch {
    return null; // beyond what a timestamp holds (the year 9999 and its microseconds)
  }
}

const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

/**
 * Undoes Apache's escaping of quoted fields (`\"`, `\\`, `\n`, `\t`, `\xhh`), in one pass: a
 * pip User-Agent holds dozens of escaped quotes.
 */
function unescapeApache(s: string): string {
  let at = s.indexOf("\\");
  if (at < 0) return s;
  let out = "";
  let from = 0;
  while (at >= 0 && at + 1 < s.length) {
    out += s.slice(from, at);
    const c = s[at + 1];
    const hex = s.slice(at + 2, at + 4);
    if (c === "x" && HEX_PAIR.test(hex)) {
      out += String.fromCharCode(parseInt(hex, 16));
      from = at + 4;
    } else {
      out += c === "n" ? "\n" : c === "t" ? "\t" : c;
      from = at + 2;
    }
    at = s.indexOf("\\", from);
  }
  return out + s.slice(from);
}

/** Compiles a LogFormat string (or nickname) into a parser. */
export function compileLogFormat(format: string): LogParser {
  const fmt = NICKNAMES[format] ?? format;
  const fields: Field[] = [];
  let pattern = "^";
  let i = 0;
  const quotedContext = () => pattern.endsWith('"');
  while (i < fmt.length) {
    const c = fmt[i]!;
    if (c !== "%") {
      pattern += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      i++;
      continue;
    }
    const m = /^%([<>]?)(?:\{([^}]*)\})?([a-zA-Z%])/.exec(fmt.slice(i));
    if (!m) {
      throw new LogFormatError(`unrecognised directive at ${JSON.stringify(fmt.slice(i, i + 8))}`);
    }
    i += m[0].length;
    const [, , arg = "", letter] = m;
    if (letter === "%") {
      pattern += "%";
      continue;
    }
    const quoted = quotedContext();
    let field: Field = "ignore";
    // a quoted field: runs of plain characters between escapes (no backtracking per character);
    // an unquoted one, a run of non-blanks (empty for %q without a query, or a header sent
    // empty). Blanks are matched as the format has them, one for one: with each one matching a
    // run of them, a run of blanks could be split every way between empty fields before the
    // match failed (a line of 4,000 spaces took 8 s to refuse)
    let group = quoted ? '([^"\\\\]*(?:\\\\.[^"\\\\]*)*)' : "(\\S*)";
    switch (letter) {
      case "h":
      case "a":
        field = "host";
        break;
      case "t":
        if (arg) throw new LogFormatError("%{format}t is not supported; use %t");
        field = "time";
        group = "\\[([^\\]]*)\\]";
        break;
      case "r":
        field = "request";
        break;
      case "s":
        field = "status";
        break;
      case "U":
        field = "path";
        if (!quoted) group = "([^\\s?]*)"; // %U%q: the query is %q's
        break;
      case "m":
        field = "method";
        break;
      case "q":
        field = "query";
        if (!quoted) group = "((?:\\?\\S*)?)";
        break;
      case "i":
        if (arg.toLowerCase() === "user-agent") field = "agent";
        break;
      case "l":
      case "u":
      case "b":
      case "B":
      case "v":
      case "V":
      case "p":
      case "P":
      case "D":
      case "T":
      case "H":
      case "A":
      case "O":
      case "I":
      case "S":
      case "X":
      case "k":
      case "L":
      case "e":
      case "o":
      case "n":
      case "C":
      case "f":
      case "R":
        break;
      default:
        throw new LogFormatError(`unsupported directive %${letter}`);
    }
    fields.push(field);
    pattern += group;
  }
  if (!fields.includes("host")) {
    throw new LogFormatError("the format must log the client (%h or %a)");
  }
  if (!fields.includes("status")) {
    throw new LogFormatError("the format must log the status (%>s or %s)");
  }
  if (!fields.includes("request") && !fields.includes("path")) {
    throw new LogFormatError("the format must log the request (%r) or its path (%U)");
  }
  if (!fields.includes("agent")) {
    throw new LogFormatError(
      "the format must log the User-Agent (%{User-Agent}i): only requests with one count",
    );
  }
  const re = new RegExp(`${pattern}$`);
  return {
    parse(line: string): LogRecord | null {
      const m = re.exec(line);
      if (!m) return null;
      const record: LogRecord = {
        host: "",
        time: null,
        method: "GET",
        path: "",
        status: 0,
        userAgent: "",
      };
      for (let g = 0; g < fields.length; g++) {
        const raw = m[g + 1] ?? "";
        switch (fields[g]) {
          case "host":
            record.host = raw;
            break;
          case "time":
            record.time = parseApacheTime(raw);
            if (!record.time) return null;
            break;
          case "status":
            record.status = /^\d{3}$/.test(raw) ? Number(raw) : 0;
            break;
          case "agent":
            record.userAgent = unescapeApache(raw);
            break;
          case "path":
            record.path = raw;
            break;
          case "method":
            record.method = raw;
            break;
          case "request": {
            const req = /^(\S+) (\S+)(?: \S+)?$/.exec(unescapeApache(raw));
            if (!req) return null;
            record.method = req[1]!;
            record.path = req[2]!.split("?", 1)[0]!;
            break;
          }
        }
      }
      return record;
    },
  };
}

/** What a record counts as, with the data of its message (WIRE.md, logger → lumberjack). */
export type Classified =
  | { kind: "LOGDOWNLOAD"; filename: string }
  | { kind: "LOGSEARCH"; package: string }
  | { kind: "LOGPROJECT"; package: string }
  | { kind: "LOGJSON"; package: string }
  | { kind: "LOGPAGE"; page: string };

function decodePath(path: string): string | null {
  try {
    return decodeURIComponent(path);
  } catch {
    return null;
  }
}

/**
 * Classifies a record: only successful GETs (status 200) with a User-Agent count; wheels and
 * simple pages only when pip fetched them. Returns null for everything else.
 */
export function classify(record: LogRecord): Classified | null {
  if (record.status !== 200 || !record.userAgent || record.userAgent === "-") return null;
  if (record.method !== "GET") return null;
  const path = decodePath(record.path);
  if (path === null) return null;
  const pip = record.userAgent.startsWith("pip/");
  let m = /^\/simple\/([^/]+)\/([^/]+\.whl)$/.exec(path);
  if (m) return pip ? { kind: "LOGDOWNLOAD", filename: m[2]! } : null;
  m = /^\/simple\/([^/]+)\/(?:index\.(?:html|json))?$/.exec(path);
  if (m) return pip ? { kind: "LOGSEARCH", package: m[1]! } : null;
  m = /^\/project\/([^/]+)\/json\/(?:index\.json)?$/.exec(path);
  if (m) return { kind: "LOGJSON", package: m[1]! };
  m = /^\/project\/([^/]+)\/(?:index\.html)?$/.exec(path);
  if (m) return { kind: "LOGPROJECT", package: m[1]! };
  if (path === "/" || path === "/index.html") return { kind: "LOGPAGE", page: "home" };
  m = /^\/([A-Za-z0-9_-]+)\.html$/.exec(path);
  if (m) return { kind: "LOGPAGE", page: m[1]! };
  return null;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v.length <= 1000 ? v : null;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? v as Record<string, unknown>
    : {};
}

/** How many distinct User-Agents {@linkcode parsePipUserAgent} remembers. */
const AGENT_CACHE_SIZE = 1000;
const agentCache = new Map<string, Readonly<UserAgentInfo>>();

/**
 * The ten optional fields from pip's User-Agent (`pip/23.0.1 {"cpu": …}`); all null when the
 * agent is not pip's, and only `pyName` (CPython) when pip sent no JSON or malformed JSON. A log holds few distinct agents, so the last
 * {@linkcode AGENT_CACHE_SIZE} are remembered (the result is frozen: it may be shared).
 */
export function parsePipUserAgent(agent: string): Readonly<UserAgentInfo> {
  let info = agentCache.get(agent);
  if (!info) {
    if (agentCache.size >= AGENT_CACHE_SIZE) agentCache.clear();
    info = Object.freeze(readPipUserAgent(agent));
    agentCache.set(agent, info);
  }
  return info;
}

function readPipUserAgent(agent: string): UserAgentInfo {
  const info = emptyUserAgentInfo();
  if (!agent.startsWith("pip/")) return info;
  // as piwheels reads pip's agent: its JSON, or nothing (an old pip sends none:
  // `pip/1.5.6 CPython/2.7.9 Linux/3.18.7+`), which then says only CPython, as below
  const m = /^pip\/\S+ (\{.*\})$/.exec(agent);
  let data: Record<string, unknown> = {};
  try {
    if (m) data = obj(JSON.parse(m[1]!));
  } catch {
    // malformed: as if there were none
  }
  const distro = obj(data.distro);
  const system = obj(data.system);
  const impl = obj(data.implementation);
  const installer = obj(data.installer);
  info.arch = str(data.cpu);
  info.distroName = str(distro.name);
  info.distroVersion = str(distro.version);
  info.osName = str(system.name);
  info.osVersion = str(system.release);
  if (data.implementation === undefined || data.implementation === null) {
    // as piwheels reads it: old pips name no implementation, and ran on CPython
    info.pyName = "CPython";
    info.pyVersion = str(data.python);
  } else {
    info.pyName = str(impl.name);
    info.pyVersion = str(impl.version);
  }
  info.installerName = str(installer.name);
  info.installerVersion = str(installer.version);
  info.setuptoolsVersion = str(data.setuptools_version);
  return info;
}
