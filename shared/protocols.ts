/**
 * Every message of every piwheels queue, with one zod schema per message chosen by its name.
 *
 * A {@linkcode Protocol} is written from the point of view of the master-side task: `recv` holds
 * what that task receives, `send` what it sends; the peer uses {@linkcode reverse}. A message
 * without data travels as its bare name (`"IDLE"`), a message with data as `[name, data]`
 * (`spec/WIRE.md`). {@linkcode encodeMessage} validates before sending and
 * {@linkcode decodeMessage} validates after receiving; both raise a {@linkcode ProtocolError}
 * naming the queue, the message and what was wrong.
 *
 * @module
 */

import { z } from "zod";
import { CborError, type CborValue, decode, encode, NO_DATA, type NoData } from "./cbor.ts";
import { Duration } from "./duration.ts";
import { Timestamp } from "./timestamp.ts";
import { parseWheelFilename, TAG, TAG_SET, type WheelNameError } from "./wheel.ts";

// ---------------------------------------------------------------------------------------------
// Field schemas shared by several messages

/** A {@linkcode Duration} (CBOR tag 2001). */
export const duration = z.instanceof(Duration, { message: "expected a duration (tag 2001)" });

/** A {@linkcode Timestamp} (CBOR tag 0 or 1). */
export const timestamp = z.instanceof(Timestamp, { message: "expected a timestamp (tag 0)" });

/** A non-negative safe integer. */
export const count = z.int().nonnegative();

/** A duration that is not negative (how long a build took). */
export const span = duration.refine((d) => d.micros >= 0, "expected a duration of at least 0");

/**
 * A project name as PyPI allows it (PEP 508): it ends up in paths and URLs, so nothing else
 * (no `/`, no `..`, no spaces) gets through.
 */
export const packageName = z.string().max(200).regex(
  /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/,
  "expected a project name (PEP 508: letters, digits, '.', '_', '-')",
);

/**
 * A version string: printable, no path separators or white space, at most 128 characters, with
 * a letter or digit (`..` would make `/pypi/<project>/../json` another URL). No format
 * characters either (a bidi override or a zero-width space makes two versions look alike on a
 * page), nor halves of a surrogate pair (no character at all).
 */
export const versionString = z.string().max(128).regex(
  /^(?=[^\p{L}\p{N}]*[\p{L}\p{N}])[^\s/\\\p{Cc}\p{Cf}\p{Cs}]+$/u,
  "expected a version (a letter or digit; no white space, control characters or slashes)",
);

/**
 * Why a project name (and version) could not be kept and built, or null when it can: a slave is
 * sent both in its BUILD, and the name names the project's directories. What PyPI says is
 * checked with this before it is kept, and the build queue with it before it is handed out (PyPI
 * has versions such as `1.0 beta`, which pip cannot install anyway).
 */
export function unbuildable(pkg: string, version: string | null = null): string | null {
  const name = packageName.safeParse(pkg);
  if (!name.success) return name.error.issues[0]?.message ?? "expected a project name";
  if (version === null) return null;
  const v = versionString.safeParse(version);
  return v.success ? null : v.error.issues[0]?.message ?? "expected a version";
}

/**
 * A file name a peer sends: a single path component, never trusted as a path. No `/`, `\`, NUL
 * or control characters, not `.` or `..`, at most 255 bytes' worth of characters.
 */
export const safeFilename = z.string().max(255).regex(
  /^(?!\.\.?$)[^/\\\p{Cc}]+$/u,
  "expected a plain file name (no '/', '\\', '..', NUL or control characters)",
);

/** A lower-case hex SHA-256. */
export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "expected a lower-case hex SHA-256");

/** A wheel file name's component (`foo_bar`, `1.0+local`, `py2.py3`). */
export const wheelTag = z.string().max(200).regex(
  /^[A-Za-z0-9_.!+]+$/,
  "expected a wheel tag (letters, digits, '_', '.', '!', '+')",
);

/**
 * One PEP 425 tag (`cp311`, `311`, `linux_armv7l`): what a slave names its ABI with. At most 100
 * characters, as the database keeps tags: a longer one refused by the database at the end of a
 * build used to count as the master's fault, and each slave given that build was told DIE.
 */
export const pep425Tag = z.string().max(100).regex(
  TAG,
  "expected a PEP 425 tag (letters, digits, '_')",
);

/** A PEP 425 compressed tag set, as in a wheel's name (`py2.py3`); at most 100 characters. */
export const pep425TagSet = z.string().max(100).regex(
  TAG_SET,
  "expected PEP 425 tags (letters, digits, '_', joined by '.')",
);

/** Text PostgreSQL takes: no NUL character, which it refuses in text and JSON alike. */
export const dbText = (max: number) =>
  z.string().max(max).regex(/^[^\0]*$/, "expected text without NUL characters");

/** Why a package, version or ABI is not built (`skip`; "" where it may say none). */
export const skipReason = dbText(1000);

/** A package's description, as its project page shows it (piw-add -d, PyPI's summary). */
export const packageDescription = dbText(10_000);

/**
 * Free text that is kept whatever it holds (a build's log): NUL characters, which PostgreSQL
 * refuses, become U+FFFD.
 */
export const keptText = z.string().transform((t) =>
  t.includes("\0") ? t.replaceAll("\0", "\uFFFD") : t
);

