/**
 * The File Juggler's writing thread (`master/file_writer.ts`), which the main thread starts beside
 * the Juggler's Worker: writes the chunks of large incoming files into their temporary files and
 * hashes each file's bytes in order, so that the thread reading the file queue does neither; and
 * makes the files of a build about to be put in place durable, so that it waits on no disk. It
 * runs no task and has no socket: the Juggler's thread is its only peer, over the port of a
 * channel the main thread hands it ({@linkcode WriterRequest}, {@linkcode WriterReply}), and it may
 * only read and write the directory the temporary files lie in.
 *
 * @module
 */

import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from "node:fs";
import { errorMessage } from "../../shared/log.ts";
import { OrderedHash } from "../ordered_hash.ts";
import type { FileWriterPort, WriterReply, WriterRequest } from "../file_writer.ts";

/** A file being written. */
interface Open {
  /** Its id, as the Juggler's thread named it. */
  readonly id: number;
  /** Its descriptor, or -1 when it could not be created. */
  readonly fd: number;
  readonly hash: OrderedHash;
  /** What creating it or a write failed with (later chunks are then only given back). */
  failed: string | null;
}

const self = globalThis as unknown as {
  onmessage: ((event: MessageEvent<FileWriterPort>) => void) | null;
};

const files = new Map<number, Open>();
/** The channel to the Juggler's thread, once the main thread handed it over. */
let juggler: MessagePort | null = null;

/** Gives a chunk's memory back to the Juggler's thread (for its next large frame). */
function giveBack(id: number, data: Uint8Array): void {
  const buffer = data.buffer as ArrayBuffer;
  reply({ type: "free", id, buffer, length: data.length }, [buffer]);
}

function reply(message: WriterReply, transfer: Transferable[] = []): void {
  juggler!.postMessage(message, transfer);
}

function write(file: Open, offset: number, data: Uint8Array): void {
  if (file.failed) return giveBack(file.id, data);
  try {
    for (let at = 0; at < data.length;) {
      at += writeSync(file.fd, data, at, data.length - at, offset + at);
    }
  } catch (e) {
    file.failed = errorMessage(e);
    return giveBack(file.id, data);
  }
  file.hash.add(offset, data, () => giveBack(file.id, data));
}

function close(id: number, durable = false): Open | undefined {
  const file = files.get(id);
  if (!file) return undefined;
  files.delete(id);
  file.hash.clear();
  try {
    // a finished file's bytes go to the disk here, off the thread reading the file queue: its
    // build is logged once it is in place, and the database's commit is durable
    if (durable && file.fd >= 0 && !file.failed) fdatasyncSync(file.fd);
    if (file.fd >= 0) closeSync(file.fd);
  } catch (e) {
    file.failed ??= errorMessage(e);
  }
  return file;
}

/**
 * Opens `path` with `flags` (and `mode`, for a new file), calls `use` with its descriptor and
 * closes it; says whether that went well.
 */
function durably(
  id: number,
  path: string,
  flags: string,
  use: (fd: number) => void,
  mode?: number,
): void {
  let fd = -1;
  let error: string | null = null;
  try {
    fd = openSync(path, flags, mode);
    use(fd);
  } catch (e) {
    error = errorMessage(e);
  }
  try {
    if (fd >= 0) closeSync(fd);
  } catch (e) {
    error ??= errorMessage(e);
  }
  reply(error === null ? { type: "durable", id } : { type: "failed", id, error });
}

function handle({ data: r }: MessageEvent<WriterRequest>): void {
  switch (r.type) {
    case "open": {
      let fd = -1;
      let failed = null;
      try {
        fd = openSync(r.path, "wx+", 0o644);
      } catch (e) {
        failed = errorMessage(e);
      }
      files.set(r.id, { id: r.id, fd, hash: new OrderedHash(), failed });
      return;
    }
    case "chunk": {
      const data = new Uint8Array(r.buffer, 0, r.length);
      const file = files.get(r.id);
      if (file) write(file, r.offset, data);
      else giveBack(r.id, data); // a file dropped meanwhile
      return;
    }
    case "finish": {
      const file = close(r.id, true);
      const error = file ? file.failed : "the file was not open";
      return reply(
        error === null
          ? { type: "finished", id: r.id, hashed: file!.hash.hashed, sha256: file!.hash.digest() }
          : { type: "failed", id: r.id, error },
      );
    }
    case "drop":
      close(r.id);
      return reply({ type: "dropped", id: r.id });
    case "write":
      return durably(r.id, r.path, "wx", (fd) => {
        for (let at = 0; at < r.data.length;) {
          at += writeSync(fd, r.data, at, r.data.length - at, at);
        }
        fdatasyncSync(fd);
      }, 0o644);
    case "sync":
      return durably(r.id, r.path, "r", (fd) => fsyncSync(fd));
  }
}

self.onmessage = ({ data }) => {
  if (data?.type !== "piwheels.file_writer" || juggler) return;
  juggler = data.port;
  juggler.onmessage = handle;
};
