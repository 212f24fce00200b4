/**
 * A file on its way in from a sender (a build slave, piw-import): its chunks, written where they
 * belong as they come (kept in memory for a file of at most {@linkcode IN_MEMORY}, else in a
 * temporary file), hashed as they come in order (a chunk that arrives early waits for the ones
 * before it), then checked and put in place without ever being read back: size and SHA-256 are
 * known when the last byte arrives, and the core metadata is read from memory or from the few
 * blocks of the archive it lies in.
 *
 * The temporary file lies in the output's `simple/` directory (so that putting it in place is a
 * link or a rename on the same file system), named `.transfer-<random>.tmp`; a master killed
 * with SIGKILL leaves it there for the next start to remove.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { TransferState } from "../shared/states.ts";
import { releaseFrame } from "../shared/zmq/mod.ts";
import type { FileState } from "../shared/states.ts";
import { readWheelMetadata } from "../shared/wheel_metadata.ts";

/** Files at most this large are received in memory (a temporary file holds larger ones). */
export const IN_MEMORY = 1024 * 1024;
/** Temporary files of transfers are named `<TEMP_PREFIX>…<TEMP_SUFFIX>`, in `simple/`. */
export const TEMP_PREFIX = ".transfer-";
/** See {@linkcode TEMP_PREFIX}. */
export const TEMP_SUFFIX = ".tmp";

/** How a file came out: its size and SHA-256, as received. */
export interface Received {
  /** The bytes that arrived. */
  size: number;
  /** Their SHA-256, lower-case hex. */
  sha256: string;
}

/** A file being received. */
export class IncomingFile {
  /** Which bytes are missing and what to fetch next. */
  readonly state: TransferState;
  readonly #dir: string;
  readonly #memory: Uint8Array | null;
  #handle: Promise<FileHandle> | null = null;
  #temp: string | null = null;
  #writing: Promise<unknown> = Promise.resolve();
  #failed: Error | null = null;
  readonly #hash: Hash = createHash("sha256");
  #hashed = 0;
  /** Chunks that came before those ahead of them: hashed once the gap is filled. */
  readonly #early = new Map<number, { data: Uint8Array; done: () => void }>();
  #closed = false;

  /** Starts receiving `file` from `slaveId` into memory or a temporary file in `dir`. */
  constructor(slaveId: number, file: FileState, dir: string) {
    this.state = new TransferState(slaveId, file);
    this.#dir = dir;
    this.#memory = file.filesize <= IN_MEMORY ? new Uint8Array(file.filesize) : null;
  }

  /** The file's name. */
  get filename(): string {
    return this.state.fileState.filename;
  }

  /** The bytes held in memory until the file is put in place (for the master's budget). */
  get held(): number {
    return this.#memory?.length ?? 0;
  }

