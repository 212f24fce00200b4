/** The greeting byte for byte as RFC 23/37 lay it out, and the checks on a peer's. */

import { encodeHex } from "../hash.ts";
import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { fromHex } from "../../tests/zmq_support.ts";
import { ZmqError } from "./errors.ts";
import { checkGreetingStart, encodeGreeting, parseGreeting } from "./greeting.ts";

const RFC_GREETING = "ff 0000000000000000 7f" + // signature
  " 03 01" + // version 3.1
  " 4e554c4c" + "00".repeat(16) + // "NULL", padded to 20 bytes
  " 00" + // as-server
  "00".repeat(31); // filler

Deno.test("greeting: ours is ZMTP 3.1 with the NULL mechanism, 64 bytes", () => {
  assertEquals(encodeHex(encodeGreeting()), encodeHex(fromHex(RFC_GREETING)));
});

Deno.test("greeting: a peer's greeting decodes (libzmq's signature padding is accepted)", () => {
  const libzmq = fromHex(RFC_GREETING);
  libzmq[8] = 3; // libzmq puts its routing id length + 1 in the padding, for ZMTP 1.0 peers
  assertEquals(parseGreeting(libzmq), { major: 3, minor: 1, mechanism: "NULL", asServer: false });
  const plain = fromHex(RFC_GREETING);
  plain.set(new TextEncoder().encode("PLAIN"), 12);
  plain[11] = 0;
  plain[32] = 1;
  assertEquals(parseGreeting(plain), { major: 3, minor: 0, mechanism: "PLAIN", asServer: true });
});

Deno.test("greeting: a wrong signature or an old version is refused at its first byte", () => {
  assertThrows(() => checkGreetingStart(fromHex("47"), 1), ZmqError, "signature");
  assertThrows(
    () => checkGreetingStart(fromHex("ff0000000000000000 7e"), 10),
    ZmqError,
    "signature",
  );
  assertThrows(() => checkGreetingStart(fromHex("ff0000000000000000 7f 02"), 11), ZmqError, "2.x");
  checkGreetingStart(fromHex("ff0000000000000000 7f 03"), 11);
  assertThrows(() => parseGreeting(fromHex(RFC_GREETING).subarray(0, 40)), ZmqError, "short");
});

Deno.test("greeting: a CURVE server's names CURVE and sets the as-server flag", () => {
  const curve = fromHex(RFC_GREETING);
  curve.set(new TextEncoder().encode("CURVE\0"), 12);
  curve[32] = 1;
  assertEquals(encodeHex(encodeGreeting("CURVE", true)), encodeHex(curve));
  assertEquals(parseGreeting(encodeGreeting("CURVE", false)).asServer, false);
});
