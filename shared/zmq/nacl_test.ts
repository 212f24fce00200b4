/** The NaCl primitives against NaCl's own test vector, and their refusals. */

import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { fromHex } from "../../tests/zmq_support.ts";
import { ZmqError } from "./errors.ts";
import { keyPair, open, precompute, publicKeyOf, seal, sealInPlace } from "./nacl.ts";

// NaCl's tests (box7, core/hsalsa20): Alice's secret key, Bob's public key, their "firstkey"
const ALICE_SECRET = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const ALICE_PUBLIC = fromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
const BOB_PUBLIC = fromHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
const FIRST_KEY = fromHex("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389");

Deno.test("nacl: crypto_box_beforenm and the public key match NaCl's test vector", () => {
  assertEquals(precompute(BOB_PUBLIC, ALICE_SECRET), FIRST_KEY);
  assertEquals(publicKeyOf(ALICE_SECRET), ALICE_PUBLIC);
});

Deno.test("nacl: both sides of a key pair agree; boxes open once, and not when touched", () => {
  const a = keyPair();
  const b = keyPair();
  const key = precompute(b.publicKey, a.secretKey);
  assertEquals(precompute(a.publicKey, b.secretKey), key);
  const nonce = new Uint8Array(24).fill(7);
  const plain = new TextEncoder().encode("CurveZMQ");
  const box = seal(key, nonce, plain);
  assertEquals(box.length, plain.length + 16);
  assertEquals(open(key, nonce, box), plain);
  const touched = box.slice();
  touched[3]! ^= 0x80;
  assertEquals(open(key, nonce, touched), undefined);
  assertEquals(open(key, new Uint8Array(24), box), undefined);
  assertEquals(open(key, nonce, box.subarray(0, 15)), undefined);
  const region = new Uint8Array(32 + plain.length);
  region.set(plain, 32);
  sealInPlace(key, nonce, region);
  assertEquals(region.subarray(16), box);
});

Deno.test("nacl: a low-order public key (no shared secret) is a protocol error", () => {
  const error = assertThrows(() => precompute(new Uint8Array(32), keyPair().secretKey), ZmqError);
  assert(error.message.includes("low order"), error.message);
});
