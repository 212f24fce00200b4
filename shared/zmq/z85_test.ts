/** Z85 against ZeroMQ RFC 32's test vector, libzmq's key examples, and the checks on bad text. */

import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { fromHex } from "../../tests/zmq_support.ts";
import { ZmqError } from "./errors.ts";
import { z85Decode, z85Encode } from "./z85.ts";

Deno.test("z85: RFC 32's test vector, both ways", () => {
  const bytes = fromHex("86 4F D2 6F B5 59 F7 5B");
  assertEquals(z85Encode(bytes), "HelloWorld");
  assertEquals(z85Decode("HelloWorld"), bytes);
});

Deno.test("z85: a 32-byte key is 40 characters and round-trips; the extremes encode", () => {
  const key = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
  const text = z85Encode(key);
  assertEquals(text.length, 40);
  assertEquals(z85Decode(text), key);
  assertEquals(z85Encode(new Uint8Array(4)), "00000");
  assertEquals(z85Encode(new Uint8Array(4).fill(0xff)), "%nSc0");
  assertEquals(z85Decode("%nSc0"), new Uint8Array(4).fill(0xff));
});

Deno.test("z85: wrong lengths, foreign characters and groups over 32 bits are refused", () => {
  assertThrows(() => z85Encode(new Uint8Array(3)), ZmqError, "multiple of 4");
  assertThrows(() => z85Decode("Hello" + "Worl"), ZmqError, "multiple of 5");
  assertThrows(() => z85Decode("Hello Worl"), ZmqError, 'not a Z85 character at 5: " "');
  assertThrows(() => z85Decode("Hell\u00e9"), ZmqError, "not a Z85 character at 4");
  assertThrows(() => z85Decode("%nSc1"), ZmqError, "exceeds 32 bits");
  assertThrows(() => z85Decode("#####"), ZmqError, "exceeds 32 bits");
});
