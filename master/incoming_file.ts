/**
 * A file on its way in from a sender (a build slave, piw-import): its chunks, written where they
 * belong as they come and hashed in order (a chunk that arrives early waits for the ones before
 * it), then checked and put in place without ever being read back: size and SHA-256 are known
 * when the last byte arrives, and the core metadata is read from memory or from the few blocks of
 * the archive it lies in. A file of at most {@linkcode IN_MEMORY} is kept in memory and hashed on
 * the caller's thread; a larger one is written into a temporary file and hashed on the writing
 * thread (`master/file_writer.ts`), while the caller goes on reading.
 *
 * The temporary file lies in the output's `simple/` directory (so that putting it in place is a
 * link or a rename on the same file system), named `.transfer-<random>.tmp`; a master killed
 * with SIGKILL leaves it there for the next start to remove.
 *
 * @module
 */

import { TransferState } from "../shared/states.ts";
import { releaseFrame } from "../shared/zmq/mod.ts";
import type { FileState } from "../shared/states.ts";
import { readWheelMetadata } from "../shared/wheel_metadata.ts";
import type { FileWriter } from "./file_writer.ts";
import { OrderedHash } from "./ordered_hash.ts";

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
  readonly #writer: FileWriter;
  readonly #memory: Uint8Array | null;
  /** A file in memory: its hash, taken as chunks come. */
  readonly #hash: OrderedHash | null;
  /** A file written on the writer's thread: its id there, until finished or dropped. */
  #id: number | null = null;
  #temp: string | null = null;
  #closed = false;
  /** Whether the temporary file's bytes were made durable. */
  #synced = false;

  /**
   * Starts receiving `file` from `slaveId` into memory (when `inMemory` allows it: by default,
   * when it is at most {@linkcode IN_MEMORY} bytes), or into a temporary file in `dir` that
   * `writer`'s thread writes and hashes.
   */
  constructor(
    slaveId: number,
    file: FileState,
    dir: string,
    writer: FileWriter,
    inMemory = file.filesize <= IN_MEMORY,
  ) {
    this.state = new TransferState(slaveId, file);
    this.#dir = dir;
    this.#writer = writer;
    this.#memory = inMemory ? new Uint8Array(file.filesize) : null;
    this.#hash = inMemory ? new OrderedHash() : null;
  }

  /** The file's name. */
  get filename(): string {
    return this.state.fileState.filename;
  }

  /** The bytes held in memory until the file is put in place (for the master's budget). */
  get held(): number {
    return this.#memory?.length ?? 0;
  }

  /** Bytes of chunks on the writing thread, not yet written and hashed. */
  get pending(): number {
    return this.#id === null ? 0 : this.#writer.pendingOf(this.#id);
  }

  /**
   * Takes a CHUNK: false (and nothing recorded) when it answers no FETCH still open (see
   * {@linkcode TransferState.chunk}): each byte is written and hashed once, as it first came.
   * Once `data` is hashed and stored, its memory is handed back
   * to the socket ({@linkcode releaseFrame}) for a later CHUNK, or goes to the writing thread
   * and back: the caller must not read it after this call.
   */
  chunk(offset: number, data: Uint8Array): boolean {
    if (this.#closed || !this.state.chunk(offset, data.length)) return false;
    if (this.#memory) {
      this.#memory.set(data, offset);
      this.#hash!.add(offset, data, () => releaseFrame(data));
    } else {
      if (this.#id === null) {
        this.#temp = this.#tempPath();
        this.#id = this.#writer.open(this.#temp);
      }
      this.#writer.chunk(this.#id, offset, data);
    }
    return true;
  }

  #tempPath(): string {
    return `${this.#dir}/${TEMP_PREFIX}${crypto.randomUUID()}${TEMP_SUFFIX}`;
  }

  /**
   * Once every byte has arrived: waits for the writes, and says what arrived (later chunks are
   * refused). Throws what a write failed with.
   */
  async finish(): Promise<Received> {
    this.#closed = true; // no chunk is taken after (a large file's would start a new one)
    let hashed, sha256;
    if (this.#hash) {
      [hashed, sha256] = [this.#hash.hashed, this.#hash.digest()];
    } else {
      if (this.#id === null) throw new Error("no byte arrived");
      const id = this.#id;
      this.#id = null;
      ({ hashed, sha256 } = await this.#writer.finish(id));
      this.#synced = true; // by the writing thread, as it finished
    }
    const size = this.state.fileState.filesize;
    if (hashed !== size) throw new Error(`${hashed} of ${size} bytes arrived in order`);
    return { size, sha256 };
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
  link(target: string): void {
    Deno.linkSync(this.#written(), target);
  }

  /** Puts the file at `target` over what is there (as {@linkcode link} does its calls). */
  replace(target: string): void {
    Deno.renameSync(this.#written(), target);
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

  /**
   * Makes the finished file durable, before it is put in place: its build is logged once it is,
   * and the database's commit is durable. A file held in memory is written to its temporary
   * file here, on the writing thread; one that thread wrote was synced there as it finished.
   */
  async durable(): Promise<void> {
    this.#closed = true;
    if (this.#synced) return;
    if (this.#id !== null) throw new Error(`${this.filename} is not finished`);
    if (!this.#memory || this.#temp) throw new Error(`${this.filename} was put in place already`);
    const temp = this.#tempPath();
    try {
      await this.#writer.write(temp, this.#memory);
    } catch (e) {
      await Deno.remove(temp).catch(() => {});
      throw e;
    }
    this.#temp = temp;
    this.#synced = true;
  }

  /** The finished file's temporary file, once {@linkcode durable}. */
  #written(): string {
    if (!this.#synced || !this.#temp) {
      throw new Error(`${this.filename} is not durable, or was put in place already`);
    }
    return this.#temp;
  }

  /** Forgets the file, deleting its temporary file if it has one. */
  async drop(): Promise<void> {
    this.#closed = true;
    this.#hash?.clear();
    if (this.#id !== null) {
      const id = this.#id;
      this.#id = null;
      await this.#writer.drop(id);
    }
    if (this.#temp) await Deno.remove(this.#temp).catch(() => {});
    this.#temp = null;
  }
}