/**
 * Free text kept in a column of at most `max` characters (a web-log record's User-Agent and its
 * fields): longer text is cut there, and NUL characters become U+FFFD, rather than the record
 * refused whole (a deployed logger sends whatever the client said).
 */
export const clippedText = (max: number) =>
  keptText.transform((t) => t.length > max ? t.slice(0, max).replace(/[\uD800-\uDBFF]$/, "") : t);

/** A short human label (a slave's host name): printable, at most 255 characters. */
export const label = z.string().max(255).regex(/^\P{Cc}*$/u, "expected printable text");

/** Free text of any length (build output, error messages). */
export const text = z.string();

/** A Debian package's name (Debian policy 5.6.1), with an architecture qualifier perhaps. */
const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9-]+)?$/;

/**
 * `{tool: [package, ...]}`, e.g. `{"apt": ["libc6"]}`. Deployed slaves add the tool `""` for the
 * libraries no Debian package owns, by path (`{"apt": [...], "": ["/usr/lib/…/libfoo.so.1"]}`:
 * on a merged-`/usr` system, most compiled wheels have some), as piwheels' own schema allows.
 */
const dependencyMap = z.record(
  z.string().regex(/^[a-z0-9_-]{0,32}$/, "expected a tool name"),
  z.array(dbText(200)).max(10_000),
);

/**
 * A wheel's dependencies. Deployed peers send a map `{tool: [package, ...]}`; the manual
 * describes a set of `[tool, package]` pairs. Both are accepted; the map is what is sent.
 */
export const dependencies = z.union([
  dependencyMap,
  z.set(z.tuple([z.string(), dbText(200)])).max(10_000),
  z.array(z.tuple([z.string(), dbText(200)])).max(10_000),
]).transform((deps, ctx): Record<string, string[]> => {
  if (!(deps instanceof Set) && !Array.isArray(deps)) return deps;
  const out: Record<string, string[]> = {};
  for (const [tool, pkg] of deps) {
    if (!/^[a-z0-9_-]{1,32}$/.test(tool)) {
      ctx.issues.push({ code: "custom", message: `bad tool name ${tool}`, input: tool });
      return z.NEVER;
    }
    (out[tool] ??= []).push(pkg);
  }
  for (const pkgs of Object.values(out)) pkgs.sort();
  return out;
}).superRefine((deps, ctx) => {
  // the project page offers them as a command to paste (`sudo apt install …`)
  const bad = deps.apt?.find((name) => !DEBIAN_PACKAGE.test(name));
  if (bad !== undefined) {
    ctx.addIssue({ code: "custom", message: `expected Debian package names, not ${bad}` });
  }
});

/**
 * The longest wheel file name kept: the File Juggler writes its core metadata beside it as
 * `<name>.metadata`, and a file system's names have at most 255 bytes (wheel names are ASCII).
 */
export const MAX_WHEEL_NAME = 255 - ".metadata".length;

const fileFields = [
  safeFilename.max(MAX_WHEEL_NAME),
  count,
  sha256,
  wheelTag,
  wheelTag,
  pep425TagSet,
  pep425TagSet,
  pep425TagSet,
  dependencies,
] as const;

/**
 * A file state tuple: `[filename, filesize, filehash, package_tag, package_version_tag,
 * py_version_tag, abi_tag, platform_tag, dependencies]`.
 */
export const fileMessage = z.tuple(fileFields);

/** The data of a file state tuple, as sent. */
export type FileMessage = z.output<typeof fileMessage>;

/**
 * A file as the master records it: the file state tuple and what the master read from the
 * wheel once it arrived, `requires_python` and the SHA-256 of its core metadata (either null).
 */
export const storedFileMessage = z.tuple([
  ...fileFields,
  z.string().max(200).nullable(),
  sha256.nullable(),
]);

/** The data of a stored file tuple. */
export type StoredFileMessage = z.output<typeof storedFileMessage>;

/** The names a build's file list gives more than once (a build names each file once). */
export function namedTwice(names: Iterable<string>): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const name of names) {
    if (seen.has(name)) twice.push(name);
    seen.add(name);
  }
  return twice;
}

/** A build's files: each a wheel by its name (WIRE.md's tags follow from it), no name twice. */
const files = z.array(fileMessage).max(1000).superRefine((list, ctx) => {
  for (const [filename] of list) {
    try {
      parseWheelFilename(filename);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as WheelNameError).message, input: filename });
    }
  }
  for (const filename of namedTwice(list.map(([name]) => name))) {
    ctx.addIssue({ code: "custom", message: `${filename} is listed twice`, input: filename });
  }
});

/** A build as logged to the database: `[slave_id, package, version, abi_tag, status,
 * duration, output, [stored file, ...]]`. */
export const buildMessage = z.tuple([
  count,
  packageName,
  versionString,
  pep425Tag,
  z.boolean(),
  span,
  keptText,
  z.array(storedFileMessage).max(1000),
]);

/** The data of a build state tuple. */
export type BuildMessage = z.output<typeof buildMessage>;

const optionalText = clippedText(1000).nullable();
const tenOptional = [
  optionalText, // arch
  optionalText, // distro_name
  optionalText, // distro_version
  optionalText, // os_name
  optionalText, // os_version
  optionalText, // py_name
  optionalText, // py_version
  optionalText, // installer_name
  optionalText, // installer_version
  optionalText, // setuptools_version
] as const;
const host = dbText(255);

