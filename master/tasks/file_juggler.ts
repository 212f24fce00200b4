/**
 * The File Juggler (manual 11.3.7, WIRE.md): receives wheels from build slaves and importers on
 * the file queue (a ROUTER, default tcp://*:5556) and owns the files under the output path.
 *
 * Other tasks drive it on its file-system queue (default inproc://fs): EXPECT names the build
 * (package and version) and the file a sender is to send; the transfer is credit-based (up to 8
 * FETCHes of 1 MiB in flight, fewer while its chunks wait to be written: {@linkcode WINDOW};
 * within a budget for all transfers together; each CHUNK written at its offset as it comes, in
 * memory for a small file or into a temporary file on a thread of its own
 * (`master/file_writer.ts`), and hashed; missing ranges asked for again after a silence:
 * `master/incoming_file.ts`); VERIFY checks the size and SHA-256 against the declared ones
 * (ERROR: the sender is asked again) and that the wheel's own METADATA names the build's project
 * and version (REFUSED: the build is refused).
 * Verified files wait until COMMIT puts every one of the build's files into `simple/<package>/`
 * with its core metadata beside it (PEP 658), never over a file that is there unless COMMIT
 * names it as the version's own (else EXISTS names the files that are there, and nothing is
 * placed), and then what it replaced is kept until SETTLE (the build was logged) deletes it or
 * RESTORE (it could not be) puts it back and takes back what was placed, each only where it is
 * still what the COMMIT left (by inode: an import may have replaced a name no build held yet);
 * ABORT drops them.
 *
 * A peer's numbers and names are never trusted: names were checked by the protocol, a chunk is
 * taken only as the answer to a FETCH still open (never outside the file, never twice: once
 * hashed, a byte cannot be changed), a transfer goes to another peer's HELLO only after a
 * silence of its own ({@linkcode TAKEOVER_MS}), the declared size is bounded, what one transfer
 * and what all transfers together may have in flight and in memory are bounded
 * ({@linkcode WINDOW}, {@linkcode BUDGET}), and what a sender stops doing is abandoned after
 * {@linkcode ABANDON_MS}.
 * At start, temporaries a killed master left are removed, and what its COMMITs replaced (each
 * kept beside a note naming its target) is put back where the database lists it by hash (the
 * replacing build was never logged), and deleted otherwise.
 *
 * @module
 */

import { statfs } from "node:fs/promises";
import { decimalFrame } from "../../shared/file_queue.ts";
import { encodeHex, sha256File, sha256Hex } from "../../shared/hash.ts";
import { errorMessage } from "../../shared/log.ts";
import { sameVersion } from "../../shared/pep440.ts";
import {
  fileJugglerFs,
  isTrustedAddress,
  MAX_CONNECTIONS,
  MAX_UNFINISHED_BYTES,
  MAX_UNREAD_BYTES,
  type Message,
  slaveHeartbeat,
  type VerifiedFile,
  verifiedFile,
} from "../../shared/protocols.ts";
import { FileState } from "../../shared/states.ts";
import { MAX_WHEEL_SIZE, normalizeName } from "../../shared/wheel.ts";
import { POOL_BYTES, releaseFrame, Router } from "../../shared/zmq/mod.ts";
import { curveServerOptions } from "../../shared/curve_setup.ts";
import type { Counter } from "../../shared/metrics.ts";
import { stageDurable } from "../atomic_write.ts";
import { type Reply, serveRequests } from "../rpc.ts";
import { eachMessage, isClosed } from "../../shared/receive.ts";
import { runTask, type TaskContext } from "../task.ts";
import { metadataField } from "../../shared/wheel_metadata.ts";
import { IN_MEMORY, IncomingFile, TEMP_PREFIX, TEMP_SUFFIX } from "../incoming_file.ts";
import { FileWriter } from "../file_writer.ts";
import { OracleClient } from "../oracle_client.ts";

/** A transfer with no CHUNK for this long is asked again for what is missing. */
const STALL_MS = 5_000;
/**
 * A transfer whose sender's connection was silent this long goes to another connection that
 * says HELLO for it (the sender's own, reconnected: a slave says HELLO again after 5 s of
 * silence); before that, such a HELLO is ignored, so that no peer can take a transfer over
 * while it goes on.
 */
export const TAKEOVER_MS = 2_500;
/**
 * A sender idle this long (a transfer not going on, a finished one never verified, verified
 * files never committed) is abandoned and its temporary files deleted; 10 s in development
 * mode.
 */
