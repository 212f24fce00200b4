/**
 * The File Juggler (manual 11.3.7, WIRE.md): receives wheels from build slaves and importers on
 * the file queue (a ROUTER, default tcp://*:5556) and owns the files under the output path.
 *
 * Other tasks drive it on its file-system queue (default inproc://fs): EXPECT names the build
 * (package and version) and the file a sender is to send; the transfer is credit-based (up to
 * 10 FETCHes of 64 KiB in flight, each CHUNK written at its offset into a temporary file
 * pre-sized to the declared size, missing ranges asked for again after a silence); VERIFY checks
 * the size and SHA-256 against the declared ones (ERROR: the sender is asked again) and that the
 * wheel's own METADATA names the build's project and version (REFUSED: the build is refused).
 * Verified files wait as temporary files until COMMIT moves every one of the build's files into
 * `simple/<package>/` with its core metadata beside it (PEP 658), never over a file of another
 * version (only over the names COMMIT says are the version's own); ABORT drops them.
 *
 * A peer's numbers and names are never trusted: names were checked by the protocol, chunks
 * outside the file are ignored, the declared size is bounded, and what a sender stops doing is
 * abandoned after {@linkcode ABANDON_MS}. At start, temporaries a killed master left are removed.
 *
 * @module
 */

import { statfs } from "node:fs/promises";
import { sha256File, sha256Hex } from "../../shared/hash.ts";
import { decimalFrame } from "../../shared/file_queue.ts";
import { errorMessage } from "../../shared/log.ts";
import { sameVersion } from "../../shared/pep440.ts";
import {
  fileJugglerFs,
  isTrustedAddress,
  type Message,
  type VerifiedFile,
} from "../../shared/protocols.ts";
import { FileState, TransferState } from "../../shared/states.ts";
import { normalizeName } from "../../shared/wheel.ts";
import { Router } from "../../shared/zmq/mod.ts";
import { writeAtomic } from "../atomic_write.ts";
import { type Reply, serveRequests } from "../rpc.ts";
import { eachMessage, isClosed } from "../../shared/receive.ts";
import { runTask, type TaskContext } from "../task.ts";
import { metadataField, readWheelMetadata } from "../../shared/wheel_metadata.ts";

/** The largest file accepted (a declared size beyond it is refused at EXPECT). */
export const MAX_FILE_SIZE = 2 * 1024 ** 3;
/** A transfer with no CHUNK for this long is asked again for what is missing. */
const STALL_MS = 5_000;
/**
 * A sender idle this long (a transfer not going on, a finished one never verified, verified
 * files never committed) is abandoned and its temporary files deleted; 10 s in development
 * mode.
 */
export const ABANDON_MS = 120_000;
const DEV_ABANDON_MS = 10_000;
/** Temporary files of transfers are named so, in `simple/`. */
const TEMP_PREFIX = ".transfer-";
const TEMP_SUFFIX = ".tmp";

const decoder = new TextDecoder();

type FsReply = Reply<typeof fileJugglerFs.send>;
type FsRequest = Message<typeof fileJugglerFs.recv>;

/** A file of a build on its way in: transferring, then verified and waiting for COMMIT. */
interface Incoming {
  readonly state: TransferState;
  readonly temp: string;
  /** Open while the transfer goes on. */
  file: Deno.FsFile | null;
  /** The routing id of the sender's DEALER, once it said HELLO. */
  peer: Uint8Array | null;
  /** Writes are queued so that they never interleave their seek and write. */
  writing: Promise<void>;
  failed: Error | null;
  /** Once verified: its core metadata, and what the master read from it. */
  verified: { metadata: Uint8Array; details: VerifiedFile } | null;
}

/** What one sender (a slave id) is sending: the build, its current file and its verified ones. */
interface Sender {
  readonly package: string;
  readonly version: string;
  current: Incoming | null;
  readonly verified: Incoming[];
  lastActivity: number;
}

class Juggler {
  readonly senders = new Map<number, Sender>();

  constructor(readonly ctx: TaskContext, readonly router: Router) {}

  get output(): string {
    return this.ctx.options.outputPath;
  }

  get simple(): string {
    return `${this.output}/simple`;
  }

  /** Removes the transfer temporaries a killed master left (none is in use at start). */
  async removeStale(): Promise<void> {
    await Deno.mkdir(this.simple, { recursive: true });
    let removed = 0;
    for await (const entry of Deno.readDir(this.simple)) {
      if (entry.isFile && entry.name.startsWith(TEMP_PREFIX) && entry.name.endsWith(TEMP_SUFFIX)) {
        await Deno.remove(`${this.simple}/${entry.name}`).catch(() => {});
        removed++;
      }
    }
    if (removed) this.ctx.log.info(`removed ${removed} temporary file(s) of earlier transfers`);
  }

