/** Frame headers byte for byte as RFC 23/37 lay them out. */

import { encodeHex } from "../hash.ts";
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { fromHex } from "../../tests/zmq_support.ts";
import { ZmqError } from "./errors.ts";
import {
  encodeFrame,
  FLAG_COMMAND,
  FLAG_MORE,
  type FrameHeader,
  readHeader,
  writeHeader,
} from "./frame.ts";

function header(bytes: Uint8Array): FrameHeader | undefined {
  const out = { flags: -1, size: -1, headerSize: -1 };
  return readHeader(bytes, 0, bytes.length, out) ? out : undefined;
}

Deno.test("frame: a short frame is flags, a one-byte size and the body", () => {
  assertEquals(encodeHex(encodeFrame(0, new TextEncoder().encode("hello"))), "000568656c6c6f");
  assertEquals(encodeHex(encodeFrame(FLAG_MORE, new Uint8Array(0))), "0100");
  assertEquals(encodeHex(encodeFrame(0, new Uint8Array(255)).subarray(0, 2)), "00ff");
});

Deno.test("frame: a body over 255 bytes gets the LONG flag and an 8-byte big-endian size", () => {
  const frame = encodeFrame(FLAG_MORE, new Uint8Array(256).fill(7));
  assertEquals(encodeHex(frame.subarray(0, 10)), "03000000000000010007");
  assertEquals(frame.length, 9 + 256);
  const big = new Uint8Array(9);
  writeHeader(big, 0, 0, 0x0123456789);
  assertEquals(encodeHex(big), "020000000123456789");
});

Deno.test("frame: headers decode, and an incomplete header asks for more bytes", () => {
  assertEquals(header(fromHex("0105")), { flags: 1, size: 5, headerSize: 2 });
  assertEquals(header(fromHex("04 1a")), { flags: FLAG_COMMAND, size: 26, headerSize: 2 });
  assertEquals(header(fromHex("03 0000000123456789")), {
    flags: 3,
    size: 0x0123456789,
    headerSize: 9,
  });
  assertEquals(header(fromHex("01")), undefined);
  assertEquals(header(fromHex("02 00000000000001")), undefined);
});

Deno.test("frame: reserved flag bits and sizes beyond 2^53 are protocol errors", () => {
  const e = assertThrows(() => header(fromHex("0800")), ZmqError, "reserved");
  assertEquals(e.code, "EPROTO");
  assertThrows(() => header(fromHex("02 0020000000000000")), ZmqError, "2^53");
  assert(header(fromHex("02 001fffffffffffff")));
});
