/**
 * Z85 (ZeroMQ RFC 32): binary as printable text, 5 characters per 4 bytes, the form CURVE keys
 * take in options and certificates (a 32-byte key is 40 characters).
 *
 * @module
 */

import { ZmqError } from "./errors.ts";

const ALPHABET =
  "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Each character's value (-1: not in the alphabet), by character code. */
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes (a multiple of 4 of them) as Z85 text. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) {
    throw new ZmqError("EINVAL", `Z85 encodes a multiple of 4 bytes, not ${bytes.length}`);
  }
  let text = "";
  for (let at = 0; at < bytes.length; at += 4) {
    let value = ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) +
      bytes[at + 3]!;
    const chunk = new Array<string>(5);
    for (let i = 4; i >= 0; i--) {
      chunk[i] = ALPHABET[value % 85]!;
      value = Math.floor(value / 85);
    }
    text += chunk.join("");
  }
  return text;
}

/** Decodes Z85 text (a multiple of 5 characters of the alphabet) to bytes. */
export function z85Decode(text: string): Uint8Array {
  if (text.length % 5 !== 0) {
    throw new ZmqError("EINVAL", `Z85 text is a multiple of 5 characters, not ${text.length}`);
  }
  const bytes = new Uint8Array((text.length / 5) * 4);
  for (let at = 0; at < text.length; at += 5) {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const code = text.charCodeAt(at + i);
      const digit = code < 128 ? VALUES[code]! : -1;
      if (digit < 0) {
        throw new ZmqError(
          "EINVAL",
          `not a Z85 character at ${at + i}: ${JSON.stringify(text[at + i])}`,
        );
      }
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw new ZmqError("EINVAL", `Z85 group at ${at} exceeds 32 bits`);
    const out = (at / 5) * 4;
    bytes[out] = value >>> 24;
    bytes[out + 1] = (value >>> 16) & 0xff;
    bytes[out + 2] = (value >>> 8) & 0xff;
    bytes[out + 3] = value & 0xff;
  }
  return bytes;
}
