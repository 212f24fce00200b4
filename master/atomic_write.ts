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
