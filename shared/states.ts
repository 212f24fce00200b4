/**
 * The state the master's tasks (and the monitors) track about build slaves, builds, files,
 * transfers and logged hits, with conversions to and from the data of the protocol messages
 * (manual chapter 12.21).
 *
 * @module
 */

import type { z } from "zod";
import { Duration } from "./duration.ts";
import type {
  BuildMessage,
  downloadMessage,
  FileMessage,
  pageMessage,
  projectMessage,
  searchMessage,
  slaveHello,
  StoredFileMessage,
  VerifiedFile,
} from "./protocols.ts";
import { exclude, intersect, type Range, rangeLength } from "./ranges.ts";
import { Timestamp } from "./timestamp.ts";
import type { WheelTags } from "./wheel.ts";

/** Dependencies of a wheel: tool → packages, e.g. `{ apt: ["libc6"] }`. */
export type Dependencies = Record<string, string[]>;

/** One build artifact (a wheel): its name, size, hash, tags and dependencies. */
export class FileState {
  /** Whether the file has reached the master and been verified. */
  transferred: boolean;
  /** Its `Requires-Python`, once the master has read the wheel's metadata. */
  requiresPython: string | null = null;
  /** The SHA-256 of its core metadata, once the master has published it (PEP 658). */
  metadataHash: string | null = null;

  /** Describes a file; `transferred` starts false unless given. */
  constructor(
    readonly filename: string,
    readonly filesize: number,
    readonly filehash: string,
    readonly packageTag: string,
    readonly packageVersionTag: string,
    readonly pyVersionTag: string,
    readonly abiTag: string,
    readonly platformTag: string,
    readonly dependencies: Dependencies = {},
    transferred = false,
  ) {
    this.transferred = transferred;
  }

  /** Describes a wheel by the tags parsed from its file name (`parseWheelFilename`). */
  static fromTags(
    filename: string,
    filesize: number,
    filehash: string,
    tags: WheelTags,
    dependencies: Dependencies = {},
  ): FileState {
    return new FileState(
      filename,
      filesize,
      filehash,
      tags.packageTag,
      tags.packageVersionTag,
      tags.pyVersionTag,
      tags.abiTag,
      tags.platformTag,
      dependencies,
    );
  }

  /** The 9-element file tuple of the protocols. */
  asMessage(): FileMessage {
    return [
      this.filename,
      this.filesize,
      this.filehash,
      this.packageTag,
      this.packageVersionTag,
      this.pyVersionTag,
      this.abiTag,
      this.platformTag,
      this.dependencies,
    ];
  }

  /** The 11-element tuple the master records: the file tuple and what it read from it. */
  asStoredMessage(): StoredFileMessage {
    return [...this.asMessage(), this.requiresPython, this.metadataHash];
  }

  /** A file state from a (validated) file tuple, or a stored file tuple. */
  static fromMessage(m: FileMessage | StoredFileMessage): FileState {
    const f = new FileState(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
    if (m.length === 11) {
      f.requiresPython = m[9];
      f.metadataHash = m[10];
    }
    return f;
  }

  /** Marks the file as transferred and verified, with what the master read from it. */
  verified(details: VerifiedFile): void {
    this.transferred = true;
    this.requiresPython = details.requires_python;
    this.metadataHash = details.metadata_sha256;
  }
}

/** One build attempt: the package and version, its outcome, output and files. */
export class BuildState {
  /** The files the build produced, by file name. */
  readonly files: Map<string, FileState>;
  /** The database's id for the build, once logged. */
  buildId: number | null;

  /** Describes a build. */
  constructor(
    readonly slaveId: number,
    readonly package_: string,
    readonly version: string,
    readonly abiTag: string,
    readonly status: boolean,
    readonly duration: Duration,
    readonly output: string,
    files: Iterable<FileState> = [],
    buildId: number | null = null,
  ) {
    this.files = new Map([...files].map((f) => [f.filename, f]));
    this.buildId = buildId;
  }

  /** The build tuple logged through the Oracle (LOGBUILD). */
  asMessage(): BuildMessage {
    return [
      this.slaveId,
      this.package_,
      this.version,
      this.abiTag,
      this.status,
      this.duration,
      this.output,
      [...this.files.values()].map((f) => f.asStoredMessage()),
    ];
  }

  /** A build state from the (validated) build tuple. */
  static fromMessage(m: BuildMessage): BuildState {
    return new BuildState(
      m[0],
      m[1],
      m[2],
      m[3],
      m[4],
      m[5],
      m[6],
      m[7].map(FileState.fromMessage),
    );
  }

  /** Records the id the database gave the build. */
  logged(buildId: number): void {
    this.buildId = buildId;
  }

