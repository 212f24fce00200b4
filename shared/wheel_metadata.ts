/**
 * The core metadata of a wheel (its `*.dist-info/METADATA`), read straight out of the zip
 * archive: the Scribe publishes it beside the wheel for PEP 658/714 and the index shows its
 * `Requires-Python`. The archive comes from a build slave, so every offset and size is checked
 * and the file read is bounded.
 *
 * @module
 */

import { readAt as readBytes } from "./read_at.ts";

/** Raised when a wheel's archive or metadata cannot be read. */
export class WheelMetadataError extends Error {
  override name = "WheelMetadataError";
}

/** The most METADATA we accept (uncompressed). */
const MAX_METADATA = 16 * 1024 * 1024;
const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
/** A field the classic records could not hold: its value is in a ZIP64 record. */
const ZIP64_16 = 0xffff;
const ZIP64_32 = 0xffffffff;

/** Where a wheel's bytes are read from: the file, or the bytes themselves. */
interface Source {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array> | Uint8Array;
  close(): void;
}

async function open(wheel: string | Uint8Array): Promise<Source> {
  if (wheel instanceof Uint8Array) {
    return {
      size: wheel.length,
      read(offset, length) {
        if (offset < 0 || offset + length > wheel.length) {
          throw new WheelMetadataError("unexpected end of archive");
        }
        return wheel.subarray(offset, offset + length);
      },
      close() {},
    };
  }
  const file = await Deno.open(wheel, { read: true });
  try {
    const size = (await file.stat()).size;
    return {
      size,
      read: (offset, length) =>
        readBytes(file, offset, length, () => new WheelMetadataError("unexpected end of archive")),
      close: () => file.close(),
    };
  } catch (e) {
    file.close();
    throw e;
  }
}

async function inflate(data: Uint8Array, expected: number): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(
    new DecompressionStream("deflate-raw"),
  );
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > MAX_METADATA || total > expected) {
        throw new WheelMetadataError("METADATA inflates beyond its declared size");
      }
      parts.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    if (e instanceof WheelMetadataError) throw e;
    throw new WheelMetadataError(`cannot inflate METADATA: ${(e as Error).message}`);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The bytes of the wheel's `<name>.dist-info/METADATA`, from the wheel at a path or from its
 * bytes. Throws {@linkcode WheelMetadataError} when the archive is malformed, holds no such
 * file (or several), or it is too large.
 */
export async function readWheelMetadata(wheel: string | Uint8Array): Promise<Uint8Array> {
  const file = await open(wheel);
  try {
    const size = file.size;
    const tailSize = Math.min(size, 65535 + 22);
    const tail = await file.read(size - tailSize, tailSize);
    const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new WheelMetadataError("not a zip archive (no end of central directory)");
    let entries = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    if (
      (entries === ZIP64_16 || cdSize === ZIP64_32 || cdOffset === ZIP64_32) && eocd >= 20 &&
      tv.getUint32(eocd - 20, true) === ZIP64_LOCATOR_SIGNATURE
    ) {
      // ZIP64: more than 65,535 entries (or 4 GiB), as Python's zipfile writes them
      const at = Number(tv.getBigUint64(eocd - 12, true));
      if (at + 56 > size) throw new WheelMetadataError("ZIP64 record lies outside the archive");
      const record = await file.read(at, 56);
      const rv = new DataView(record.buffer, record.byteOffset, record.byteLength);
      if (rv.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) {
        throw new WheelMetadataError("corrupt ZIP64 end of central directory");
      }
      entries = Number(rv.getBigUint64(32, true));
      cdSize = Number(rv.getBigUint64(40, true));
      cdOffset = Number(rv.getBigUint64(48, true));
    }
    if (cdOffset + cdSize > size || cdSize > 64 * 1024 * 1024) {
      throw new WheelMetadataError("central directory lies outside the archive");
    }
    const cd = await file.read(cdOffset, cdSize);
    const cv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
    const decoder = new TextDecoder();
    const found: { method: number; compressed: number; uncompressed: number; local: number }[] = [];
    let p = 0;
    for (let i = 0; i < entries; i++) {
      if (p + 46 > cd.length || cv.getUint32(p, true) !== CENTRAL_SIGNATURE) {
        throw new WheelMetadataError("corrupt central directory");
      }
      const nameLen = cv.getUint16(p + 28, true);
      const extraLen = cv.getUint16(p + 30, true);
      const commentLen = cv.getUint16(p + 32, true);
      if (p + 46 + nameLen > cd.length) throw new WheelMetadataError("corrupt central directory");
      const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
      if (/^[^/]+\.dist-info\/METADATA$/.test(name)) {
        const entry = {
          method: cv.getUint16(p + 10, true),
          compressed: cv.getUint32(p + 20, true),
          uncompressed: cv.getUint32(p + 24, true),
          local: cv.getUint32(p + 42, true),
        };
        zip64Extra(cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), entry);
        found.push(entry);
      }
      p += 46 + nameLen + extraLen + commentLen;
    }
    if (found.length !== 1) {
      throw new WheelMetadataError(`expected one *.dist-info/METADATA, found ${found.length}`);
    }
    const entry = found[0]!;
    if (entry.uncompressed > MAX_METADATA || entry.compressed > MAX_METADATA) {
      throw new WheelMetadataError("METADATA is too large");
    }
    const header = await file.read(entry.local, 30);
    const hv = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (hv.getUint32(0, true) !== LOCAL_SIGNATURE) {
      throw new WheelMetadataError("corrupt local header");
    }
    const start = entry.local + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    if (start + entry.compressed > size) {
      throw new WheelMetadataError("METADATA lies outside the archive");
    }
    const data = await file.read(start, entry.compressed);
    if (entry.method === 0) return data;
    if (entry.method === 8) return await inflate(data, entry.uncompressed);
    throw new WheelMetadataError(`unsupported compression method ${entry.method}`);
  } finally {
    file.close();
  }
}

/**
 * Takes from an entry's ZIP64 extra field (id 1) the sizes and offset its classic fields could
 * not hold (those set to 0xffffffff), in the order the format gives them.
 */
function zip64Extra(
  extra: Uint8Array,
  entry: { compressed: number; uncompressed: number; local: number },
): void {
  const v = new DataView(extra.buffer, extra.byteOffset, extra.byteLength);
  for (let p = 0; p + 4 <= extra.length;) {
    const id = v.getUint16(p, true);
    const length = v.getUint16(p + 2, true);
    if (id === 1) {
      let at = p + 4;
      const next = () => {
        if (at + 8 > p + 4 + length || at + 8 > extra.length) {
          throw new WheelMetadataError("corrupt ZIP64 extra field");
        }
        const value = Number(v.getBigUint64(at, true));
        at += 8;
        return value;
      };
      if (entry.uncompressed === ZIP64_32) entry.uncompressed = next();
      if (entry.compressed === ZIP64_32) entry.compressed = next();
      if (entry.local === ZIP64_32) entry.local = next();
      return;
    }
    p += 4 + length;
  }
}

/** The value of a header (e.g. `Requires-Python`) in core metadata text, or null. */
export function metadataField(metadata: Uint8Array | string, field: string): string | null {
  const text = typeof metadata === "string" ? metadata : new TextDecoder().decode(metadata);
  const head = text.split(/\r?\n\r?\n/, 1)[0] ?? "";
  const wanted = field.toLowerCase();
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) {
      return line.slice(colon + 1).trim();
    }
  }
  return null;
}