/**
 * When a web-log record says it happened: a time PostgreSQL can store and a log can hold
 * (from 1970 to a day from now).
 */
const loggedAt = timestamp.refine(
  (t) => t.micros >= 0 && t.micros <= (Date.now() + 86_400_000) * 1000,
  "expected a time between 1970 and now",
);

/** LOGDOWNLOAD data: `[filename, host, timestamp, ...10 optional]`. */
export const downloadMessage = z.tuple([safeFilename, host, loggedAt, ...tenOptional]);
/** LOGSEARCH data: `[package, host, timestamp, ...10 optional]`. */
export const searchMessage = z.tuple([packageName, host, loggedAt, ...tenOptional]);
/** LOGPROJECT / LOGJSON data: `[package, host, timestamp, user_agent]`. */
export const projectMessage = z.tuple([packageName, host, loggedAt, clippedText(4096)]);
/** LOGPAGE data: `[page, host, timestamp, user_agent]`. */
export const pageMessage = z.tuple([
  z.string().max(255).regex(/^[A-Za-z0-9_.-]+$/, "expected a page name"),
  host,
  loggedAt,
  clippedText(4096),
]);

/**
 * The largest message the log queue takes: a record at its largest (ten fields of 1,000
 * characters, four bytes each at most) is about 45 KB.
 */
export const MAX_LOG_MESSAGE = 64 * 1024;

/** The most web-log records in one LOGBATCH. */
export const MAX_LOG_BATCH = 1000;

/** The most packages one PROJDATA asks for (the Scribe asks for those it waits on together). */
export const MAX_PROJDATA = 100;

/** A web-log record as the Lumberjack passes it on: its LOG* message's name and data. */
export const webLogRecord = z.union([
  z.tuple([z.literal("LOGDOWNLOAD"), downloadMessage]),
  z.tuple([z.literal("LOGSEARCH"), searchMessage]),
  z.tuple([z.literal("LOGPROJECT"), projectMessage]),
  z.tuple([z.literal("LOGJSON"), projectMessage]),
  z.tuple([z.literal("LOGPAGE"), pageMessage]),
]);

/** A web-log record, decoded. */
export type WebLogRecord = z.output<typeof webLogRecord>;

const statsShape = {
  packages_built: count,
  builds_count: count,
  builds_last_hour: count,
  builds_success: count,
  builds_time: duration,
  builds_size: count,
  builds_pending: count,
  files_count: count,
  disk_free: count,
  disk_size: count,
  downloads_last_month: count,
  downloads_all: count,
};

/**
 * The statistics the master publishes (STATS) and the Scribe puts on the home page: exactly
 * these twelve keys, as deployed monitors accept them (they reject a STATS with any other).
 * What more our own monitors are told goes in MASTER ({@linkcode masterStatus}).
 */
export const statsMessage = z.strictObject(statsShape);

/** The data of a STATS message (its known keys). */
export type StatsMessage = z.output<z.ZodObject<typeof statsShape>>;

/**
 * What the master tells its own monitors beyond STATS (MASTER on the status queue, sent only to
 * subscribers that announce {@linkcode STATUS_EXTENSION}): whether it is paused, its build
 * queue per ABI, how often it sends STATS (so that a monitor can tell when the master has gone
 * quiet), and its version.
 */
export const masterStatus = z.object({
  paused: z.boolean(),
  builds_pending_abi: z.record(z.string().max(100), count),
  stats_every: duration,
  version: z.string().max(64),
});

/** The data of a MASTER message. */
export type MasterStatus = z.output<typeof masterStatus>;

/**
 * The handshake property (ZMTP metadata) with which our monitors ask for MASTER messages on
 * the status queue. Deployed monitors do not announce it and so never see a message they would
 * reject.
 */
export const STATUS_EXTENSION = { property: "X-Piwheels-Status", value: "2" } as const;

/** A slave's HELLO: `[timeout, py_version_tag, abi_tag, platform_tag, label]`. */
export const slaveHello = z.tuple([duration, pep425Tag, pep425Tag, pep425Tag, label]);

/**
 * A Requires-Python specifier set as PyPI gives it (`>=3.8`, `>=2.7, !=3.0.*`): the characters
 * of PEP 440 specifiers only, at most 200; it ends up in page attributes and JSON.
 */
