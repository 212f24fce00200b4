/**
 * Writing the web output so that a reader (Apache, pip) never sees a half-written file: every
 * file is written to a temporary name in the same directory and renamed into place. Parent
 * directories are created only when the write finds one missing, so that rewriting a file
 * costs no directory lookups.
 *
 * Two flavours: {@linkcode writeAtomic} lets the thread go on while the file system works (for
 * a task that must keep answering peers); {@linkcode writeAtomicSync} holds the thread for
 * those few system calls instead of a hop to Deno's blocking pool and back for each, which
 * costs the thread far less per file (the Scribe's pages: a full rewrite of the site writes
 * 40,000 of them).
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
  const temp = tempName(path);
  try {
    try {
      await writeTemp(temp, data);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.mkdir(dirname(path), { recursive: true });
      await writeTemp(temp, data);
    }
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

async function writeTemp(temp: string, data: string | Uint8Array): Promise<void> {
  if (typeof data === "string") await Deno.writeTextFile(temp, data);
  else await Deno.writeFile(temp, data);
}

/** {@linkcode writeAtomic}, holding the thread until the file is in place. */
export function writeAtomicSync(path: string, data: string | Uint8Array): void {
  const temp = tempName(path);
  try {
    try {
      writeTempSync(temp, data);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      Deno.mkdirSync(dirname(path), { recursive: true });
      writeTempSync(temp, data);
    }
    Deno.renameSync(temp, path);
  } catch (e) {
    try {
      Deno.removeSync(temp);
    } catch {
      // never written
    }
    throw e;
  }
}

function writeTempSync(temp: string, data: string | Uint8Array): void {
  if (typeof data === "string") Deno.writeTextFileSync(temp, data);
  else Deno.writeFileSync(temp, data);
}