  /** The name of the next file still to transfer, or null when all are transferred. */
  get nextFile(): string | null {
    for (const f of this.files.values()) if (!f.transferred) return f.filename;
    return null;
  }

  /** Whether every file has been transferred. */
  get transfersDone(): boolean {
    return this.nextFile === null;
  }
}

/** What a slave is doing, as the master and monitors see it. */
export type SlaveActivity =
  | "idle"
  | "building"
  | "sending"
  | "cleaning"
  | "sleeping"
  | "gone";

/** A slave's HELLO data. */
export type SlaveHello = z.output<typeof slaveHello>;

/**
 * The least a slave's silence must outlast its timeout before the master forgets it: a build
 * timing out is killed, its output drained (up to 2 s) and reported, which under load takes
 * seconds; a tenth of a short timeout is not enough.
 */
export const EXPIRY_SLACK_MS = 30_000;

/**
 * A build slave as the Slave Driver tracks it: who it is, what it was last asked and told, the
 * build in progress, and when it was last heard from.
 */
export class SlaveState {
  /** The build the slave is working on or transferring, if any. */
  build: BuildState | null = null;
  /** When the slave was first heard from. */
  readonly firstSeen: Timestamp;
  /** When the slave was last heard from. */
  lastSeen: Timestamp;
  /** The last message received from the slave. */
  request: string | null = null;
  /** The last message sent to the slave. */
  reply: string | null = null;
  /** Set when an operator asked for the slave to be killed (DIE at its next request). */
  killed = false;
  /** Set once the slave said BYE, was told DIE, or timed out. */
  terminated = false;

  /** Describes a slave that just said HELLO. */
  constructor(
    readonly slaveId: number,
    readonly address: Uint8Array,
    readonly timeout: Duration,
    readonly nativePyVersion: string,
    readonly nativeAbi: string,
    readonly nativePlatform: string,
    readonly label: string,
    now: Timestamp = Timestamp.now(),
  ) {
    this.firstSeen = now;
    this.lastSeen = now;
  }

  /** A slave state from its id, ROUTER address and HELLO data. */
  static fromHello(
    slaveId: number,
    address: Uint8Array,
    hello: SlaveHello,
    now?: Timestamp,
  ): SlaveState {
    return new SlaveState(slaveId, address, hello[0], hello[1], hello[2], hello[3], hello[4], now);
  }

  /** The HELLO data (as the status queue repeats it on ACK). */
  helloMessage(): SlaveHello {
    return [this.timeout, this.nativePyVersion, this.nativeAbi, this.nativePlatform, this.label];
  }

  /** Notes a request from the slave. */
  received(msg: string, now: Timestamp = Timestamp.now()): void {
    this.request = msg;
    this.lastSeen = now;
  }

  /** Notes a reply to the slave. */
  sent(msg: string): void {
    this.reply = msg;
    if (msg === "DIE") this.terminated = true;
  }

  /**
   * Whether the slave has been silent for so long it is to be forgotten: longer than its timeout
   * by a tenth (as v0.16's master), and by at least {@linkcode EXPIRY_SLACK_MS}, so that a slave
   * whose build ran into that same timeout has time to kill it and say BUILT.
   */
  expired(now: Timestamp = Timestamp.now()): boolean {
    const limit = Math.max(this.timeout.micros * 1.1, this.timeout.micros + EXPIRY_SLACK_MS * 1000);
    return this.lastSeen.until(now).micros > limit;
  }

  /** What the slave is doing, derived from the last request and reply. */
  get activity(): SlaveActivity {
    return activityOf(this.request, this.reply, this.terminated);
  }
}

/**
 * What a slave is doing given the last message it sent and the last reply it got: the rule the
 * master and the monitors share.
 */
export function activityOf(
  request: string | null,
  reply: string | null,
  terminated = false,
): SlaveActivity {
  if (terminated || reply === "DIE" || request === "BYE") return "gone";
  switch (reply) {
    case "BUILD":
      return "building";
    case "SEND":
      return "sending";
    case "DONE":
      return "cleaning";
    case "SLEEP":
      return "sleeping";
  }
  return "idle";
}

/**
 * The bookkeeping of one file transfer (DEALER → ROUTER, credit-based as in the ZeroMQ guide):
 * which byte ranges are still missing, what to FETCH next, and when every byte has arrived. A
 * chunk is taken only as the answer to a FETCH still open (it starts where that FETCH starts and
 * lies within it), so a peer can make the master neither write outside the file, nor keep bytes
 * it never asked for, nor write any byte twice (once hashed, a byte cannot be changed). The bytes
 * themselves are written by the File Juggler.
 */
export class TransferState {
  /**
   * Bytes per FETCH by default: 1 MiB. Deployed slaves serve any length asked (the Python
   * master asks 64 KiB), and a chunk this size moves a large wheel at the speed of the socket
   * rather than of round trips, while a small wheel comes in one.
   */
  static readonly CHUNK_SIZE = 1024 * 1024;
  /** FETCHes kept in flight by default. */
  static readonly PIPELINE_SIZE = 8;

