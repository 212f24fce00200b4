/**
 * Commands byte for byte: READY as libzmq 4.3.4 sends it (captured from python3-zmq), ERROR,
 * PING/PONG and SUBSCRIBE/CANCEL as RFC 37 lays them out.
 */

import { encodeHex } from "../hash.ts";
import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { fromHex } from "../../tests/zmq_support.ts";
import {
  encodeCommand,
  encodeError,
  encodePing,
  encodePong,
  encodeReady,
  errorReason,
  parseCommand,
  parseMetadata,
  pingTtl,
} from "./command.ts";
import { ZmqError } from "./errors.ts";

const text = new TextEncoder();

/** libzmq's READY from a DEALER whose routing id is "me". */
const LIBZMQ_DEALER_READY = "04 2b 05 5245414459" +
  " 0b 536f636b65742d54797065 00000006 4445414c4552" +
  " 08 4964656e74697479 00000002 6d65";

Deno.test("command: READY with Socket-Type and Identity is byte-exact with libzmq", () => {
  assertEquals(
    encodeHex(encodeReady("DEALER", text.encode("me"))),
    encodeHex(fromHex(LIBZMQ_DEALER_READY)),
  );
  assertEquals(
    encodeHex(encodeReady("SUB")),
    "0419055245414459" + "0b536f636b65742d54797065" + "00000003" + "535542",
  );
});

Deno.test("command: READY metadata decodes, names case-insensitively", () => {
  const { name, data } = parseCommand(fromHex(LIBZMQ_DEALER_READY).subarray(2));
  assertEquals(name, "READY");
  const metadata = parseMetadata(data);
  assertEquals([...metadata.keys()], ["socket-type", "identity"]);
  assertEquals(new TextDecoder().decode(metadata.get("socket-type")), "DEALER");
  assertEquals(new TextDecoder().decode(metadata.get("identity")), "me");
  assertEquals(parseMetadata(new Uint8Array(0)).size, 0);
});

Deno.test("command: malformed commands and metadata are protocol errors", () => {
  assertThrows(() => parseCommand(new Uint8Array(0)), ZmqError, "command name");
  assertThrows(() => parseCommand(fromHex("05 5245")), ZmqError, "command name");
  assertThrows(() => parseMetadata(fromHex("0b 536f636b6574")), ZmqError, "metadata");
  assertThrows(() => parseMetadata(fromHex("01 41 000000ff 00")), ZmqError, "overruns");
  assertThrows(() => parseMetadata(fromHex("00 00000000")), ZmqError, "metadata");
});

Deno.test("command: PING carries a TTL in deciseconds and a context; PONG echoes the context", () => {
  const ping = encodePing(10, text.encode("ab"));
  assertEquals(encodeHex(ping), "0409" + "0450494e47" + "000a" + "6162");
  const { name, data } = parseCommand(ping.subarray(2));
  assertEquals([name, pingTtl(data)], ["PING", 1000]);
  assertEquals(encodeHex(encodePong(data)), "0407" + "04504f4e47" + "6162");
  assertEquals(pingTtl(new Uint8Array(0)), 0);
});

Deno.test("command: SUBSCRIBE and CANCEL are byte-exact with libzmq", () => {
  assertEquals(
    encodeHex(encodeCommand("SUBSCRIBE", text.encode("abc"))),
    "040d09535542534352494245616263",
  );
  assertEquals(encodeHex(encodeCommand("CANCEL", text.encode("abc"))), "040a0643414e43454c616263");
});

Deno.test("command: ERROR carries a reason of up to 255 bytes", () => {
  const error = encodeError("bad socket type");
  assertEquals(
    encodeHex(error),
    "0416" + "054552524f52" + "0f" + encodeHex(text.encode("bad socket type")),
  );
  assertEquals(errorReason(parseCommand(error.subarray(2)).data), "bad socket type");
  assertEquals(encodeError("x".repeat(400)).length, 9 + 1 + 5 + 1 + 255);
});
