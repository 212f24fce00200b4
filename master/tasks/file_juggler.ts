/**
 * The File Juggler (manual 11.3.7, WIRE.md): receives wheels from build slaves and importers on
 * the file queue (a ROUTER, default tcp://*:5556) and owns the files under the output path.
 *
 * Other tasks tell it what to expect (EXPECT: slave id and file state) on its file-system queue
 * (default inproc://fs). A transfer is credit-based: up to 10 FETCHes of 64 KiB in flight, each
 * CHUNK written at its offset into a temporary file pre-sized to the declared size, missing
 * ranges asked for again after a silence. On VERIFY the size and SHA-256 are checked against
 * the declared ones; a good file is renamed into `simple/<package>/` with its core metadata
 * beside it (PEP 658), a bad one deleted (ERROR: the sender is asked again). A peer's numbers
 * and names are never trusted: the name was checked by the protocol, chunks outside the file are
 * ignored, and the declared size is bounded.
 *
 * @module
 */

import { statfs } from "node:fs/promises";
import { sha256File, sha256Hex } from "../../shared/hash.ts";
import { decimalFrame } from "../../shared/file_queue.ts";
import { errorMessage } from "../../shared/log.ts";
import { fileJugglerFs, type Message, type VerifiedFile } from "../../shared/protocols.ts";
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
/** A transfer idle this long is abandoned and its temporary file deleted. */
const ABANDON_MS = 120_000;

const decoder = new TextDecoder();

interface Transfer {
  state: TransferState;
  file: Deno.FsFile;
  temp: string;
  /** The routing id of the sender's DEALER, once it said HELLO. */
  peer: Uint8Array | null;
  lastActivity: number;
  /** Writes are queued so that they never interleave their seek and write. */
  writing: Promise<void>;
  failed: Error | null;
}

type FsRequest = Message<typeof fileJugglerFs.recv>;

class Juggler {
  readonly transfers = new Map<number, Transfer>();

  constructor(readonly ctx: TaskContext, readonly router: Router) {}

  get output(): string {
    return this.ctx.options.outputPath;
  }

  async abandon(slaveId: number): Promise<void> {
    const t = this.transfers.get(slaveId);
    if (!t) return;
    this.transfers.delete(slaveId);
    await t.writing.catch(() => {});
    try {
      t.file.close();
    } catch {
      // closed already
    }
    await Deno.remove(t.temp).catch(() => {});
  }

  async expect(slaveId: number, file: FileState): Promise<Reply<typeof fileJugglerFs.send>> {
    if (file.filesize > MAX_FILE_SIZE) {
      return ["ERROR", `${file.filename} is ${file.filesize} bytes; the limit is ${MAX_FILE_SIZE}`];
    }
    await this.abandon(slaveId);
    const dir = `${this.output}/simple`;
    await Deno.mkdir(dir, { recursive: true });
    const temp = await Deno.makeTempFile({ dir, prefix: ".transfer-", suffix: ".tmp" });
    const handle = await Deno.open(temp, { read: true, write: true });
    await handle.truncate(file.filesize);
    this.transfers.set(slaveId, {
      state: new TransferState(slaveId, file),
      file: handle,
      temp,
      peer: null,
      lastActivity: Date.now(),
      writing: Promise.resolve(),
      failed: null,
    });
    this.ctx.log.debug(`expecting ${file.filename} (${file.filesize} bytes) from slave ${slaveId}`);
    return ["OK", null];
  }

  async verify(slaveId: number, pkg: string): Promise<Reply<typeof fileJugglerFs.send>> {
    const t = this.transfers.get(slaveId);
    if (!t) return ["ERROR", `no transfer from slave ${slaveId}`];
    const f = t.state.fileState;
    await t.writing;
    if (t.failed) {
      await this.abandon(slaveId);
      return ["ERROR", `${f.filename}: ${t.failed.message}`];
    }
    if (!t.state.done) {
      await this.abandon(slaveId);
      return ["ERROR", `${f.filename}: ${t.state.received} of ${f.filesize} bytes arrived`];
    }
    this.transfers.delete(slaveId);
    t.file.close();
    const size = (await Deno.stat(t.temp)).size;
    const hash = await sha256File(t.temp);
    if (size !== f.filesize || hash !== f.filehash) {
      await Deno.remove(t.temp).catch(() => {});
      return ["ERROR", `${f.filename}: size ${size} and SHA-256 ${hash} do not match the build's`];
    }
    const dir = `${this.output}/simple/${normalizeName(pkg)}`;
    await Deno.mkdir(dir, { recursive: true });
    const target = `${dir}/${f.filename}`;
    let details: VerifiedFile = { requires_python: null, metadata_sha256: null };
    try {
      const metadata = await readWheelMetadata(t.temp);
      await writeAtomic(`${target}.metadata`, metadata);
      details = {
        requires_python: metadataField(metadata, "Requires-Python"),
        metadata_sha256: sha256Hex(metadata),
      };
    } catch (e) {
      this.ctx.log.warning(`${f.filename}: no core metadata published: ${errorMessage(e)}`);
      await Deno.remove(`${target}.metadata`).catch(() => {});
    }
    await Deno.chmod(t.temp, 0o644);
    await Deno.rename(t.temp, target);
    this.ctx.log.info(`received ${f.filename} from slave ${slaveId}`);
    return ["OK", details];
  }

