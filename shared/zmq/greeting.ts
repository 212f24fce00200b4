/**
 * The ZMTP 3.x greeting (RFC 23/37): a 10-byte signature, the version, the security mechanism,
 * the as-server flag and filler, 64 bytes in all. We speak 3.1 with the NULL or CURVE mechanism.
 *
 * @module
 */

import { ZmqError } from "./errors.ts";

/** The size of a greeting. */
export const GREETING_SIZE = 64;

const latin1 = new TextDecoder("latin1");

/** What a peer's greeting says. */
export interface Greeting {
  /** The major version (3 for ZMTP 3.x). */
  major: number;
  /** The minor version: 0 for ZMTP 3.0, 1 for 3.1. */
  minor: number;
  /** The security mechanism, e.g. `NULL`. */
  mechanism: string;
  /** The as-server flag (meaningful for PLAIN and CURVE only). */
  asServer: boolean;
}

/**
 * Our greeting: ZMTP 3.1 with a mechanism (`NULL` unless given: `CURVE`) and the as-server flag
 * (a CURVE server sets it).
 */
export function encodeGreeting(mechanism = "NULL", asServer = false): Uint8Array {
  const out = new Uint8Array(GREETING_SIZE);
  out[0] = 0xff;
  out[9] = 0x7f;
  out[10] = 3;
  out[11] = 1;
  new TextEncoder().encodeInto(mechanism, out.subarray(12, 32));
  out[32] = asServer ? 1 : 0;
  return out;
}

/**
 * Checks what has arrived of a greeting so far (`length` bytes), so that a peer that is not
 * speaking ZMTP 3 is refused at its first wrong byte rather than after 64.
 */
export function checkGreetingStart(bytes: Uint8Array, length: number): void {
  if (length >= 1 && bytes[0] !== 0xff) {
    throw new ZmqError("EPROTO", "not a ZMTP greeting (bad signature)");
  }
  if (length >= 10 && (bytes[9]! & 1) !== 1) {
    throw new ZmqError("EPROTO", "not a ZMTP greeting (bad signature)");
  }
  if (length >= 11 && bytes[10]! < 3) {
    throw new ZmqError("EPROTO", `ZMTP ${bytes[10]}.x is not supported (3.x only)`);
  }
}

/** Decodes a whole greeting. */
export function parseGreeting(bytes: Uint8Array): Greeting {
  checkGreetingStart(bytes, bytes.length);
  if (bytes.length < GREETING_SIZE) throw new ZmqError("EPROTO", "short greeting");
  const mechanism = latin1.decode(bytes.subarray(12, 32)).replace(/\0+$/, "");
  return { major: bytes[10]!, minor: bytes[11]!, mechanism, asServer: bytes[32] === 1 };
}