export const ABANDON_MS = 120_000;
/**
 * What a COMMIT replaced is kept as `simple/.replaced-<uuid>.tmp`, beside a note of its target
 * (`.replaced-<uuid>.target`, the path under `simple/`), so that a master killed before the
 * build was logged or not can tell at its next start which copy the database lists.
 */
const REPLACED_PREFIX = ".replaced-";
/**
 * How many records of COMMITs that replaced nothing are kept for a RESTORE (see
 * {@linkcode Juggler.kept}): far more than the builds being logged at once.
 */
const MAX_KEPT = 1024;
const DEV_ABANDON_MS = 10_000;
/**
 * What all transfers together may have asked for and not received, or hold in memory (small files
 * whole, and chunks the writing thread has not written and hashed yet): a transfer asks for more
 * only within it, or when nothing of it is in flight or waiting to be written (so that one peer
 * holding back a chunk keeps at most its own pipeline waiting, never the others').
 */
export const BUDGET = 64 * 1024 * 1024;
/**
 * What one transfer may have asked for and not received, together with its chunks the writing
 * thread has not written and hashed yet: the frame pool's size, so that each chunk is read into
 * memory an earlier one handed back rather than into fresh memory (zeroed, faulted in, and
 * collected later), and the transfer goes at the pace of the writing thread instead of piling
 * chunks up before it (taking twenty 30 MiB wheels, the master's peak RSS grew 34–51 MiB that
 * way, 14 this way).
 */
export const WINDOW = POOL_BYTES;

const decoder = new TextDecoder();

type FsReply = Reply<typeof fileJugglerFs.send>;
type FsRequest = Message<typeof fileJugglerFs.recv>;

/** A file of a build on its way in: transferring, then verified and waiting for COMMIT. */
interface Incoming {
  readonly file: IncomingFile;
  /** Bytes asked for and not received yet. */
  inFlight: number;
  /** Once verified: its core metadata, and what the master read from it. */
  verified: { metadata: Uint8Array; details: VerifiedFile } | null;
}

/** What one sender (a slave id) is sending: the build, its current file and its verified ones. */
interface Sender {
  readonly slaveId: number;
  readonly package: string;
  readonly version: string;
  current: Incoming | null;
  readonly verified: Incoming[];
  /** The routing id of the sender's DEALER, once it said HELLO (and its key). */
  peer: Uint8Array | null;
  peerKey: string | null;
  lastActivity: number;
  /** When the current transfer, silent, was last asked again for what is missing. */
  askedAgain: number;
}

/** The inode at `path`, or -1 when nothing is there. */
function inode(path: string): number {
  try {
    return Deno.lstatSync(path).ino ?? -1;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return -1;
    throw e;
  }
}

/**
 * A path a COMMIT wrote (a file, or its core metadata): what it replaced is kept until the build
 * is logged.
 */
interface Replaced {
  readonly target: string;
  /**
   * What was there, under a temporary name; null when nothing was, or when a REMOVE deleted it
   * since (the database stopped listing it): RESTORE then removes what was placed.
   */
  backup: string | null;
  /**
   * The inode COMMIT left at `target`, once it is done: RESTORE puts the backup back only over
   * that (another build may have replaced it since); null: put back whatever is there.
   */
  placed: number | null;
}

/** A backup's note names its target. */
const NOTE_SUFFIX = ".target";

/** The note of a backup (`.replaced-<uuid>.tmp`). */
function noteOf(backup: string): string {
  return backup.slice(0, -TEMP_SUFFIX.length) + NOTE_SUFFIX;
}

/** The backup a note names the target of. */
function backupOf(note: string): string {
  return note.slice(0, -NOTE_SUFFIX.length) + TEMP_SUFFIX;
}

