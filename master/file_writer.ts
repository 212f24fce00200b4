/**
 * Large incoming files written and hashed on a thread of their own (`master/workers/file_writer.ts`),
 * so that the File Juggler's thread only reads the file queue: hashing a chunk there (SHA-256 of
 * 1 MiB: about 0.4 ms) held up reading the next, and a 30 MiB wheel's transfer took twice as long
 * as without. Each chunk's memory goes to that thread and back without a copy (a large frame has
 * a buffer of its own: `detachFrame`), to be read into again.
 *
 * The same thread makes a build's files durable before they are put in place ({@linkcode
 * FileWriter.write}, {@linkcode FileWriter.sync}): a small wheel and its core metadata written
 * and synced, then the directory they were linked into, each in one request. Through Deno's
 * thread pool that was eight hand-overs in a row (open, write, sync…), each waiting for a core
 * on a busy machine: 2 ms of the 6–8 ms from a slave's SENT to its DONE under load.
 *
 * The main thread starts that thread beside the File Juggler's Worker and hands each a port of one
 * channel ({@linkcode FileWriterPort}): a Worker started from a Worker took 0.5 s to start here (a
 * large file's transfer would wait for it), and would need the Juggler's Worker to read the
 * master's code to load it.
 *
 * @module
 */

import { adoptFrame, detachFrame } from "../shared/zmq/mod.ts";

/** The message that hands a thread its port of the channel between the two. */
export interface FileWriterPort {
  /** Marks the message. */
  type: "piwheels.file_writer";
  /** This thread's end of the channel. */
  port: MessagePort;
}

/** What the Juggler's thread asks of the writing thread. */
export type WriterRequest =
  | { type: "open"; id: number; path: string }
  | { type: "chunk"; id: number; offset: number; buffer: ArrayBuffer; length: number }
  | { type: "finish"; id: number }
  | { type: "drop"; id: number }
  | { type: "write"; id: number; path: string; data: Uint8Array }
  | { type: "sync"; id: number; path: string };

/** What the writing thread answers. */
export type WriterReply =
  /** A chunk's memory (`length` bytes of it), given back once written and hashed. */
  | { type: "free"; id: number; buffer: ArrayBuffer; length: number }
  /** A file finished: every write done, and its first `hashed` bytes' SHA-256. */
  | { type: "finished"; id: number; hashed: number; sha256: string }
  /** A file that could not be created or written. */
  | { type: "failed"; id: number; error: string }
  /** A file dropped: nothing more is written to it. */
  | { type: "dropped"; id: number }
  /** A file written whole, or a path synced: on the disk. */
  | { type: "durable"; id: number };

/** How a file came out on the writing thread. */
export interface Written {
  /** How many bytes, from the start, were hashed (every byte, unless some never came). */
  hashed: number;
  /** Their SHA-256, lower-case hex. */
  sha256: string;
}

let given: MessagePort | null = null;

/**
 * Takes this thread's port to the writing thread when the main thread hands it over (it does so
 * before it has the Worker's tasks start): call once, as the Worker starts.
 */
export function awaitFileWriterPort(): void {
  const self = globalThis as unknown as {
    addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
    removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  };
  const listener = (event: MessageEvent) => {
    const m = event.data as FileWriterPort | undefined;
    if (m?.type !== "piwheels.file_writer") return;
    self.removeEventListener("message", listener);
    given = m.port;
  };
  self.addEventListener("message", listener);
}

/** The writing thread, as the Juggler's thread drives it. */
export class FileWriter {
  readonly #port: MessagePort;
  #nextId = 0;
  readonly #waiting = new Map<number, PromiseWithResolvers<WriterReply>>();
  #pending = 0;
  readonly #pendingById = new Map<number, number>();

  /**
   * Drives the writing thread over the port the main thread handed over; `onFree` is called
   * whenever memory the thread held is given back.
   */
  constructor(readonly onFree: () => void) {
    if (!given) throw new Error("the main thread handed over no port to the file writing thread");
    this.#port = given;
    this.#port.onmessage = ({ data }: MessageEvent<WriterReply>) => {
      if (data.type === "free") {
        adoptFrame(data.buffer);
        this.#settle(data.id, data.length);
        return this.onFree();
      }
      const waiting = this.#waiting.get(data.id);
      this.#waiting.delete(data.id);
      waiting?.resolve(data);
    };
  }

  /** Bytes of chunks sent to the thread and not yet written and hashed (memory held there). */
  get pending(): number {
    return this.#pending;
  }

  /** The same, of file `id`. */
  pendingOf(id: number): number {
    return this.#pendingById.get(id) ?? 0;
  }

  #settle(id: number, length: number): void {
    this.#pending -= length;
    const left = this.pendingOf(id) - length;
    if (left > 0) this.#pendingById.set(id, left);
    else this.#pendingById.delete(id);
  }

  /** Creates the file at `path` (it must not exist) to write chunks into; returns its id. */
  open(path: string): number {
    const id = this.#nextId++;
    this.#post({ type: "open", id, path });
    return id;
  }

  /**
   * Writes `data` at `offset` of file `id` and hashes it in order. The caller must not use
   * `data` again: its memory goes to the writing thread (copied first when it is not a frame
   * of its own).
   */
  chunk(id: number, offset: number, data: Uint8Array): void {
    const length = data.length;
    const buffer = detachFrame(data) ?? data.slice().buffer;
    this.#pending += length;
    this.#pendingById.set(id, this.pendingOf(id) + length);
    this.#port.postMessage(
      { type: "chunk", id, offset, buffer, length } satisfies WriterRequest,
      [buffer],
    );
  }

  /** Once every chunk is sent: the file is closed; resolves to what was hashed. */
  async finish(id: number): Promise<Written> {
    const reply = await this.#ask({ type: "finish", id });
    if (reply.type === "finished") return { hashed: reply.hashed, sha256: reply.sha256 };
    throw new Error(reply.type === "failed" ? reply.error : `unexpected ${reply.type}`);
  }

  /** Forgets file `id` (nothing more is written to it); resolves once it is closed. */
  async drop(id: number): Promise<void> {
    await this.#ask({ type: "drop", id });
  }

  /**
   * Creates a file at `path` (mode 0644; it must not exist) holding a copy of `data`, and makes
   * it durable; rejects with what failed (the file may then be there, in part).
   */
  async write(path: string, data: Uint8Array): Promise<void> {
    await this.#durable({ type: "write", id: this.#nextId++, path, data });
  }

  /** Makes what `path` holds durable (a directory: the names linked, renamed or removed in it). */
  async sync(path: string): Promise<void> {
    await this.#durable({ type: "sync", id: this.#nextId++, path });
  }

  async #durable(r: WriterRequest & { type: "write" | "sync" }): Promise<void> {
    const reply = await this.#ask(r);
    if (reply.type !== "durable") {
      throw new Error(reply.type === "failed" ? reply.error : `unexpected ${reply.type}`);
    }
  }

  async #ask(r: WriterRequest & { id: number }): Promise<WriterReply> {
    const waiting = Promise.withResolvers<WriterReply>();
    this.#waiting.set(r.id, waiting);
    this.#post(r);
    return await waiting.promise;
  }

  /** Lets go of the port (what waits for the thread fails). */
  close(): void {
    this.#port.close();
    for (const [id, waiting] of this.#waiting) {
      waiting.resolve({ type: "failed", id, error: "the File Juggler stopped" });
    }
    this.#waiting.clear();
  }

  #post(r: WriterRequest): void {
    this.#port.postMessage(r);
  }
}
