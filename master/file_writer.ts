/**
 * Large incoming files written and hashed on a thread of their own (`master/workers/file_writer.ts`),
 * so that the File Juggler's thread only reads the file queue: hashing a chunk there (SHA-256 of
 * 1 MiB: about 0.4 ms) held up reading the next, and a 30 MiB wheel's transfer took twice as long
 * as without. Each chunk's memory goes to that thread and back without a copy (a large frame has
 * a buffer of its own: `detachFrame`), to be read into again.
 *
 * The thread starts with the File Juggler (a Worker started from a Worker takes 0.5–1 s to
 * start here, which a large file's transfer would wait for), and again should it fail.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { errorMessage } from "../shared/log.ts";
import { adoptFrame, detachFrame } from "../shared/zmq/mod.ts";

/** What the Juggler's thread asks of the writing thread. */
export type WriterRequest =
  | { type: "open"; id: number; path: string }
  | { type: "chunk"; id: number; offset: number; buffer: ArrayBuffer; length: number }
  | { type: "finish"; id: number }
  | { type: "drop"; id: number };

/** What the writing thread answers. */
export type WriterReply =
  /** A chunk's memory (`length` bytes of it), given back once written and hashed. */
  | { type: "free"; id: number; buffer: ArrayBuffer; length: number }
  /** A file finished: every write done, and its first `hashed` bytes' SHA-256. */
  | { type: "finished"; id: number; hashed: number; sha256: string }
  /** A file that could not be created or written. */
  | { type: "failed"; id: number; error: string }
  /** A file dropped: nothing more is written to it. */
  | { type: "dropped"; id: number };

/** How a file came out on the writing thread. */
export interface Written {
  /** How many bytes, from the start, were hashed (every byte, unless some never came). */
  hashed: number;
  /** Their SHA-256, lower-case hex. */
  sha256: string;
}

let entry = new URL("./workers/file_writer.ts", import.meta.url);

/**
 * Where the writing thread's module is: a bundle (where this module's code lies in a shared
 * chunk) says so from its Worker's entry, which lies beside it.
 */
export function setFileWriterEntry(url: URL): void {
  entry = url;
}

/** The writing thread, as the Juggler's thread drives it. */
export class FileWriter {
  #worker: Worker | null = null;
  #nextId = 0;
  readonly #waiting = new Map<number, PromiseWithResolvers<WriterReply>>();
  #pending = 0;
  readonly #pendingById = new Map<number, number>();

  /**
   * Starts the thread, with write access to `dir` only (where the temporary files lie);
   * `onFree` is called whenever memory the thread held is given back.
   */
  constructor(readonly dir: string, readonly onFree: () => void) {
    this.#thread();
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

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(entry, {
      type: "module",
      name: "file_writer",
      deno: {
        permissions: {
          // its code, and the directory it writes
          read: [fileURLToPath(new URL("../..", entry)), this.dir],
          write: [this.dir],
          net: false,
          env: false,
          sys: false,
          run: false,
          ffi: false,
        },
      },
    });
    worker.onmessage = ({ data }: MessageEvent<WriterReply>) => {
      if (data.type === "free") {
        adoptFrame(data.buffer);
        this.#settle(data.id, data.length);
        return this.onFree();
      }
      const waiting = this.#waiting.get(data.id);
      this.#waiting.delete(data.id);
      waiting?.resolve(data);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      this.#lost(`the file writing thread failed: ${e.message}`);
    };
    this.#worker = worker;
    return worker;
  }

  /** The thread died: every file on it failed. */
  #lost(why: string): void {
    this.#worker?.terminate();
    this.#worker = null;
    this.#pending = 0;
    this.#pendingById.clear();
    for (const [id, waiting] of this.#waiting) waiting.resolve({ type: "failed", id, error: why });
    this.#waiting.clear();
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
    try {
      this.#thread().postMessage(
        { type: "chunk", id, offset, buffer, length } satisfies WriterRequest,
        [buffer],
      );
    } catch (e) {
      this.#lost(errorMessage(e));
    }
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

  async #ask(r: WriterRequest & { id: number }): Promise<WriterReply> {
    const waiting = Promise.withResolvers<WriterReply>();
    this.#waiting.set(r.id, waiting);
    this.#post(r);
    return await waiting.promise;
  }

  /** Ends the thread (the files still open on it are forgotten). */
  close(): void {
    this.#lost("closed");
  }

  #post(r: WriterRequest): void {
    try {
      this.#thread().postMessage(r);
    } catch (e) {
      this.#lost(errorMessage(e));
    }
  }
}