  #missing: Range[];
  #credit: number;
  #offset = 0;
  /**
   * FETCHes open, offset → length: disjoint, each within a missing range. A range asked again
   * (after a silence, from the start) replaces the open ones it overlaps, keeping what lies
   * outside it; an answer to the first asking still counts where the bounds are the same, as
   * they are for a peer that answers each FETCH whole.
   */
  readonly #asked = new Map<number, number>();
  /** When the transfer started (for rates and timeouts). */
  readonly started: Timestamp = Timestamp.now();

  /** Starts tracking a transfer of `fileState` from `slaveId`, in chunks of `chunkSize`. */
  constructor(
    readonly slaveId: number,
    readonly fileState: FileState,
    readonly chunkSize: number = TransferState.CHUNK_SIZE,
    readonly pipeline: number = TransferState.PIPELINE_SIZE,
  ) {
    this.#missing = fileState.filesize > 0 ? [{ start: 0, stop: fileState.filesize }] : [];
    this.#credit = Math.min(pipeline, Math.ceil(fileState.filesize / chunkSize));
  }

  /** Whether every byte has been received. */
  get done(): boolean {
    return this.#missing.length === 0;
  }

  /** The ranges not yet received. */
  get missing(): readonly Range[] {
    return this.#missing;
  }

  /** How many FETCHes may be sent now. */
  get credit(): number {
    return this.#credit;
  }