  async #drop(incoming: Incoming): Promise<void> {
    await incoming.writing.catch(() => {});
    try {
      incoming.file?.close();
    } catch {
      // closed already
    }
    incoming.file = null;
    await Deno.remove(incoming.temp).catch(() => {});
  }

  /** Forgets everything a sender was sending, deleting its temporary files. */
  async abandon(slaveId: number): Promise<void> {
    const sender = this.senders.get(slaveId);
    if (!sender) return;
    this.senders.delete(slaveId);
    for (const incoming of [sender.current, ...sender.verified]) {
      if (incoming) await this.#drop(incoming);
    }
  }

  async expect(slaveId: number, pkg: string, version: string, file: FileState): Promise<FsReply> {
    if (file.filesize > MAX_FILE_SIZE) {
      return ["ERROR", `${file.filename} is ${file.filesize} bytes; the limit is ${MAX_FILE_SIZE}`];
    }
    let sender = this.senders.get(slaveId);
    if (sender && (sender.package !== pkg || sender.version !== version)) {
      await this.abandon(slaveId); // what was left of an earlier build
      sender = undefined;
    }
    if (sender?.current) await this.#drop(sender.current);
    if (sender?.verified.some((f) => f.state.fileState.filename === file.filename)) {
      return ["REFUSED", `${file.filename} was sent already`];
    }
    // active from now: the watch must not take a sender being set up for an idle one
    sender ??= { package: pkg, version, current: null, verified: [], lastActivity: Date.now() };
    sender.current = null;
    this.senders.set(slaveId, sender);
    await Deno.mkdir(this.simple, { recursive: true });
    const temp = await Deno.makeTempFile({
      dir: this.simple,
      prefix: TEMP_PREFIX,
      suffix: TEMP_SUFFIX,
    });
    const handle = await Deno.open(temp, { read: true, write: true });
    await handle.truncate(file.filesize);
    sender.current = {
      state: new TransferState(slaveId, file),
      temp,
      file: handle,
      peer: null,
      writing: Promise.resolve(),
      failed: null,
      verified: null,
    };
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
    const f = incoming.state.fileState;
    await incoming.writing;
    incoming.file?.close();
    incoming.file = null;
    const fail = async (why: string): Promise<FsReply> => {
      await this.#drop(incoming);
      return ["ERROR", `${f.filename}: ${why}`];
    };
    if (incoming.failed) return await fail(incoming.failed.message);
    if (!incoming.state.done) {
      return await fail(`${incoming.state.received} of ${f.filesize} bytes arrived`);
    }
    const size = (await Deno.stat(incoming.temp)).size;
    const hash = await sha256File(incoming.temp);
    if (size !== f.filesize || hash !== f.filehash) {
      return await fail(`size ${size} and SHA-256 ${hash} do not match the build's`);
    }
    let metadata: Uint8Array;
    try {
      metadata = await readWheelMetadata(incoming.temp);
    } catch (e) {
      await this.#drop(incoming);
      return ["REFUSED", `${f.filename} is not a wheel: ${errorMessage(e)}`];
    }
    const name = metadataField(metadata, "Name");
    const version = metadataField(metadata, "Version");
    if (name === null || normalizeName(name) !== normalizeName(sender.package)) {
      await this.#drop(incoming);
      return ["REFUSED", `${f.filename}'s METADATA names project ${name}, not ${sender.package}`];
    }
    if (version === null || !sameVersion(version, sender.version)) {
      await this.#drop(incoming);
      return [
        "REFUSED",
        `${f.filename}'s METADATA names version ${version}, not ${sender.version}`,
      ];
    }
    incoming.verified = {
      metadata,
      details: {
        requires_python: metadataField(metadata, "Requires-Python"),
        metadata_sha256: sha256Hex(metadata),
      },
    };
    sender.verified.push(incoming);
    return ["OK", incoming.verified.details];
  }

  /**
   * Moves a sender's verified files into `simple/<package>/`: new names only where nothing is
   * (a link, which fails if something is), names in `replaceable` over what is there. If one
   * cannot go, those moved already are taken back and nothing is published.
   */
  async commit(slaveId: number, replaceable: readonly string[]): Promise<FsReply> {
    const sender = this.senders.get(slaveId);
    if (!sender || sender.current) return ["ERROR", `slave ${slaveId} has no verified build`];
    const dir = `${this.simple}/${normalizeName(sender.package)}`;
    await Deno.mkdir(dir, { recursive: true });
    const placed: string[] = [];
    try {
      for (const incoming of sender.verified) {
        const name = incoming.state.fileState.filename;
        const target = `${dir}/${name}`;
        await Deno.chmod(incoming.temp, 0o644);
        if (replaceable.includes(name)) {
          await Deno.rename(incoming.temp, target);
        } else {
          try {
            await Deno.link(incoming.temp, target);
          } catch (e) {
            if (e instanceof Deno.errors.AlreadyExists) {
              throw new Error(`${name} is published already, by another build`);
            }
            throw e;
          }
          placed.push(target);
          await Deno.remove(incoming.temp);
        }
        await writeAtomic(`${target}.metadata`, incoming.verified!.metadata);
      }
    } catch (e) {
      for (const path of placed) {
        for (const p of [path, `${path}.metadata`]) await Deno.remove(p).catch(() => {});
      }
      await this.abandon(slaveId);
      return ["ERROR", errorMessage(e)];
    }
    this.senders.delete(slaveId);
    this.ctx.log.debug(
      `published ${sender.verified.length} file(s) of ${sender.package} ${sender.version} ` +
        `from slave ${slaveId}`,
    );
    return ["OK", null];
  }

  async remove(pkg: string, filename: string): Promise<FsReply> {
    const path = `${this.simple}/${normalizeName(pkg)}/${filename}`;
    for (const p of [path, `${path}.metadata`]) {
      await Deno.remove(p).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    return ["OK", null];
  }

  async statfs(): Promise<FsReply> {
    await Deno.mkdir(this.output, { recursive: true });
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
      case "STATFS":
        return await this.statfs();
    }
  }

  async fetch(incoming: Incoming): Promise<void> {
    if (!incoming.peer) return;
    const t = incoming.state;
    for (let r = t.fetch(); r; r = t.fetch()) {
      await this.router.send([incoming.peer, "FETCH", String(r.start), String(r.stop - r.start)]);
    }
  }

  async fromSender(frames: Uint8Array[]): Promise<void> {
    const [peer, command] = frames;
    const what = command ? decoder.decode(command.subarray(0, 16)) : "";
    if (what === "HELLO" && frames.length === 3) {
      const slaveId = decimalFrame(frames[2], 10);
      const sender = slaveId === null ? undefined : this.senders.get(slaveId);
      const incoming = sender?.current;
      if (!sender || !incoming) {
        this.ctx.log.debug(
          `HELLO from slave ${decoder.decode(frames[2])}, which has nothing to send`,
        );
        return;
      }
      incoming.peer = peer!;
      sender.lastActivity = Date.now();
      incoming.state.resetCredit();
      if (incoming.state.done) await this.router.send([peer!, "DONE"]);
      else await this.fetch(incoming);
      return;
    }
    if (what === "CHUNK" && frames.length === 4) {
      const sender = [...this.senders.values()].find((s) =>
        s.current?.peer && bytesEqual(s.current.peer, peer!)
      );
      const incoming = sender?.current;
      if (!sender || !incoming) return;
      const data = frames[3]!;
      const offset = decimalFrame(frames[2]) ?? -1;
      if (!incoming.state.chunk(offset, data.length)) {
        this.ctx.log.warning(
          `slave ${incoming.state.slaveId}: a chunk at ${
            decoder.decode(frames[2])
          } lies outside the file`,
        );
        return;
      }
      sender.lastActivity = Date.now();
      const file = incoming.file!;
      incoming.writing = incoming.writing.then(async () => {
        await file.seek(offset, Deno.SeekMode.Start);
        let written = 0;
        while (written < data.length) written += await file.write(data.subarray(written));
      }).catch((e) => {
        incoming.failed ??= e as Error;
      });
      if (incoming.state.done) await this.router.send([peer!, "DONE"]);
      else await this.fetch(incoming);
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
      const idle = now - sender.lastActivity;
      if (idle > limit) {
        const what = sender.current?.state.fileState.filename ??
          `${sender.verified.length} verified file(s)`;
        this.ctx.log.warning(`abandoning ${what} from slave ${slaveId}: idle for ${idle} ms`);
        await this.abandon(slaveId);
      } else if (sender.current?.peer && !sender.current.state.done && idle > STALL_MS) {
        sender.current.state.resetCredit();
        await this.fetch(sender.current);
      }
    }
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

runTask(async (ctx) => {
  const files = ctx.socket(new Router({ linger: 0, maxMessageSize: 1024 * 1024 }));
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
});