export const requiresPythonSpec = z.string().max(200).regex(
  /^\s*(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*(?:,\s*(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*)*$/,
  "expected a Requires-Python specifier set",
);

/** A package's priority in the build queue (piw-add --priority): higher builds first. */
export const priority = z.int().min(-1000).max(1000);

/** Build ids, as many as one request may name (RELOG, and the Oracle's BUILDIDS it asks). */
export const buildIds = z.array(count).min(1).max(1000);

/** How many entries one audit listing may ask for. */
export const MAX_LISTING = 10_000;

/** What PyPI says of a release: `[description, requires_python, yanked]`, each null if unsaid. */
export const releaseData = z.tuple([
  dbText(1000).nullable(),
  requiresPythonSpec.nullable(),
  z.boolean().nullable(),
]);

/** Any CBOR value (results whose shape the receiver checks itself). */
const anything = z.custom<CborValue>(() => true);

// ---------------------------------------------------------------------------------------------
// Protocol machinery

/** The messages one side of a queue may send or receive: name → data schema, or null. */
export type MessageMap = Record<string, z.ZodType | null>;

/** A queue's protocol, from the master-side task's point of view. */
export interface Protocol<R extends MessageMap = MessageMap, S extends MessageMap = MessageMap> {
  /** The queue's name, as error messages show it. */
  readonly name: string;
  /** What the master-side task receives. */
  readonly recv: R;
  /** What the master-side task sends. */
  readonly send: S;
}

/** Defines a protocol. */
export function protocol<R extends MessageMap, S extends MessageMap>(
  name: string,
  messages: { recv: R; send: S },
): Protocol<R, S> {
  return Object.freeze({ name, recv: messages.recv, send: messages.send });
}

/** The same protocol seen from the peer's side (`send` and `recv` swapped). */
export function reverse<R extends MessageMap, S extends MessageMap>(
  p: Protocol<R, S>,
): Protocol<S, R> {
  return Object.freeze({ name: p.name, recv: p.send, send: p.recv });
}

/** A decoded message of a message map: `{ msg, data }`, discriminated by `msg`. */
export type Message<M extends MessageMap> = {
  [K in keyof M & string]: M[K] extends z.ZodType ? { msg: K; data: z.output<M[K]> }
    : { msg: K; data?: undefined };
}[keyof M & string];

/** The names in a message map that carry no data. */
export type BareName<M extends MessageMap> = {
  [K in keyof M & string]: M[K] extends null ? K : never;
}[keyof M & string];

/** The names in a message map that carry data. */
export type DataName<M extends MessageMap> = Exclude<keyof M & string, BareName<M>>;

/** The data a message takes when it is sent (before any normalising transform). */
export type DataIn<M extends MessageMap, K extends keyof M> = M[K] extends z.ZodType ? z.input<M[K]>
  : never;

/** Raised when a message fails to encode or decode; says which queue, message and why. */
export class ProtocolError extends Error {
  /** The error's name, for logs and `instanceof`-free checks. */
  override name = "ProtocolError";
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const path = issue.path.length
      ? `data${issue.path.map((p) => `[${String(p)}]`).join("")}`
      : "data";
    return `${path}: ${issue.message}`;
  }).join("; ");
}

/**
 * How a message is checked: fully (`trusted` false, the default: a peer's), or, for a message
 * between two of our own tasks over inproc:// (`trusted`), by its name and whether it carries
 * data only. The data of a trusted message is what our own code made (and checked when it came
 * in from outside), so validating it again on every internal hop is work for nothing.
 */
export interface CheckOptions {
  /** Skip the schema: the message is our own code's, over inproc://. */
  trusted?: boolean;
}

/** Whether messages on this queue come only from our own code in this process. */
export function isTrustedAddress(address: string): boolean {
  return address.startsWith("inproc://");
}

/** A peer's text as an error quotes it: its first 64 characters at most. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function check<M extends MessageMap>(
  p: Protocol,
  side: M,
  direction: string,
  name: unknown,
  data: unknown,
  hasData: boolean,
  trusted = false,
): Message<M> {
  if (typeof name !== "string") {
    throw new ProtocolError(`${p.name}: the message name must be text, not ${typeof name}`);
  }
  if (!Object.hasOwn(side, name)) {
    throw new ProtocolError(`${p.name}: unknown message ${quoted(name)} ${direction}`);
  }
  const schema = side[name];
  if (schema === null || schema === undefined) {
    if (hasData) throw new ProtocolError(`${p.name}: ${name}: this message carries no data`);
    return { msg: name } as Message<M>;
  }
  if (!hasData) throw new ProtocolError(`${p.name}: ${name}: data is missing`);
  if (trusted) return { msg: name, data } as Message<M>;
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new ProtocolError(`${p.name}: ${name}: ${describeIssues(result.error)}`);
  }
  return { msg: name, data: result.data } as Message<M>;
}

/**
 * Validates a message the local side sends and encodes it as one CBOR frame. Data-less messages
 * are called with the name alone; normalising transforms (a dependency set becoming a map) are
 * applied to what is sent.
 */
export function encodeMessage<S extends MessageMap, K extends BareName<S>>(
  p: Protocol<MessageMap, S>,
  msg: K,
): Uint8Array;
/** Validates a message with data the local side sends and encodes it as one CBOR frame. */
export function encodeMessage<S extends MessageMap, K extends DataName<S>>(
  p: Protocol<MessageMap, S>,
  msg: K,
  data: DataIn<S, K>,
): Uint8Array;
export function encodeMessage(
  p: Protocol,
  msg: string,
  ...rest: unknown[]
): Uint8Array {
  return encodeNamedMessage(p, msg, rest[0]);
}

/**
 * {@linkcode encodeMessage} for a message whose name is known only at run time (a generic
 * request/reply client, a reply chosen from a table): `data` undefined for a data-less message;
 * the same validation, thrown as {@linkcode ProtocolError}, without the static check of name and
 * data.
 */
export function encodeNamedMessage(
  // deno-lint-ignore no-explicit-any
  p: Protocol<any, any>,
  msg: string,
  data?: unknown,
  options: CheckOptions = {},
): Uint8Array {
  const checked = check(p, p.send, "to send", msg, data, data !== undefined, options.trusted);
  try {
    return encode(checked.data === undefined ? msg : [msg, checked.data as CborValue]);
  } catch (e) {
    throw new ProtocolError(`${p.name}: ${msg}: ${(e as Error).message}`);
  }
}