  /**
   * The next range to FETCH, spending one credit; `null` when out of credit or when every
   * missing range has been asked for already (call {@linkcode resetCredit} after a silence to
   * ask again for what is still missing).
   */
  fetch(): Range | null {
    if (this.#credit <= 0) return null;
    for (const gap of this.#missing) {
      if (gap.stop <= this.#offset) continue;
      const start = Math.max(gap.start, this.#offset);
      const r = intersect(gap, { start, stop: start + this.chunkSize });
      if (r) {
        this.#credit--;
        this.#offset = r.stop;
        this.#open(r);
        return r;
      }
    }
    return null;
  }

  /**
   * Records a CHUNK: true when it answers a FETCH still open, starting where it starts and at
   * most as long (the rest of a short answer stays open). Anything else is refused, recording
   * nothing: bytes outside the file, bytes never asked for, bytes that came already (a FETCH
   * asked again after a silence and answered twice), an empty chunk.
   */
  chunk(offset: number, length: number): boolean {
    const asked = this.#asked.get(offset);
    if (asked === undefined || length <= 0 || length > asked) return false;
    // the open FETCHes are disjoint: no other one holds these bytes
    this.#asked.delete(offset);
    if (length < asked) this.#asked.set(offset + length, asked - length);
    const got = { start: offset, stop: offset + length };
    this.#missing = [...exclude(this.#missing, got)];
    this.#credit = this.done ? 0 : Math.min(this.#credit + 1, this.pipeline);
    return true;
  }

  /** Records `r` as asked, in place of what open FETCHes it overlaps. */
  #open(r: Range): void {
    for (const [start, n] of [...this.#asked]) {
      if (start >= r.stop || start + n <= r.start) continue;
      this.#asked.delete(start);
      for (const rest of exclude([{ start, stop: start + n }], r)) {
        this.#asked.set(rest.start, rest.stop - rest.start);
      }
    }
    this.#asked.set(r.start, r.stop - r.start);
  }

  /** How many FETCHes are open (asked for and not answered). */
  get open(): number {
    return this.#asked.size;
  }

  /** Restores the full credit (after a silence: FETCHes or CHUNKs may have been dropped). */
  resetCredit(): void {
    this.#credit = this.done ? 0 : this.pipeline;
    this.#offset = 0;
  }

  /** The number of bytes received so far. */
  get received(): number {
    return this.fileState.filesize - this.#missing.reduce((n, r) => n + rangeLength(r), 0);
  }
}

/** The fields every web-log record shares. */
export interface LogRecord {
  /** The client's address. */
  readonly host: string;
  /** When the request was made. */
  readonly timestamp: Timestamp;
}

/** The ten optional fields pip's User-Agent JSON yields, in wire order. */
export interface UserAgentInfo {
  /** Machine architecture. */
  arch: string | null;
  /** Linux distribution name. */
  distroName: string | null;
  /** Linux distribution version. */
  distroVersion: string | null;
  /** Operating system name. */
  osName: string | null;
  /** Operating system version. */
  osVersion: string | null;
  /** Python implementation. */
  pyName: string | null;
  /** Python version. */
  pyVersion: string | null;
  /** Installer (pip) name. */
  installerName: string | null;
  /** Installer version. */
  installerVersion: string | null;
  /** setuptools version. */
  setuptoolsVersion: string | null;
}

const AGENT_FIELDS = [
  "arch",
  "distroName",
  "distroVersion",
  "osName",
  "osVersion",
  "pyName",
  "pyVersion",
  "installerName",
  "installerVersion",
  "setuptoolsVersion",
] as const satisfies readonly (keyof UserAgentInfo)[];

/** User-Agent info with every field null. */
export function emptyUserAgentInfo(): UserAgentInfo {
  return Object.fromEntries(AGENT_FIELDS.map((k) => [k, null])) as unknown as UserAgentInfo;
}

type TenOptional = [
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
];

function agentTuple(info: UserAgentInfo): TenOptional {
  return AGENT_FIELDS.map((k) => info[k]) as TenOptional;
}

function agentInfo(values: readonly (string | null)[]): UserAgentInfo {
  return Object.fromEntries(
    AGENT_FIELDS.map((k, i) => [k, values[i] ?? null]),
  ) as unknown as UserAgentInfo;
}

/** A wheel downloaded by pip (LOGDOWNLOAD). */
export class DownloadState implements LogRecord {
  /** Records a download. */
  constructor(
    readonly filename: string,
    readonly host: string,
    readonly timestamp: Timestamp,
    readonly agent: UserAgentInfo = emptyUserAgentInfo(),
  ) {}

  /** The LOGDOWNLOAD data. */
  asMessage(): z.input<typeof downloadMessage> {
    return [this.filename, this.host, this.timestamp, ...agentTuple(this.agent)];
  }

  /** A download from LOGDOWNLOAD data. */
  static fromMessage(m: z.output<typeof downloadMessage>): DownloadState {
    return new DownloadState(m[0], m[1], m[2], agentInfo(m.slice(3) as TenOptional));
  }
}

/** A simple-index page of a package fetched by pip (LOGSEARCH). */
export class SearchState implements LogRecord {
  /** Records a search. */
  constructor(
    readonly package_: string,
    readonly host: string,
    readonly timestamp: Timestamp,
    readonly agent: UserAgentInfo = emptyUserAgentInfo(),
  ) {}

  /** The LOGSEARCH data. */
  asMessage(): z.input<typeof searchMessage> {
    return [this.package_, this.host, this.timestamp, ...agentTuple(this.agent)];
  }

  /** A search from LOGSEARCH data. */
  static fromMessage(m: z.output<typeof searchMessage>): SearchState {
    return new SearchState(m[0], m[1], m[2], agentInfo(m.slice(3) as TenOptional));
  }
}

/** A project page hit (LOGPROJECT). */
export class ProjectState implements LogRecord {
  /** Records a project page hit. */
  constructor(
    readonly package_: string,
    readonly host: string,
    readonly timestamp: Timestamp,
    readonly userAgent: string,
  ) {}

  /** The LOGPROJECT data. */
  asMessage(): z.input<typeof projectMessage> {
    return [this.package_, this.host, this.timestamp, this.userAgent];
  }

  /** A project page hit from LOGPROJECT data. */
  static fromMessage(m: z.output<typeof projectMessage>): ProjectState {
    return new ProjectState(m[0], m[1], m[2], m[3]);
  }
}

/** A project JSON hit (LOGJSON). */
export class JSONState implements LogRecord {
  /** Records a project JSON hit. */
  constructor(
    readonly package_: string,
    readonly host: string,
    readonly timestamp: Timestamp,
    readonly userAgent: string,
  ) {}

  /** The LOGJSON data. */
  asMessage(): z.input<typeof projectMessage> {
    return [this.package_, this.host, this.timestamp, this.userAgent];
  }

  /** A project JSON hit from LOGJSON data. */
  static fromMessage(m: z.output<typeof projectMessage>): JSONState {
    return new JSONState(m[0], m[1], m[2], m[3]);
  }
}

/** Any other page hit (LOGPAGE): `home`, `faq`, … */
export class PageState implements LogRecord {
  /** Records a page hit. */
  constructor(
    readonly page: string,
    readonly host: string,
    readonly timestamp: Timestamp,
    readonly userAgent: string,
  ) {}

  /** The LOGPAGE data. */
  asMessage(): z.input<typeof pageMessage> {
    return [this.page, this.host, this.timestamp, this.userAgent];
  }

  /** A page hit from LOGPAGE data. */
  static fromMessage(m: z.output<typeof pageMessage>): PageState {
    return new PageState(m[0], m[1], m[2], m[3]);
  }
}

export { Duration, Timestamp };