  async remove(pkg: string, filename: string): Promise<Reply<typeof fileJugglerFs.send>> {
    const path = `${this.output}/simple/${normalizeName(pkg)}/${filename}`;
    for (const p of [path, `${path}.metadata`]) {
      await Deno.remove(p).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    return ["OK", null];
  }

  async statfs(): Promise<Reply<typeof fileJugglerFs.send>> {
    await Deno.mkdir(this.output, { recursive: true });
    const s = await statfs(this.output);
    return ["OK", [s.blocks * s.bsize, s.bavail * s.bsize]];
  }

  async handle(r: FsRequest): Promise<Reply<typeof fileJugglerFs.send>> {
    switch (r.msg) {
      case "EXPECT":
        return await this.expect(r.data[0], FileState.fromMessage(r.data[1]));
      case "VERIFY":
        return await this.verify(...r.data);
      case "REMOVE":
        return await this.remove(...r.data);
      case "ABORT":
        await this.abandon(r.data);
        return ["OK", null];
      case "STATFS":
        return await this.statfs();
    }
  }

  async fetch(t: Transfer): Promise<void> {
    if (!t.peer) return;
    for (let r = t.state.fetch(); r; r = t.state.fetch()) {
      await this.router.send([t.peer, "FETCH", String(r.start), String(r.stop - r.start)]);
    }
  }

  async fromSender(frames: Uint8Array[]): Promise<void> {
    const [peer, command] = frames;
    const what = command ? decoder.decode(command.subarray(0, 16)) : "";
    if (what === "HELLO" && frames.length === 3) {
      const slaveId = decimalFrame(frames[2], 10);
      const t = slaveId === null ? undefined : this.transfers.get(slaveId);
      if (!t) {
        this.ctx.log.debug(
          `HELLO from slave ${decoder.decode(frames[2])}, which has nothing to send`,
        );
        return;
      }
      t.peer = peer!;
      t.lastActivity = Date.now();
      t.state.resetCredit();
      if (t.state.done) await this.router.send([peer!, "DONE"]);
      else await this.fetch(t);
      return;
    }
    if (what === "CHUNK" && frames.length === 4) {
      const t = [...this.transfers.values()].find((x) => x.peer && bytesEqual(x.peer, peer!));
      if (!t) return;
      const data = frames[3]!;
      const offset = decimalFrame(frames[2]) ?? -1;
      if (!t.state.chunk(offset, data.length)) {
        this.ctx.log.warning(
          `slave ${t.state.slaveId}: a chunk at ${decoder.decode(frames[2])} lies outside the file`,
        );
        return;
      }
      t.lastActivity = Date.now();
      t.writing = t.writing.then(async () => {
        await t.file.seek(offset, Deno.SeekMode.Start);
        let written = 0;
        while (written < data.length) written += await t.file.write(data.subarray(written));
      }).catch((e) => {
        t.failed ??= e as Error;
      });
      if (t.state.done) await this.router.send([peer!, "DONE"]);
      else await this.fetch(t);
      return;
    }
    this.ctx.log.warning(`dropped a malformed message on the file queue (${what || "empty"})`);
  }

  /** Asks stalled transfers again for what is missing; abandons the long-silent ones. */
  async watch(): Promise<void> {
    const now = Date.now();
    for (const [slaveId, t] of [...this.transfers]) {
      if (t.state.done) continue;
      if (now - t.lastActivity > ABANDON_MS) {
        this.ctx.log.warning(`abandoning ${t.state.fileState.filename} from slave ${slaveId}`);
        await this.abandon(slaveId);
      } else if (t.peer && now - t.lastActivity > STALL_MS) {
        t.state.resetCredit();
        await this.fetch(t);
      }
    }
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

runTask(async (ctx) => {
  const files = ctx.socket(new Router({ linger: 0, maxMessageSize: 1024 * 1024 }));
  await files.bind(ctx.options.fileQueue);
  const requests = ctx.socket(new Router({ linger: 0 }));
  await requests.bind(ctx.options.fsQueue);
  const j = new Juggler(ctx, files);
  ctx.every(1_000, () => j.watch());
  ctx.ready();
  const serving = serveRequests(requests, fileJugglerFs, {
    log: ctx.log,
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
  for (const slaveId of [...j.transfers.keys()]) await j.abandon(slaveId);
});
