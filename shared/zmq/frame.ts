/**
 * ZMTP 3.x frames (RFC 23/37): a flags byte (MORE, LONG, COMMAND) and a size of one byte, or of
 * eight bytes big-endian for bodies over 255 bytes, then the body.
 *
 * @module
 */

import { ZmqError } from "./errors.ts";

/** Another frame of the same message follows. */
export const FLAG_MORE = 0x01;
/** The size is eight bytes long. */
export const FLAG_LONG = 0x02;
/** The frame is a command, not message data. */
export const FLAG_COMMAND = 0x04;

/** The largest size a long header can carry that a JavaScript number holds exactly. */
const MAX_HIGH_WORD = 0x1fffff;

/** A decoded frame header. */
export interface FrameHeader {
  /** The flags byte (without reserved bits: those are refused). */
  flags: number;
  /** The body's size in bytes. */
  size: number;
  /** The header's own size: 2 or 9 bytes. */
  headerSize: number;
}

/** The header size a body of `size` bytes needs. */
export function headerSize(size: number): number {
  return size > 255 ? 9 : 2;
}

/** Writes a frame header into `out` at `at` (LONG is set as the size needs); returns the end. */
export function writeHeader(out: Uint8Array, at: number, flags: number, size: number): number {
  if (size <= 255) {
    out[at] = flags;
    out[at + 1] = size;
    return at + 2;
  }
  out[at] = flags | FLAG_LONG;
  const high = Math.floor(size / 0x100000000);
  const low = size >>> 0;
  out[at + 1] = high >>> 24;
  out[at + 2] = (high >>> 16) & 0xff;
  out[at + 3] = (high >>> 8) & 0xff;
  out[at + 4] = high & 0xff;
  out[at + 5] = low >>> 24;
  out[at + 6] = (low >>> 16) & 0xff;
  out[at + 7] = (low >>> 8) & 0xff;
  out[at + 8] = low & 0xff;
  return at + 9;
}

/**
 * Reads the frame header at `at` in `buf` (bytes up to `end` are valid) into `out`, returning
 * false when the header is not complete yet. Reserved flag bits and sizes beyond 2^53 are
 * protocol errors.
 */
export function readHeader(buf: Uint8Array, at: number, end: number, out: FrameHeader): boolean {
  if (end - at < 2) return false;
  const flags = buf[at]!;
  if (flags & 0xf8) {
    throw new ZmqError("EPROTO", `reserved frame flag bits set (0x${flags.toString(16)})`);
  }
  out.flags = flags;
  if (!(flags & FLAG_LONG)) {
    out.size = buf[at + 1]!;
    out.headerSize = 2;
    return true;
  }
  if (end - at < 9) return false;
  const high = readUint32(buf, at + 1);
  if (high > MAX_HIGH_WORD) throw new ZmqError("EPROTO", "frame size beyond 2^53 bytes");
  out.size = high * 0x100000000 + readUint32(buf, at + 5);
  out.headerSize = 9;
  return true;
}

/** Encodes a whole frame (header and body) into a new array. */
export function encodeFrame(flags: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerSize(body.length) + body.length);
  out.set(body, writeHeader(out, 0, flags, body.length));
  return out;
}

/** Reads a 32-bit big-endian unsigned integer. */
export function readUint32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) >>> 0) + (buf[at + 1]! << 16) + (buf[at + 2]! << 8) + buf[at + 3]!;
}