/** Deletes a backup (when it is still there) and its note. */
function dropBackup(backup: string): void {
  for (const path of [backup, noteOf(backup)]) {
    try {
      Deno.removeSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

class Juggler {
  readonly senders = new Map<number, Sender>();
  /**
   * What each sender's last COMMIT wrote and replaced, until SETTLE or RESTORE (or, for a COMMIT
   * that replaced nothing, which is settled by no one, until {@linkcode MAX_KEPT} later ones).
   */
  readonly kept = new Map<number, Replaced[]>();
  /**
   * The inode each of the last {@linkcode MAX_KEPT} SETTLEd paths was left at, and the id the
   * build that placed it was logged as, for a REMOVE from the logging of an earlier build.
   */
  readonly settled = new Map<string, { placed: number; buildId: number }>();
  /** Senders by the routing id of their DEALER (a CHUNK names no slave). */
  readonly byPeer = new Map<string, Sender>();
  /** Directories known to exist under the output. */
  readonly dirs = new Set<string>();
  /** Bytes asked for and not received, and held in memory, by all transfers. */
  used = 0;
  /** Writes and hashes large files on a thread of its own. */
  readonly writer: FileWriter;
  /** Bytes of CHUNKs taken (a metric). */
  readonly bytesReceived: Counter;
  /** Files verified, or failing verification, or refused (a metric). */
  readonly filesReceived: Counter;

  constructor(readonly ctx: TaskContext, readonly router: Router) {
    this.writer = new FileWriter(() => {
      this.release().catch((e) => {
        if (!isClosed(e)) ctx.log.error(`file queue: ${errorMessage(e)}`);
      });
    });
    this.bytesReceived = ctx.metrics.counter(
      "piwheels_received_bytes_total",
      "Bytes of files received from the slaves and piw-import (CHUNKs taken)",
    );
    this.filesReceived = ctx.metrics.counter(
      "piwheels_received_files_total",
      "Files received, by what VERIFY found: verified, failed (sent again) or refused",
    );
    const inFlight = ctx.metrics.gauge(
      "piwheels_transfer_budget_used_bytes",
      "Bytes asked for and not yet received, held in memory, or not yet written, by all transfers",
    );
    ctx.metrics.onCollect(() => inFlight.set(this.held));
  }

  get output(): string {
    return this.ctx.options.outputPath;
  }

  get simple(): string {
    return `${this.output}/simple`;
  }

  /** What counts against {@linkcode BUDGET}: {@linkcode used}, and what the writing thread holds. */
  get held(): number {
    return this.used + this.writer.pending;
  }

  /**
   * Removes the transfer temporaries a killed master left (none is in use at start), and settles
   * what its COMMITs replaced: where the database lists the replaced copy (the build that
   * replaced it was never logged), it is put back; otherwise it goes.
   */
  async removeStale(): Promise<void> {
    this.mkdir(this.simple);
    let removed = 0;
    const notes: string[] = [];
    for await (const entry of Deno.readDir(this.simple)) {
      if (!entry.isFile) continue;
      if (entry.name.startsWith(REPLACED_PREFIX) && entry.name.endsWith(NOTE_SUFFIX)) {
        notes.push(`${this.simple}/${entry.name}`);
      } else if (entry.name.startsWith(TEMP_PREFIX) && entry.name.endsWith(TEMP_SUFFIX)) {
        await Deno.remove(`${this.simple}/${entry.name}`).catch(() => {});
        removed++;
      }
    }
    if (removed) this.ctx.log.info(`removed ${removed} temporary file(s) of earlier transfers`);
    if (notes.length) await this.#settleReplaced(notes);
  }

  /** Puts back each replaced copy the database lists (by hash), and drops the others. */
  async #settleReplaced(notes: string[]): Promise<void> {
    const kept = notes.map((note) => {
      const target = Deno.readTextFileSync(note).trim();
      const [pkg = "", ...rest] = target.split("/");
      const wheel = rest.join("/").replace(/\.metadata$/, "");
      return { backup: backupOf(note), target, pkg, wheel };
    });
    const oracle = new OracleClient(this.ctx.options.dbQueue, this.ctx.log);
    let listed: Map<string, [string, string][]>;
    try {
      listed = await oracle.packagesFiles([...new Set(kept.map((k) => k.pkg))]);
    } finally {
      await oracle.close();
    }
    const hashOf = async (path: string) => await sha256File(path).catch(() => null);
    const restored = new Set<string>();
    // wheels first: a core metadata file goes the way of its wheel
    kept.sort((a, b) =>
      Number(a.target.endsWith(".metadata")) - Number(b.target.endsWith(".metadata"))
    );
    for (const k of kept) {
      const path = `${this.simple}/${k.target}`;
      let back = false;
      if (k.target.endsWith(".metadata")) {
        back = restored.has(`${k.pkg}/${k.wheel}`);
      } else {
        const hash = listed.get(k.pkg)?.find(([name]) => name === k.wheel)?.[1];
        back = hash !== undefined && await hashOf(path) !== hash && await hashOf(k.backup) === hash;
        if (back) restored.add(`${k.pkg}/${k.wheel}`);
      }
      try {
        if (back) {
          Deno.renameSync(k.backup, path);
          this.ctx.log.warning(
            `put back ${k.target}: the build that replaced it was never logged (the master stopped)`,
          );
        }
        dropBackup(k.backup);
      } catch (e) {
        this.ctx.log.error(`cannot settle what replaced ${k.target}: ${errorMessage(e)}`);
      }
    }
  }

  /** Makes a directory once (it is known to exist after). */
  mkdir(dir: string): void {
    if (this.dirs.has(dir)) return;
    Deno.mkdirSync(dir, { recursive: true });
    this.dirs.add(dir);
  }

  async #drop(incoming: Incoming): Promise<void> {
    this.used -= incoming.inFlight + incoming.file.held;
    incoming.inFlight = 0;
    await incoming.file.drop();
  }

  /** Forgets everything a sender was sending, deleting its temporary files. */
  async abandon(slaveId: number): Promise<void> {
    const sender = this.senders.get(slaveId);
    if (!sender) return;
    this.senders.delete(slaveId);
    if (sender.peerKey && this.byPeer.get(sender.peerKey) === sender) {
      this.byPeer.delete(sender.peerKey);
    }
    for (const incoming of [sender.current, ...sender.verified]) {
      if (incoming) await this.#drop(incoming);
    }
  }

  async expect(slaveId: number, pkg: string, version: string, file: FileState): Promise<FsReply> {
    if (file.filesize > MAX_WHEEL_SIZE) {
      return [
        "REFUSED",
        `${file.filename} is ${file.filesize} bytes; the limit is ${MAX_WHEEL_SIZE}`,
      ];
    }
    let sender = this.senders.get(slaveId);
    if (sender && (sender.package !== pkg || sender.version !== version)) {
      await this.abandon(slaveId); // what was left of an earlier build
      sender = undefined;
    }
    if (sender?.current) {
      await this.#drop(sender.current);
      sender.current = null;
    }
    if (sender?.peerKey) {
      // each file comes on a connection of its own: the first to say HELLO for it takes it
      if (this.byPeer.get(sender.peerKey) === sender) this.byPeer.delete(sender.peerKey);
      sender.peer = sender.peerKey = null;
    }
    if (sender?.verified.some((f) => f.file.filename === file.filename)) {
      return ["REFUSED", `${file.filename} was sent already`];
    }
    sender ??= {
      slaveId,
      package: pkg,
      version,
      current: null,
      verified: [],
      peer: null,
      peerKey: null,
      // active from now: the watch must not take a sender being set up for an idle one
      lastActivity: Date.now(),
      askedAgain: 0,
    };
    this.senders.set(slaveId, sender);
    // a small file is received in memory while the budget has room for it: each is held until
    // its build is published, and a peer's build may name 1,000 of them
    const inMemory = file.filesize <= IN_MEMORY && this.held + file.filesize <= BUDGET;
    const incoming: Incoming = {
      file: new IncomingFile(slaveId, file, this.simple, this.writer, inMemory),
      inFlight: 0,
      verified: null,
    };
    this.used += incoming.file.held;
    sender.current = incoming;
    sender.lastActivity = Date.now();
    this.ctx.log.debug(`expecting ${file.filename} (${file.filesize} bytes) from slave ${slaveId}`);
    return ["OK", null];
  }

  async verify(slaveId: number): Promise<FsReply> {
    const sender = this.senders.get(slaveId);
    const incoming = sender?.current;
    if (!sender || !incoming) return ["ERROR", `no transfer from slave ${slaveId}`];
    sender.current = null;
    sender.lastActivity = Date.now();
    const f = incoming.file.state.fileState;
    const fail = async (why: string): Promise<FsReply> => {
      this.filesReceived.inc({ result: "failed" });
      await this.#drop(incoming);
      return ["ERROR", `${f.filename}: ${why}`];
    };
    if (!incoming.file.state.done) {
      return await fail(`${incoming.file.state.received} of ${f.filesize} bytes arrived`);
    }
    let received;
    try {
      received = await incoming.file.finish();
    } catch (e) {
      return await fail(errorMessage(e));
    }
    if (received.size !== f.filesize || received.sha256 !== f.filehash) {
      return await fail(
        `size ${received.size} and SHA-256 ${received.sha256} do not match the build's`,
      );
    }
    let metadata: Uint8Array;
    try {
      metadata = await incoming.file.metadata();
    } catch (e) {
      return await this.#refuse(incoming, `${f.filename} is not a wheel: ${errorMessage(e)}`);
    }
    const name = metadataField(metadata, "Name");
    const version = metadataField(metadata, "Version");
    if (name === null || normalizeName(name) !== normalizeName(sender.package)) {
      return await this.#refuse(
        incoming,
        `${f.filename}'s METADATA names project ${name}, not ${sender.package}`,
      );
    }
    if (version === null || !sameVersion(version, sender.version)) {
      return await this.#refuse(
        incoming,
        `${f.filename}'s METADATA names version ${version}, not ${sender.version}`,
      );
    }
    const details = verifiedFile.safeParse({
      requires_python: metadataField(metadata, "Requires-Python") || null, // "" says nothing
      metadata_sha256: sha256Hex(metadata),
    });
    if (!details.success) {
      const why = details.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      return await this.#refuse(incoming, `${f.filename}'s METADATA cannot be kept (${why})`);
    }
    incoming.verified = { metadata, details: details.data };
    sender.verified.push(incoming);
    this.filesReceived.inc({ result: "verified" });
    return ["OK", incoming.verified.details];
  }

  /** Drops a file that is not what the build said (REFUSED: the build is refused). */
  async #refuse(incoming: Incoming, why: string): Promise<FsReply> {
    this.filesReceived.inc({ result: "refused" });
    await this.#drop(incoming);
    return ["REFUSED", why];
  }

  /**
   * Keeps what is at `target` (a published file about to be replaced, or its core metadata)
   * under a temporary name beside the sender's verified files, until SETTLE or RESTORE.
   */
  #keep(kept: Replaced[], target: string): void {
    const backup = `${this.simple}/${REPLACED_PREFIX}${crypto.randomUUID()}${TEMP_SUFFIX}`;
    Deno.writeTextFileSync(noteOf(backup), target.slice(this.simple.length + 1));
    try {
      Deno.linkSync(target, backup);
      kept.push({ target, backup, placed: null });
    } catch (e) {
      dropBackup(backup);
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      // nothing there: putting it back removes the new one
      kept.push({ target, backup: null, placed: null });
    }
  }

  /**
   * Puts back what COMMIT replaced and takes back what it placed (the build could not be
   * logged), each file whatever became of the others; a target another build has replaced
   * since keeps that build's file. Throws the first failure once all were tried.
   */
  #restore(kept: readonly Replaced[]): void {
    let failure: unknown = null;
    for (const { target, backup, placed } of kept.toReversed()) {
      try {
        if (placed !== null && inode(target) !== placed) {
          if (backup) dropBackup(backup);
        } else if (backup) {
          Deno.renameSync(backup, target);
          dropBackup(backup);
        } else {
          Deno.removeSync(target);
        }
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) failure ??= e;
      }
    }
    if (failure !== null) throw failure;
  }

  /** Deletes what COMMIT replaced (the build was logged). */
  #settle(kept: readonly Replaced[]): void {
    for (const { backup } of kept) {
      try {
        if (backup) dropBackup(backup);
      } catch {
        // left for the next start
      }
    }
  }

  /**
   * Forgets the oldest records of COMMITs that replaced nothing beyond {@linkcode MAX_KEPT}:
   * nothing of them is on disk to delete, and a build is logged (or not) one round trip after
   * its COMMIT. Those that keep replaced files are settled or restored, always.
   */
  #forgetOldest(): void {
    for (const [slaveId, kept] of this.kept) {
      if (this.kept.size <= MAX_KEPT) return;
      if (kept.every((k) => k.backup === null)) this.kept.delete(slaveId);
    }
  }

  /**
   * SETTLE or RESTORE: what the last COMMIT of `slaveId` replaced goes (its build was logged as
   * `buildId`; null: it is not known to have been), or is put back, and what it placed is taken
   * back.
   */
  replaced(slaveId: number, restore: boolean, buildId: number | null = null): FsReply {
    const kept = this.kept.get(slaveId) ?? [];
    this.kept.delete(slaveId);
    try {
      if (restore) this.#restore(kept);
      else this.#settle(kept);
    } catch (e) {
      return ["ERROR", errorMessage(e)];
    }
    if (buildId !== null) {
      for (const { target, placed } of kept) {
        if (placed === null) continue;
        this.settled.delete(target);
        this.settled.set(target, { placed, buildId });
      }
      for (const target of this.settled.keys()) {
        if (this.settled.size <= MAX_KEPT) break;
        this.settled.delete(target);
      }
    }
    return ["OK", null];
  }

  /**
   * Puts a sender's verified files into `simple/<package>/`: new names first, each a link that
   * fails where a file is, and only once every new name was free, the names in `replaceable`
   * over what is there, each one (and its core metadata) kept until SETTLE says the build was
   * logged or RESTORE puts it back. When a new name is taken, the links made are taken back and
   * EXISTS names the taken ones: the verified files are kept for a COMMIT that says which of
   * them may replace. If a file cannot go, those put there already are taken back, those
   * replaced put back, and nothing is published.
   */
  async commit(slaveId: number, replaceable: readonly string[]): Promise<FsReply> {
    const sender = this.senders.get(slaveId);
    if (!sender || sender.current) return ["ERROR", `slave ${slaveId} has no verified build`];
    const dir = `${this.simple}/${normalizeName(sender.package)}`;
    this.mkdir(dir);
    // the files and their core metadata durable first, on Deno's pool (a sync can take long),
    // then put in place at once
    const staged = new Map<string, string>();
    const durable = (path: string, data: Uint8Array) => this.writer.write(path, data);
    try {
      await Promise.all(sender.verified.map(async ({ file, verified }) => {
        await file.durable();
        const path = `${dir}/${file.filename}.metadata`;
        staged.set(path, await stageDurable(path, verified!.metadata, durable));
      }));
      if (this.senders.get(slaveId) !== sender || sender.current) {
        throw new Error(`slave ${slaveId}'s build was given up meanwhile`);
      }
    } catch (e) {
      for (const temp of staged.values()) await Deno.remove(temp).catch(() => {});
      await this.abandon(slaveId);
      return ["ERROR", errorMessage(e)];
    }
    const linked: string[] = [];
    const kept: Replaced[] = [];
    const takeBack = (metadata: boolean) => {
      for (const path of linked) {
        for (const p of metadata ? [path, `${path}.metadata`] : [path]) {
          try {
            Deno.removeSync(p);
          } catch {
            // not there (a metadata file not written yet)
          }
        }
      }
    };
    try {
      const taken: string[] = [];
      for (const { file } of sender.verified) {
        if (replaceable.includes(file.filename)) continue;
        try {
          file.link(`${dir}/${file.filename}`);
          linked.push(`${dir}/${file.filename}`);
        } catch (e) {
          if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
          taken.push(file.filename);
        }
      }
      if (taken.length > 0) {
        takeBack(false);
        for (const temp of staged.values()) Deno.removeSync(temp);
        sender.lastActivity = Date.now();
        return ["EXISTS", taken];
      }
      this.replaced(slaveId, false); // an earlier COMMIT's, never settled
      for (const { file } of sender.verified) {
        if (!replaceable.includes(file.filename)) continue;
        const target = `${dir}/${file.filename}`;
        this.#keep(kept, target);
        this.#keep(kept, `${target}.metadata`);
        file.replace(target);
      }
      for (const [path, temp] of staged) {
        Deno.renameSync(temp, path);
        staged.delete(path);
      }
    } catch (e) {
      for (const temp of staged.values()) await Deno.remove(temp).catch(() => {});
      takeBack(true);
      try {
        this.#restore(kept);
      } catch (again) {
        this.ctx.log.error(
          `cannot put back what slave ${slaveId}'s files replaced: ${errorMessage(again)}`,
        );
      }
      await this.abandon(slaveId);
      return ["ERROR", errorMessage(e)];
    }
    // the new names too: a RESTORE takes them back only where they are still what was placed
    // here (an import or another build may have replaced a name no build held yet)
    for (const path of linked) {
      kept.push({ target: path, backup: null, placed: null });
      kept.push({ target: `${path}.metadata`, backup: null, placed: null });
    }
    for (const k of kept) k.placed = inode(k.target);
    this.kept.set(slaveId, kept);
    this.#forgetOldest();
    const count = sender.verified.length;
    for (const incoming of sender.verified) {
      incoming.file.settle();
      this.used -= incoming.file.held;
    }
    sender.verified.length = 0;
    await this.abandon(slaveId);
    // the names too (and the backups' notes): durable before the build is logged
    try {
      await this.writer.sync(dir);
      if (kept.some((k) => k.backup !== null)) await this.writer.sync(this.simple);
    } catch (e) {
      this.replaced(slaveId, true);
      return ["ERROR", `cannot make ${dir} durable: ${errorMessage(e)}`];
    }
    this.ctx.log.debug(
      `published ${count} file(s) of ${sender.package} ${sender.version} from slave ${slaveId}`,
    );
    return ["OK", null];
  }

  /**
   * Deletes a published file and its core metadata, which the database stopped listing when
   * build `by` was logged (null: when its version's builds were deleted, every build logged so
   * far). What a COMMIT placed there since stays: while its build is not logged, the file it
   * replaced is kept as its backup, and that goes instead (a RESTORE then takes the name back);
   * once logged after `by`, its build holds the name. Deleting it used to leave that build
   * listing a file that was gone.
   */
  async remove(pkg: string, filename: string, by: number | null): Promise<FsReply> {
    const path = `${this.simple}/${normalizeName(pkg)}/${filename}`;
    for (const p of [path, `${path}.metadata`]) {
      const at = inode(p);
      const over = this.#placedOver(p, at);
      if (over) {
        dropBackup(over.backup!);
        over.backup = null;
        this.ctx.log.info(`removed what a build not logged yet replaced at ${p}, not its file`);
        continue;
      }
      const placed = this.settled.get(p);
      if (placed && placed.placed === at && by !== null && placed.buildId > by) {
        this.ctx.log.info(`kept ${p}: build ${placed.buildId} placed it since`);
        continue;
      }
      await Deno.remove(p).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    return ["OK", null];
  }

  /** The record of a COMMIT not settled yet that left inode `at` over a file at `path`. */
  #placedOver(path: string, at: number): Replaced | undefined {
    for (const kept of this.kept.values()) {
      const over = kept.find((k) => k.target === path && k.backup !== null && k.placed === at);
      if (over) return over;
    }
    return undefined;
  }

  async statfs(): Promise<FsReply> {
    this.mkdir(this.output);
    const s = await statfs(this.output);
    return ["OK", [s.blocks * s.bsize, s.bavail * s.bsize]];
  }

  async handle(r: FsRequest): Promise<FsReply> {
    switch (r.msg) {
      case "EXPECT": {
        const [slaveId, pkg, version, file] = r.data;
        return await this.expect(slaveId, pkg, version, FileState.fromMessage(file));
      }
      case "VERIFY":
        return await this.verify(r.data);
      case "COMMIT":
        return await this.commit(...r.data);
      case "REMOVE":
        return await this.remove(...r.data);
      case "ABORT":
        await this.abandon(r.data);
        return ["OK", null];
      case "SETTLE":
        return this.replaced(r.data[0], false, r.data[1]);
      case "RESTORE":
        return this.replaced(r.data, true);
      case "STATFS":
        return await this.statfs();
      case "QUIET": {
        const sender = this.senders.get(r.data);
        return ["OK", sender ? Math.max(0, Date.now() - sender.lastActivity) : null];
      }
    }
  }

  /** Sends a sender's FETCHes while its credit and the budget allow (one always may go). */
  async fetch(sender: Sender): Promise<void> {
    const incoming = sender.current;
    if (!sender.peer || !incoming) return;
    const t = incoming.file.state;
    const taken = () => incoming.inFlight + incoming.file.pending;
    const fits = () => taken() + t.chunkSize <= WINDOW && this.held + t.chunkSize <= BUDGET;
    while (t.credit > 0 && (taken() === 0 || fits())) {
      const r = t.fetch();
      if (!r) break;
      const length = r.stop - r.start;
      incoming.inFlight += length;
      this.used += length;
      await this.router.send([sender.peer, "FETCH", String(r.start), String(length)]);
    }
  }

  /** Lets the senders waiting for the budget go on. */
  async release(): Promise<void> {
    for (const sender of this.senders.values()) {
      if (this.held >= BUDGET) return;
      if (sender.current && sender.current.file.state.credit > 0) await this.fetch(sender);
    }
  }

  async fromSender(frames: Uint8Array[]): Promise<void> {
    const [peer, command] = frames;
    const what = command ? decoder.decode(command.subarray(0, 16)) : "";
    if (what === "HELLO" && frames.length === 3) {
      const slaveId = decimalFrame(frames[2], 10);
      const sender = slaveId === null ? undefined : this.senders.get(slaveId);
      if (!sender?.current) {
        if (slaveId === null) return;
        // a sender whose transfer was given up (silent for ABANDON_MS) says HELLO when it wakes:
        // DONE has it say SENT, whose VERIFY fails, and its build asks for the file again (a
        // deployed slave, told nothing, says HELLO every 5 s for ever)
        this.ctx.log.debug(`slave ${slaveId} says HELLO with nothing to send: DONE`);
        await this.router.send([peer!, "DONE"]);
        return;
      }
      const peerKey = encodeHex(peer!);
      if (sender.peerKey && sender.peerKey !== peerKey) {
        // another connection: the sender's own after it lost its first (a slave says HELLO
        // again after 5 s of silence), or anyone's; a transfer going on stays where it is
        const silent = Date.now() - sender.lastActivity;
        if (silent < TAKEOVER_MS) {
          const what = sender.current.file.filename;
          this.ctx.log.warning(
            `ignored HELLO for slave ${slaveId} from another connection: its transfer of ` +
              `${what} went on ${silent} ms ago`,
          );
          return;
        }
      }
      if (sender.peerKey && this.byPeer.get(sender.peerKey) === sender) {
        this.byPeer.delete(sender.peerKey);
      }
      sender.peer = peer!;
      sender.peerKey = peerKey;
      this.byPeer.set(peerKey, sender);
      sender.lastActivity = Date.now();
      const incoming = sender.current;
      this.used -= incoming.inFlight;
      incoming.inFlight = 0; // asked again from the start of what is missing
      incoming.file.state.resetCredit();
      if (incoming.file.state.done) await this.router.send([peer!, "DONE"]);
      else await this.fetch(sender);
      return;
    }
    if (what === "CHUNK" && frames.length === 4) {
      const sender = this.byPeer.get(encodeHex(peer!));
      const incoming = sender?.current;
      const data = frames[3]!;
      if (!sender || !incoming) {
        releaseFrame(data); // a connection with no transfer (WIRE.md: ignored)
        return;
      }
      const length = data.length; // data is not to be read once the file took it
      const offset = decimalFrame(frames[2]) ?? -1;
      if (!incoming.file.chunk(offset, data)) {
        releaseFrame(data); // read into the pool's memory, it goes back there
        this.ctx.log.warning(
          `slave ${sender.slaveId}: ignored ${length} bytes at ${
            decoder.decode(frames[2]!.subarray(0, 24))
          }, which no open FETCH asked for`,
        );
        return;
      }
      this.bytesReceived.inc({}, length);
      const settled = Math.min(incoming.inFlight, length);
      incoming.inFlight -= settled;
      this.used -= settled;
      sender.lastActivity = Date.now();
      if (incoming.file.state.done) await this.router.send([peer!, "DONE"]);
      else await this.fetch(sender);
      if (settled) await this.release();
      return;
    }
    this.ctx.log.warning(`dropped a malformed message on the file queue (${what || "empty"})`);
  }

  /**
   * Asks stalled transfers again for what is missing; abandons senders idle for longer than
   * {@linkcode ABANDON_MS}, whatever they were at (transferring, finished but not verified,
   * verified but not committed).
   */
  async watch(): Promise<void> {
    const now = Date.now();
    const limit = this.ctx.options.devMode ? DEV_ABANDON_MS : ABANDON_MS;
    for (const [slaveId, sender] of [...this.senders]) {
      // a sender that replaced this one while the loop awaited is not this one's to judge
      if (this.senders.get(slaveId) !== sender) continue;
      const idle = now - sender.lastActivity;
      if (idle > limit) {
        const what = sender.current?.file.filename ?? `${sender.verified.length} verified file(s)`;
        this.ctx.log.warning(`abandoning ${what} from slave ${slaveId}: idle for ${idle} ms`);
        await this.abandon(slaveId);
      } else if (sender.peer && sender.current && !sender.current.file.state.done) {
        // asked again once per stall, not every second: each round is a credit's worth of
        // FETCHes the sender answers in full once it wakes up
        if (idle > STALL_MS && now - sender.askedAgain > STALL_MS) {
          sender.askedAgain = now;
          this.used -= sender.current.inFlight;
          sender.current.inFlight = 0;
          sender.current.file.state.resetCredit();
          await this.fetch(sender);
        }
      }
    }
  }
}

