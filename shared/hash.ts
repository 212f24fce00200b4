/**
 * SHA-256 of byte strings and files, as lower-case hex (the form the protocols carry).
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Lower-case hex of bytes. */
export function encodeHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** The SHA-256 of bytes, as lower-case hex. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The SHA-256 of a file's contents (read in streaming fashion), as lower-case hex. When `signal`
 * aborts, it stops before the next MiB and rejects with the signal's reason.
 */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(1 << 20);
    for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
      signal?.throwIfAborted();
      hash.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}
