/**
 * Writing the web output so that a reader (Apache, pip) never sees a half-written file: every
 * file is written to a temporary name in the same directory and renamed into place, and
 * symbolic links are replaced the same way.
 *
 * @module
 */

import { dirname } from "node:path";

let counter = 0;

function tempName(path: string): string {
  return `${path}.${Deno.pid}.${++counter}.tmp`;
}

/** Writes `data` to `path` atomically, creating parent directories as needed. */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = tempName(path);
  try {
    if (typeof data === "string") await Deno.writeTextFile(temp, data);
    else await Deno.writeFile(temp, data);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/** Points the symbolic link `path` at `target` atomically (replacing whatever was there). */
export async function symlinkAtomic(target: string, path: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = tempName(path);
  try {
    await Deno.symlink(target, temp);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}