  /**
   * Takes a CHUNK: false (and nothing recorded) when it does not lie within the file. Bytes
   * that came already are taken again as they are (they must be the same for the hash to
   * match, which the hash checks). Once `data` is hashed and stored, its memory is handed back
   * to the socket ({@linkcode releaseFrame}) for a later CHUNK: the caller must not read it
   * after this call.
   */
  chunk(offset: number, data: Uint8Array): boolean {
    if (this.#closed || !this.state.chunk(offset, data.length)) return false;
    // handed back when it is hashed and (for a temporary file) written, whichever comes last
    let holds = this.#memory ? 1 : 2;
    const done = () => {
      if (--holds === 0) releaseFrame(data);
    };
    if (this.#memory) {
      this.#memory.set(data, offset);
    } else {
      this.#handle ??= this.#create();
      const handle = this.#handle;
      this.#writing = this.#writing.then(async () => {
        const fh = await handle;
        for (let at = 0; at < data.length;) {
          at += (await fh.write(data, at, data.length - at, offset + at)).bytesWritten;
        }
      }).catch((e) => {
        this.#failed ??= e as Error;
      }).finally(done);
    }
    this.#hashInOrder(offset, data, done);
    return true;
  }

  #hashInOrder(offset: number, data: Uint8Array, done: () => void): void {
    if (offset > this.#hashed) {
      // one early chunk per offset: one it replaces is never handed back (the collector has it)
      this.#early.set(offset, { data, done });
      return;
    }
    if (offset + data.length > this.#hashed) {
      this.#hash.update(data.subarray(this.#hashed - offset));
      this.#hashed = offset + data.length;
    } // else a repeat of what was hashed
    done();
    for (let next = this.#early.get(this.#hashed); next; next = this.#early.get(this.#hashed)) {
      this.#early.delete(this.#hashed);
      this.#hash.update(next.data);
      this.#hashed += next.data.length;
      next.done();
    }
  }

  #tempPath(): string {
    return `${this.#dir}/${TEMP_PREFIX}${crypto.randomUUID()}${TEMP_SUFFIX}`;
  }

  async #create(): Promise<FileHandle> {
    this.#temp = this.#tempPath();
    return await open(this.#temp, "wx+", 0o644);
  }

  /**
   * Once every byte has arrived: waits for the writes, and says what arrived. Throws what a
   * write failed with.
   */
  async finish(): Promise<Received> {
    await this.#writing;
    if (this.#failed) throw this.#failed;
    const size = this.state.fileState.filesize;
    if (this.#hashed !== size) throw new Error(`${this.#hashed} of ${size} bytes arrived in order`);
    return { size, sha256: this.#hash.copy().digest("hex") };
  }

  /** The wheel's core metadata (it must be a wheel): from memory, or from the file. */
  async metadata(): Promise<Uint8Array> {
    if (this.#memory) return await readWheelMetadata(this.#memory);
    if (!this.#temp) return await readWheelMetadata(new Uint8Array(0));
    return await readWheelMetadata(this.#temp);
  }

  /**
   * Links the file at `target`, mode 0644, where nothing is: a file there raises
   * `Deno.errors.AlreadyExists`. The temporary file stays until {@linkcode settle}, so that a
   * link taken back can be made again. Once the writes are done, its file calls are made on the
   * caller's thread: a few calls on names, and one write of at most {@linkcode IN_MEMORY} bytes,
   * each cheaper than its hand-over to Deno's thread pool and back would be.
   */
  async link(target: string): Promise<void> {
    Deno.linkSync(await this.#written(), target);
  }

  /** Puts the file at `target` over what is there (as {@linkcode link} does its calls). */
  async replace(target: string): Promise<void> {
    Deno.renameSync(await this.#written(), target);
    this.#temp = null;
  }

  /**
   * Once the file is in place for good: deletes the temporary file a link left (one that cannot
   * be deleted is left to the next start, which removes them).
   */
  settle(): void {
    try {
      if (this.#temp) Deno.removeSync(this.#temp);
    } catch {
      // left for the next start
    }
    this.#temp = null;
  }

  /** The temporary file, every byte written to it (from memory, the first time). */
  async #written(): Promise<string> {
    this.#closed = true;
    if (this.#memory && !this.#temp) {
      const temp = this.#tempPath();
      Deno.writeFileSync(temp, this.#memory, { createNew: true, mode: 0o644 });
      this.#temp = temp;
    } else {
      await this.#close();
    }
    if (!this.#temp) throw new Error(`${this.filename} was put in place already`);
    return this.#temp;
  }

  async #close(): Promise<void> {
    await this.#writing;
    const handle = this.#handle;
    this.#handle = null;
    if (handle) await (await handle).close().catch(() => {});
  }

  /** Forgets the file, deleting its temporary file if it has one. */
  async drop(): Promise<void> {
    this.#closed = true;
    await this.#close().catch(() => {});
    if (this.#temp) await Deno.remove(this.#temp).catch(() => {});
    this.#temp = null;
  }
}