/**
 * Decodes and validates one CBOR frame the local side received. Anything malformed, unknown,
 * or not matching its schema raises {@linkcode ProtocolError} (and only that).
 */
export function decodeMessage<R extends MessageMap>(
  p: Protocol<R, MessageMap>,
  frame: Uint8Array,
  options: CheckOptions = {},
): Message<R> {
  let value: CborValue;
  try {
    value = decode(frame);
  } catch (e) {
    if (e instanceof CborError) throw new ProtocolError(`${p.name}: invalid CBOR: ${e.message}`);
    throw new ProtocolError(`${p.name}: invalid CBOR: ${String(e)}`);
  }
  const trusted = options.trusted;
  if (typeof value === "string") {
    return check(p, p.recv, "received", value, undefined, false, trusted);
  }
  if (Array.isArray(value)) {
    if (value.length !== 2) {
      const name = typeof value[0] === "string" ? `${quoted(value[0])}: ` : "";
      throw new ProtocolError(
        `${p.name}: ${name}a message is a name or [name, data], not an array of ${value.length}`,
      );
    }
    return check(p, p.recv, "received", value[0], value[1], true, trusted);
  }
  throw new ProtocolError(`${p.name}: a message is a name or [name, data], not ${describe(value)}`);
}

function describe(value: CborValue): string {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return "a byte string";
  if (typeof value === "object") return `a ${value.constructor?.name ?? "map"}`;
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// The queues

const bare = null;

/** main → every task (PUSH/PULL, inproc): control relayed from the monitors. */
export const taskControl = protocol("task control", {
  recv: { PAUSE: bare, RESUME: bare, QUIT: bare },
  send: {},
});

/** main → SlaveDriver: task control plus what only the slave driver acts on. */
export const slaveDriverControl = protocol("slave driver control", {
  recv: {
    ...taskControl.recv,
    KILL: count, // slave id: DIE at its next request
    HELLO: bare, // a monitor joined: replay every slave's state
    // whether anything subscribes to the status queue: the slaves' states are published only
    // while something does (a replay asked for by HELLO always is)
    MONITORS: z.boolean(),
  },
  send: {},
});

/** Monitors → main (PUSH → PULL, default ipc:///tmp/piw-control). */
export const masterControl = protocol("master control", {
  recv: { HELLO: bare, PAUSE: bare, RESUME: bare, KILL: count, QUIT: bare },
  send: {},
});

/**
 * The longest message either end of the status and control queues reads (a status message is
 * a few hundred bytes): a longer one drops the connection instead of growing the reader.
 */
export const MAX_STATUS_MESSAGE = 64 * 1024;

/**
 * The most connections the master's slave and file queues keep each (a slave holds one to each),
 * and each of its other queues: held open by a peer that completed the handshake and said
 * nothing more, connections once took every file descriptor of the process (20,000 here), and
 * the Scribe failed to write pages. A full queue still takes a peer from a host holding fewer
 * of them than the host holding most, in place of that host's oldest connection.
 */
export const MAX_CONNECTIONS = { slaves: 2_000, other: 256 };

/**
 * The largest message the master takes on its slave and import queues: a BUILT or an IMPORT,
 * whose build output is most of it.
 */
export const MAX_BUILD_MESSAGE = 64 * 1024 * 1024;

/**
 * The most bytes of unfinished messages the connections of one of the master's queues hold
 * together (`maxUnfinishedBytes`): a slave's BUILT may be 64 MiB, but 2,000 peers that had each
 * sent all of a 63 MiB frame but its last byte made the master hold 125 GiB. Past this, the
 * connection holding most of the host holding most is closed.
 */
export const MAX_UNFINISHED_BYTES = 256 * 1024 * 1024;

/**
 * The most bytes of received messages one of the master's queues holds before its task has
 * read them (`maxUnreadBytes`): the high-water mark counts messages, and the File Juggler,
 * handling one at a time, let each connection park 1,000 of 2 MiB. Past this, its connections
 * stop reading until the task catches up.
 */
export const MAX_UNREAD_BYTES = 256 * 1024 * 1024;

/**
 * The heartbeat of the master's slave and file queues: a PING every 10 s, and a connection
 * silent for a minute dropped (with `--dev-mode`: 1 s and 10 s). A slave says nothing while it
 * builds, for up to its timeout (3 h by default), but its libzmq answers PINGs all along; one
 * that lost power or its network said nothing more, ever, and its build waited out that timeout.
 */
export function slaveHeartbeat(devMode = false): {
  heartbeatInterval: number;
  heartbeatTimeout: number;
} {
  return devMode
    ? { heartbeatInterval: 1_000, heartbeatTimeout: 10_000 }
    : { heartbeatInterval: 10_000, heartbeatTimeout: 60_000 };
}

/** main → monitors (PUB → SUB, default ipc:///tmp/piw-status). */
export const monitorStats = protocol("monitor stats", {
  recv: {},
  send: {
    STATS: statsMessage,
    // slave id, when, the reply sent (HELLO with the slave's HELLO data on joining), its data
    SLAVE: z.tuple([count, timestamp, z.string().max(32), anything]),
    // only to subscribers announcing STATUS_EXTENSION
    MASTER: masterStatus,
  },
});

/**
 * What can be read of a BUILT the slave driver's protocol refuses (a file whose name or tags
 * no column holds, say): its duration (zero if unreadable) and output (empty if unreadable),
 * or null if it is not a BUILT at all.
 */
export function salvageBuilt(payload: Uint8Array): { duration: Duration; output: string } | null {
  let value: CborValue;
  try {
    value = decode(payload);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value[0] !== "BUILT" || !Array.isArray(value[1])) return null;
  const [, took, output] = value[1];
  const d = span.safeParse(took);
  const o = keptText.safeParse(output);
  return { duration: d.success ? d.data : Duration.ZERO, output: o.success ? o.data : "" };
}

/**
 * The largest message a slave takes from the Slave Driver (its DEALER's `maxMessageSize`): the
 * largest reply, an ACK whose URL is 2,048 characters of three bytes each, is 6 KiB; a hostile
 * or impersonated master is cut off at the start of a longer one, instead of the slave holding
 * all of it.
 */
export const MAX_SLAVE_DRIVER_REPLY = 16 * 1024;

/** Build slave ⇄ SlaveDriver (REQ → ROUTER, default tcp://*:5555). */
export const slaveDriver = protocol("slave driver", {
  recv: {
    HELLO: slaveHello,
    IDLE: bare,
    BUILT: z.tuple([z.boolean(), span, keptText, files]),
    SENT: bare,
    BYE: bare,
  },
  send: {
    ACK: z.tuple([count, z.string().max(2048)]), // slave id, PyPI simple URL
    SLEEP: bare,
    DIE: bare,
    BUILD: z.tuple([packageName, versionString]),
    SEND: safeFilename,
    DONE: bare,
  },
});

/**
 * IMPORT's data. Deployed piw-import sends the layout of a build (WIRE.md):
 * `[slave_id (0), package, version, abi_tag, status, duration, output, [file, ...]]`, and that
 * is what ours sends; the manual's `[abi_tag or null, package, version, status, duration
 * (seconds or a duration), output, [file, ...]]` is accepted too.
 */
export const importMessage = z.union([
  z.tuple([count, packageName, versionString, pep425Tag, z.boolean(), span, keptText, files]),
  z.tuple([
    pep425Tag.nullable(),
    packageName,
    versionString,
    z.boolean(),
    z.union([span, z.number().nonnegative().transform((s) => Duration.fromSeconds(s))]),
    keptText,
    files,
  ]),
]);

/** IMPORT's data, in either layout. */
export type ImportMessage = z.output<typeof importMessage>;

/** The slave id an importer (piw-import) sends files as on the file queue (WIRE.md). */
export const IMPORTER_ID = 0;

/** piw-import / piw-rebuild / piw-remove ⇄ MrChase (REQ → ROUTER, ipc:///tmp/piw-import). */
export const mrChase = protocol("mr chase", {
  recv: {
    // abi_tag (null: the default ABI), package, version, status, duration, output, files.
    // The manual has a float of seconds for the duration; a Duration is sent, both accepted.
    IMPORT: importMessage,
    REMOVE: z.tuple([packageName, versionString, skipReason]), // skip reason or ""
    // the build ABIs (piw-abi): list them, add, remove, or skip one (reason "" builds it again)
    ABI: z.union([
      z.tuple([z.literal("list")]),
      z.tuple([z.enum(["add", "remove"]), pep425Tag]),
      z.tuple([z.literal("skip"), pep425Tag, skipReason]),
    ]),
    REBUILD: z.union([
      z.tuple([z.enum(["HOME", "SEARCH"])]),
      z.tuple([z.enum(["PKGPROJ", "PKGBOTH"])]),
      z.tuple([z.enum(["HOME", "SEARCH"]), z.null()]),
      z.tuple([z.enum(["PKGPROJ", "PKGBOTH"]), packageName.nullable()]),
    ]),
    SENT: bare,
    // --- piw-add, piw-remove --yank and piw-audit ---
    // package (any spelling), and what to set (null: leave as it is): description, skip reason
    // ("" builds it again), priority, other spellings of its name; ADDED
    ADDPKG: z.tuple([
      packageName,
      packageDescription.nullable(),
      skipReason.nullable(),
      priority.nullable(),
      z.array(packageName).max(100),
    ]),
    // package, version, and for a new version when it was released (null: now); skip reason
    // and yanked (null: leave as it is); the package is added when new; ADDED
    ADDVER: z.tuple([
      packageName,
      versionString,
      timestamp.nullable(),
      skipReason.nullable(),
      z.boolean().nullable(),
    ]),
    YANK: z.tuple([packageName, versionString, skipReason]), // yank (and skip, unless "")
    // what piw-audit checks the output against: packages (after a name, at most n) with their
    // other spellings, build ids (after an id, at most n), the files of some packages
    AUDIT: z.union([
      z.tuple([z.literal("packages"), z.string().max(200), z.int().min(1).max(MAX_LISTING)]),
      z.tuple([z.literal("builds"), count, z.int().min(1).max(MAX_LISTING)]),
      z.tuple([z.literal("files"), z.array(packageName).max(1000)]),
    ]),
    RELOG: buildIds, // write these builds' logs again
  },
  send: {
    SEND: safeFilename,
    ERROR: text,
    DONE: bare,
    ABIS: z.array(z.tuple([pep425Tag, z.string()])), // every build ABI and its skip reason
    // --- piw-add and piw-audit ---
    ADDED: z.tuple([packageName, versionString.nullable(), z.boolean()]), // normal form, new?
    PACKAGES: z.array(z.tuple([packageName, z.array(packageName)])), // with other spellings
    BUILDS: z.array(count),
    FILES: z.record(packageName, z.array(z.tuple([safeFilename, sha256]))),
  },
});

/** piw-logger → Lumberjack (PUSH → PULL, default ipc:///tmp/piw-logger). */
export const lumberjack = protocol("lumberjack", {
  recv: {
    LOGDOWNLOAD: downloadMessage,
    LOGSEARCH: searchMessage,
    LOGPROJECT: projectMessage,
    LOGJSON: projectMessage,
    LOGPAGE: pageMessage,
  },
  send: {},
});

/**
 * What the File Juggler read from a wheel it verified and published (its OK to VERIFY): the
 * `Requires-Python` (a specifier set, as PyPI's is held to: a wheel whose METADATA says anything
 * else is refused) and the SHA-256 of its core metadata, each null when it has none.
 */
export const verifiedFile = z.object({
  requires_python: requiresPythonSpec.nullable(),
  metadata_sha256: sha256.nullable(),
});

/** The File Juggler's OK to VERIFY. */
export type VerifiedFile = z.output<typeof verifiedFile>;

/**
 * Any task → FileJuggler's file-system queue (REQ → REP, default inproc://fs). A build's files
 * are received one at a time (EXPECT, then the sender's transfer, then VERIFY: size, SHA-256, and
 * the wheel's own METADATA naming the build's project and version) into temporary files, and
 * published together (COMMIT) once every one is verified, or dropped (ABORT).
 */
export const fileJugglerFs = protocol("file juggler fs", {
  recv: {
    // slave id, the build's package and version, the file to expect from it
    EXPECT: z.tuple([count, packageName, versionString, fileMessage]),
    VERIFY: count, // slave id: check what arrived; OK, ERROR (send it again) or REFUSED
    // slave id, the names that may replace files already published (the same version's own):
    // move every verified file into place, none if one cannot be (EXISTS: names not in the
    // list are there already, and the verified files are kept for a COMMIT that names them)
    COMMIT: z.tuple([count, z.array(safeFilename).max(1000)]),
    // delete a published file the database stopped listing, and the id of the build whose
    // logging did (null: its version's builds were deleted); a file a build placed over it
    // since, not logged yet or logged after that build, stays
    REMOVE: z.tuple([packageName, safeFilename, count.nullable()]),
    ABORT: count, // slave id: it went away, or its build was refused: forget its files
    // slave id, and the id the build its last COMMIT published was logged as: delete what
    // that replaced
    SETTLE: z.tuple([count, count]),
    // slave id: the build its last COMMIT published could not be logged: take back what it
    // placed and put back what it replaced, each where it is still what the COMMIT left
    RESTORE: count,
    STATFS: bare, // size and free space of the output file system
    // slave id: how many ms since anything of its transfers last came or was done (OK: a
    // count; null: it has none)
    QUIET: count,
  },
  send: {
    OK: anything,
    ERROR: text,
    // the file cannot be the build's (not a wheel of it, too big, sent twice): refuse the build
    REFUSED: text,
    EXISTS: z.array(safeFilename).max(1000), // COMMIT: these names are taken; nothing was placed
  },
});

/** How many pending builds of each ABI the Architect's QUEUE holds at most. */
export const QUEUE_LENGTH = 1000;

/** Architect → SlaveDriver (PUSH → PULL, default inproc://builds). */
export const theArchitect = protocol("the architect", {
  recv: {},
  send: {
    // abi → [[package, version], ...] in priority order
    QUEUE: z.record(pep425Tag, z.array(z.tuple([packageName, versionString]))),
  },
});

/** Any task → the Architect (PUSH → PULL): something changed that affects the build queue. */
export const architectControl = protocol("architect control", {
  recv: { ...taskControl.recv, REFRESH: bare },
  send: {},
});

/**
 * A metric family's snapshot (`shared/metrics.ts` `Family`), bounded, and one the text format
 * can hold: ours (`piwheels_`), each label named once, none of the names the format keeps for
 * itself (`le`, `quantile`, `__…`). A queue reachable from outside could otherwise have the
 * metrics file say `{a="1",a="2"}`, which Prometheus' parser refuses whole.
 */
const metricFamily = z.strictObject({
  name: z.string().regex(/^piwheels_[a-zA-Z0-9_:]*$/).max(200),
  help: z.string().max(1000),
  type: z.enum(["counter", "gauge", "histogram"]),
  bounds: z.array(z.number()).max(50).optional(),
  series: z.array(z.strictObject({
    labels: z.array(z.tuple([
      z.string().regex(/^(?!__|le$|quantile$)[a-zA-Z_][a-zA-Z0-9_]*$/).max(100),
      dbText(200),
    ])).max(10).refine(
      (labels) => new Set(labels.map(([name]) => name)).size === labels.length,
      "a label named twice",
    ),
    value: z.number().optional(),
    counts: z.array(count).max(51).optional(),
    sum: z.number().optional(),
  })).max(2000),
});

/** Tasks → BigBrother (PUSH → PULL, default inproc://stats). */
export const bigBrother = protocol("big brother", {
  recv: {
    STATFS: z.tuple([count, count]), // disk size, disk free
    STATBQ: z.record(pep425Tag, count), // abi → queue size
    HOME: bare, // re-send the statistics now
    METRICS: z.tuple([z.string().max(100), z.array(metricFamily).max(100)]), // task, its metrics
  },
  send: {},
});

/** The Secretary and the Scribe (PUSH → PULL, default inproc://web; secretary → scribe). */
export const theScribe = protocol("the scribe", {
  recv: {
    PKGBOTH: packageName, // the simple index and project page of a package
    PKGPROJ: packageName, // the project page of a package
    HOME: statsMessage, // the home page, with statistics
    SEARCH: z.record(packageName, z.tuple([count, count])), // package → [recent, all] downloads
    DELPKG: packageName, // remove a package's pages and files
    DELVER: z.tuple([packageName, versionString]), // a version went: rewrite its pages
    LOG: z.tuple([count, text]), // build id, output: write the build log
  },
  send: {},
});

/** A page rewrite owed (`rewrites_pending`): package, owed since when, what. */
export const rewritePending = z.tuple([packageName, timestamp, z.enum(["PKGBOTH", "PKGPROJ"])]);

/** A pending-rewrite record. */
export type RewritePending = z.output<typeof rewritePending>;

/** Any task → Seraph → TheOracle (REQ → ROUTER, default inproc://db). */
export const theOracle = protocol("the oracle", {
  recv: {
    ALLPKGS: bare,
    ALLVERS: bare,
    // skip, description, and when PyPI used this spelling of the name (optional: now)
    NEWPKG: z.tuple([packageName, skipReason, packageDescription, timestamp.nullable().optional()]),
    // package, version, released, skip, and requires_python (optional: null or left out when
    // PyPI did not say)
    NEWVER: z.tuple([
      packageName,
      versionString,
      timestamp,
      skipReason,
      dbText(200).nullable().optional(),
    ]),
    PROJDESC: z.tuple([packageName, packageDescription]),
    SKIPPKG: z.tuple([packageName, skipReason]),
    SKIPVER: z.tuple([packageName, versionString, skipReason]),
    DELPKG: packageName,
    DELVER: z.tuple([packageName, versionString]),
    YANKVER: z.tuple([packageName, versionString]),
    UNYANKVER: z.tuple([packageName, versionString]),
    // piw-logger's records, as many as arrived together (one round trip to the database)
    LOGBATCH: z.array(webLogRecord).min(1).max(MAX_LOG_BATCH),
    LOGBUILD: buildMessage,
    DELBUILD: z.tuple([packageName, versionString]),
    PKGFILES: packageName,
    // what the project pages show of each package named: its JSON text, or null, in order
    PROJDATA: z.array(packageName).min(1).max(MAX_PROJDATA),
    VERFILES: z.tuple([packageName, versionString]),
    GETSKIP: z.tuple([packageName, versionString]),
    PKGEXISTS: packageName,
    VEREXISTS: z.tuple([packageName, versionString]),
    GETABIS: bare, // the build ABIs not skipped
    LISTABIS: bare, // every build ABI with its skip reason
    ADDABI: pep425Tag, // an operator added a build ABI (piw-abi)
    DELABI: pep425Tag, // ... removed one
    SKIPABI: z.tuple([pep425Tag, skipReason]), // ... skipped one ("" builds it again)
    // the versions the named files belong to, for those that are known: name → [pkg, ver]
    FILEVERS: z.array(safeFilename).max(1000),
    GETPYPI: bare,
    SETPYPI: count,
    GETSTATS: bare,
    GETSEARCH: bare,
    // builds and downloads per day over the last N days, of one package or (null) all
    HISTORY: z.tuple([z.int().min(1).max(366), packageName.nullable()]),
    GETQUEUE: bare,
    FILEDEPS: safeFilename,
    SAVERWP: z.array(rewritePending), // owe these rewrites (the Secretary's, as it stops)
    LOADRWP: bare, // every rewrite owed, oldest first
    // the Scribe wrote these packages' pages from data read with these seqs: paid
    RWPDONE: z.array(z.tuple([packageName, count])).max(10_000),
    // which of these packages' pages are owed a rewrite still (a removal waits for it)
    RWPOWED: z.array(packageName).min(1).max(1000),
    // --- one project per name, piw-add, release data, popularity, piw-audit ---
    PKGALIAS: z.tuple([packageName, packageName]), // package, another spelling of its name
    PKGNAMES: packageName, // every spelling of the package's name
    SETPRIO: z.tuple([packageName, priority]),
    RELDATA: z.tuple([packageName, versionString, releaseData]), // what PyPI says of a release
    REFRESHPOP: bare, // recompute every package's popularity
    LISTPKGS: z.tuple([z.string().max(200), z.int().min(1).max(MAX_LISTING)]),
    LISTBUILDS: z.tuple([count, z.int().min(1).max(MAX_LISTING)]),
    PKGSFILES: z.array(packageName).max(1000),
    GETLOG: count, // a build's output (null for an unknown build)
    BUILDIDS: buildIds, // which of these are builds' ids (RELOG's, in one query)
    // the newest build's id (0 for none): a removal's files go but where a later build put one
    MAXBUILD: bare,
  },
  send: {
    OK: anything,
    ERROR: text,
  },
});

/** The "no data" marker and its type, re-exported for protocol users. */
export { NO_DATA, type NoData };