runTask("file_juggler", async (ctx) => {
  const files = ctx.socket(
    new Router({
      linger: 0,
      maxMessageSize: 2 * 1024 * 1024,
      maxConnections: MAX_CONNECTIONS.slaves,
      maxUnfinishedBytes: MAX_UNFINISHED_BYTES,
      maxUnreadBytes: MAX_UNREAD_BYTES,
      ...slaveHeartbeat(ctx.options.devMode),
      ...await curveServerOptions(ctx.options, ctx.log),
    }),
  );
  const requests = ctx.socket(new Router({ linger: 0 }));
  const j = new Juggler(ctx, files);
  await j.removeStale();
  await files.bind(ctx.options.fileQueue);
  await requests.bind(ctx.options.fsQueue);
  ctx.every(1_000, () => j.watch());
  ctx.ready();
  const serving = serveRequests(requests, fileJugglerFs, {
    log: ctx.log,
    trusted: isTrustedAddress(ctx.options.fsQueue),
    handle: (r) => j.handle(r),
    onError: (e) => ["ERROR", errorMessage(e)],
  });
  const receiving = eachMessage(files, async (frames) => {
    try {
      await j.fromSender(frames);
    } catch (e) {
      if (!isClosed(e)) ctx.log.error(`file queue: ${errorMessage(e)}`);
    }
  });
  await Promise.all([serving, receiving]);
  for (const slaveId of [...j.senders.keys()]) await j.abandon(slaveId);
  j.writer.close();
});
