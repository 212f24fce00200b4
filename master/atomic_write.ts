/**
 * Writing the web output so that a reader (Apache, pip) never sees a half-written file: every
 * file is written to a temporary name in the same directory and renamed into place.
 *
 * Two forms: {@linkcode writeAtomic} goes through Deno's thread pool and leaves its caller's
 * thread free meanwhile; {@linkcode writeAtomicSync} makes its calls on the caller's thread,
 * which costs less than half the CPU (no hand-over to the pool and back) and suits a Worker whose
 * job is writing (the Scribe's). {@linkcode stageDurable} writes a file under its temporary name
 * and leaves it there, made durable by the caller's means (the File Juggler's writing thread),
 * for the caller to rename into place.
 *
 * @module
 */

import { dirname } from "node:path";

let counter = 0;

/**
 * `<name>.<pid>.<n>.tmp` beside the file, its name cut to 200 characters: a file system's names
 * have at most 255 bytes, and a name near that (a long wheel's `.metadata`) failed to be written.
 */
function tempName(path: string): string {
  const slash = path.lastIndexOf("/");
  const cut = path.length - slash - 1 > 200 ? path.slice(0, slash + 201) : path;
  return `${cut}.${Deno.pid}.${++counter}.tmp`;
}

/**
 * Whether a file's name is that of a temporary file of these writes (`<name>.<pid>.<n>.tmp`):
 * one a master killed mid-write left behind (piw-audit reports them).
 */
export function isTemporaryName(name: string): boolean {
  return /\.\d+\.\d+\.tmp$/.test(name);
}

async function write(path: string, data: string | Uint8Array): Promise<void> {
  if (typeof data === "string") await Deno.writeTextFile(path, data);
  else await Deno.writeFile(path, data);
}

/**
 * The size of the buffer {@linkcode writeSync} encodes text into (a page fits; larger text is
 * encoded on its own).
 */
const SCRATCH_BYTES = 256 * 1024;
let scratch: Uint8Array | undefined;
const encoder = new TextEncoder();

/**
 * Writes a file on the caller's thread; text is encoded into one buffer kept for the purpose
 * (allocating a fresh array for each page cost the Scribe's Worker garbage collections).
 */
function writeSync(path: string, data: string | Uint8Array): void {
  if (typeof data === "string") {
    if (data.length <= SCRATCH_BYTES) {
      scratch ??= new Uint8Array(SCRATCH_BYTES);
      const { read, written } = encoder.encodeInto(data, scratch);
      if (read === data.length) return Deno.writeFileSync(path, scratch.subarray(0, written));
    }
    Deno.writeTextFileSync(path, data);
  } else Deno.writeFileSync(path, data);
}

/**
 * Writes `data` to `path` atomically. A missing parent directory is made (with its own parents)
 * when the first write finds it missing, so that writing where the directory is costs no call to
 * make it.
 */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = tempName(path);
  try {
    try {
      await write(temp, data);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.mkdir(dirname(path), { recursive: true });
      await write(temp, data);
    }
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/** {@linkcode writeAtomic} on the caller's thread. */
export function writeAtomicSync(path: string, data: string | Uint8Array): void {
  const temp = tempName(path);
  try {
    try {
      writeSync(temp, data);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      Deno.mkdirSync(dirname(path), { recursive: true });
      writeSync(temp, data);
    }
    Deno.renameSync(temp, path);
  } catch (e) {
    try {
      Deno.removeSync(temp);
    } catch {
      // there was no temporary file
    }
    throw e;
  }
}

/**
 * How {@linkcode stageDurable} creates a file (mode 0644; it must not exist) holding `data` and
 * makes it durable.
 */
export type WriteDurable = (path: string, data: Uint8Array) => Promise<void>;

/**
 * Writes `data` to a temporary file beside `path` and makes it durable (with `write`), without
 * putting it in place: the caller renames it over `path` when the rest is ready
 * (`Deno.renameSync`), or removes it. Resolves to the temporary file's path.
 */
export async function stageDurable(
  path: string,
  data: Uint8Array,
  write: WriteDurable,
): Promise<string> {
  const temp = tempName(path);
  try {
    await write(temp, data);
    return temp;
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}
