/**
 * The NaCl primitives CurveZMQ is built on, over the audited pure-JS `@noble/curves` (X25519)
 * and `@noble/ciphers` (XSalsa20-Poly1305): `crypto_box_keypair`, `crypto_box_beforenm` (the
 * X25519 shared secret hashed with HSalsa20), and boxes sealed and opened under such a key or a
 * `crypto_secretbox` key. A box here is what NaCl's functions make minus their 16 zero bytes:
 * the 16-byte Poly1305 tag, then the ciphertext, as CurveZMQ puts it on the wire.
 *
 * `@noble/*` was chosen over `tweetnacl` (both audited) by `tests/bench/zmq_crypto.ts` when it
 * measured both on our build machine: box/unbox of 64 KiB 171/170 MB/s against 143/136 MB/s,
 * of 1 MiB 155/160 against 134/125, and X25519 1,119 against 923 per second.
 *
 * @module
 */

import { hsalsa, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { ZmqError } from "./errors.ts";

/** The size of a key (public, secret or precomputed) and of a tag's overhead, in bytes. */
export const KEY_SIZE = 32;
/** What a box adds to its plaintext: the Poly1305 tag. */
export const TAG_SIZE = 16;
/** The size of a nonce. */
export const NONCE_SIZE = 24;

/** "expand 32-byte k", the Salsa20 constant, as little-endian words. */
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** A CURVE key pair. */
export interface KeyPair {
  /** The public key (32 bytes). */
  publicKey: Uint8Array;
  /** The secret key (32 bytes). */
  secretKey: Uint8Array;
}

/** A new random key pair (`crypto_box_keypair`). */
export function keyPair(): KeyPair {
  const { publicKey, secretKey } = x25519.keygen();
  return { publicKey, secretKey };
}

/** The public key of a secret key. */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/**
 * The key boxes between `secretKey`'s owner and `publicKey`'s use (`crypto_box_beforenm`). A
 * public key of low order (no shared secret) is a protocol error, as in libsodium.
 */
export function precompute(publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    throw new ZmqError("EPROTO", "a CURVE public key with no shared secret (low order)");
  }
  const words = new Uint32Array(8);
  hsalsa(SIGMA, new Uint32Array(shared.buffer, shared.byteOffset, 8), new Uint32Array(4), words);
  shared.fill(0);
  return new Uint8Array(words.buffer);
}

/** Seals `plaintext` under a precomputed or secretbox key: the tag, then the ciphertext. */
export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return xsalsa20poly1305(key, nonce).encrypt(plaintext);
}

/**
 * Seals in place: `region` holds 32 bytes of room, then the plaintext; afterwards its bytes
 * from 16 on are the box (tag, then ciphertext), and the first 16 are to be overwritten.
 */
export function sealInPlace(key: Uint8Array, nonce: Uint8Array, region: Uint8Array): void {
  xsalsa20poly1305(key, nonce).encrypt(region.subarray(32), region);
}

/** Opens a box (tag, then ciphertext): the plaintext, or undefined if it is not authentic. */
export function open(key: Uint8Array, nonce: Uint8Array, box: Uint8Array): Uint8Array | undefined {
  if (box.length < TAG_SIZE) return undefined;
  try {
    return xsalsa20poly1305(key, nonce).decrypt(box);
  } catch {
    return undefined;
  }
}

/** Random bytes (crypto.getRandomValues, which serves at most 64 KiB at a time). */
export function randomBytes(size: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(size));
}
