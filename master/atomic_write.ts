/**
 * Writing the web output so that a reader (Apache, pip) never sees a half-written file: every
 * file is written to a temporary name in the same directory and renamed into place.
 *
 * @module
 */

import { dirname } from "node:path";

let counter = 0;

function tempName(path: string): string {
  return `${path}.${Deno.pid}.${++counter}.tmp`;
}

async function write(path: string, data: string | Uint8Array): Promise<void> {
  if (typeof data === "string") await Deno.writeTextFile(path, data);
  else await Deno.writeFile(path, data);
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
