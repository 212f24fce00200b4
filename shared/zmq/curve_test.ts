/**
 * The CURVE handshake and MESSAGE boxes in memory, client against server: the commands' layout
 * as RFC 26 and libzmq have it, and every check an attacker meets (a wrong server key, a
 * replayed or tampered MESSAGE, a foreign cookie or vouch, commands out of order).
 */

import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { CurveClient, type CurveCodec, CurveServer, SEALED_COMMAND, SEALED_MORE } from "./curve.ts";
import { ZmqError } from "./errors.ts";
import { type KeyPair, keyPair } from "./nacl.ts";

const text = new TextDecoder();
const encoder = new TextEncoder();

/** A command frame's body (the frames here are all short or long command frames). */
function body(frame: Uint8Array): Uint8Array {
  return frame.subarray(frame[0]! & 0x02 ? 9 : 2);
}

/** A sealed frame as the codec writes it. */
function sealed(codec: CurveCodec, flags: number, frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(codec.sealedSize(frame.length));
  assertEquals(codec.seal(out, 0, flags, frame), out.length);
  return out;
}

interface Pair {
  server: KeyPair;
  client: KeyPair;
  clientCodec: CurveCodec;
  serverCodec: CurveCodec;
  clientKeySeen: Uint8Array;
  metadata: { server: Uint8Array; client: Uint8Array };
  frames: Uint8Array[];
}

function handshake(): Pair {
  const server = keyPair();
  const client = keyPair();
  const c = new CurveClient({ ...client, serverKey: server.publicKey });
  const s = new CurveServer(server.secretKey, server.publicKey);
  const hello = c.hello();
  const welcome = s.hello(body(hello));
  const initiate = c.welcome(body(welcome), encoder.encode("client metadata"));
  const { clientKey, metadata } = s.initiate(body(initiate));
  const ready = s.ready(encoder.encode("server metadata"));
  const done = c.ready(body(ready.frame));
  return {
    server,
    client,
    clientCodec: done.codec,
    serverCodec: ready.codec,
    clientKeySeen: clientKey,
    metadata: { server: done.metadata, client: metadata },
    frames: [hello, welcome, initiate, ready.frame],
  };
}

Deno.test("curve: a handshake in memory, its commands laid out as libzmq lays them out", () => {
  const pair = handshake();
  const [hello, welcome, initiate, ready] = pair.frames.map(body) as Uint8Array[];
  assertEquals(hello!.length, 200);
  assertEquals(text.decode(hello!.subarray(0, 6)), "\x05HELLO");
  assertEquals([...hello!.subarray(6, 80)], [1, 0, ...new Array(72).fill(0)]);
  assertEquals([...hello!.subarray(112, 120)], [0, 0, 0, 0, 0, 0, 0, 1]); // short nonce 1
  assertEquals(welcome!.length, 168);
  assertEquals(text.decode(welcome!.subarray(0, 8)), "\x07WELCOME");
  assertEquals(initiate!.length, 257 + "client metadata".length);
  assertEquals(text.decode(initiate!.subarray(0, 9)), "\x08INITIATE");
  assertEquals([...initiate!.subarray(105, 113)], [0, 0, 0, 0, 0, 0, 0, 2]);
  assertEquals(ready!.length, 30 + "server metadata".length);
  assertEquals([...ready!.subarray(6, 14)], [0, 0, 0, 0, 0, 0, 0, 1]);
  assertEquals(pair.clientKeySeen, pair.client.publicKey);
  assertEquals(text.decode(pair.metadata.client), "client metadata");
  assertEquals(text.decode(pair.metadata.server), "server metadata");
});

Deno.test("curve: MESSAGEs both ways carry frames and their inner flags, nonces counting on", () => {
  const { clientCodec, serverCodec } = handshake();
  const frame = sealed(clientCodec, SEALED_MORE, encoder.encode("first"));
  assertEquals(frame.length, 2 + 33 + 5);
  assertEquals([frame[0], frame[1]], [0x00, 38]); // a data frame outside, as libzmq sends it
  assertEquals(text.decode(frame.subarray(2, 10)), "\x07MESSAGE");
  assertEquals([...frame.subarray(10, 18)], [0, 0, 0, 0, 0, 0, 0, 3]); // after HELLO, INITIATE
  assertEquals(text.decode(serverCodec.open(frame.subarray(2))), "first");
  assertEquals(serverCodec.flags, SEALED_MORE);
  const long = new Uint8Array(70000).map((_, i) => i & 0xff);
  const longFrame = sealed(serverCodec, SEALED_COMMAND, long);
  assertEquals(longFrame[0], 0x02); // long, still no MORE or COMMAND outside
  assertEquals([...longFrame.subarray(17, 25)], [0, 0, 0, 0, 0, 0, 0, 2]); // after READY
  assertEquals(clientCodec.open(longFrame.subarray(9)), long);
  assertEquals(clientCodec.flags, SEALED_COMMAND);
});

Deno.test("curve: a replayed, reordered or tampered MESSAGE is refused", () => {
  const { clientCodec, serverCodec } = handshake();
  const one = sealed(clientCodec, 0, encoder.encode("one")).subarray(2);
  const two = sealed(clientCodec, 0, encoder.encode("two")).subarray(2);
  const three = sealed(clientCodec, 0, encoder.encode("three")).subarray(2);
  assertEquals(text.decode(serverCodec.open(two)), "two");
  assertThrows(() => serverCodec.open(one), ZmqError, "nonce did not increase");
  assertThrows(() => serverCodec.open(two), ZmqError, "nonce did not increase");
  const tampered = three.slice();
  tampered[tampered.length - 1]! ^= 1;
  assertThrows(() => serverCodec.open(tampered), ZmqError, "does not open");
  assertEquals(text.decode(serverCodec.open(three)), "three"); // a forgery did not move the nonce
  const forged = three.slice();
  forged[15] = 99; // a later nonce the box was not sealed with
  assertThrows(() => serverCodec.open(forged), ZmqError, "does not open");
  assertThrows(() => serverCodec.open(three.subarray(0, 32)), ZmqError, "too short");
  assertThrows(
    () => serverCodec.open(encoder.encode("\x05READY" + "x".repeat(40))),
    ZmqError,
    "expected a CURVE MESSAGE",
  );
});

Deno.test("curve: a server's own MESSAGE reflected back to it does not open", () => {
  const { serverCodec } = handshake();
  sealed(serverCodec, 0, encoder.encode("nonce 2"));
  const reflected = sealed(serverCodec, 0, encoder.encode("nonce 3")).subarray(2);
  assertThrows(() => serverCodec.open(reflected), ZmqError, "does not open");
});

Deno.test("curve: a client with the wrong server key gets no WELCOME it can open (nor a server's)", () => {
  const server = keyPair();
  const impostor = keyPair();
  const client = new CurveClient({ ...keyPair(), serverKey: impostor.publicKey });
  const s = new CurveServer(server.secretKey, server.publicKey);
  assertThrows(
    () => s.hello(body(client.hello())),
    ZmqError,
    "HELLO (does it have our public key?)",
  );
  // and a WELCOME made by the real server for another client does not open either
  const other = new CurveClient({ ...keyPair(), serverKey: server.publicKey });
  const welcome = new CurveServer(server.secretKey, server.publicKey).hello(body(other.hello()));
  assertThrows(() => client.welcome(body(welcome), new Uint8Array(0)), ZmqError, "does not open");
});

Deno.test("curve: commands out of order, resized, or with another connection's cookie are refused", () => {
  const server = keyPair();
  const s = new CurveServer(server.secretKey, server.publicKey);
  const c = new CurveClient({ ...keyPair(), serverKey: server.publicKey });
  const hello = body(c.hello());
  assertThrows(
    () => s.initiate(encoder.encode("\x08INITIATE" + "x".repeat(300))),
    ZmqError,
    "INITIATE before HELLO",
  );
  assertThrows(() => s.hello(hello.subarray(0, 199)), ZmqError, "wrong size");
  const wrongVersion = hello.slice();
  wrongVersion[6] = 2;
  assertThrows(() => s.hello(wrongVersion), ZmqError, "CurveZMQ 2.0 is not 1.0");
  const welcome = body(s.hello(hello));
  assertThrows(() => s.hello(hello), ZmqError, "a second HELLO");
  assertThrows(
    () => c.ready(encoder.encode("\x05READY" + "x".repeat(30))),
    ZmqError,
    "READY before WELCOME",
  );
  assertThrows(
    () => c.welcome(welcome.subarray(0, 167), new Uint8Array(0)),
    ZmqError,
    "wrong size",
  );
  const initiate = body(c.welcome(welcome, new Uint8Array(0)));
  assertThrows(() => c.welcome(welcome, new Uint8Array(0)), ZmqError, "a second WELCOME");
  // the same INITIATE at a second server (another connection): its cookie is not that server's
  const elsewhere = new CurveServer(server.secretKey, server.publicKey);
  elsewhere.hello(body(new CurveClient({ ...keyPair(), serverKey: server.publicKey }).hello()));
  assertThrows(() => elsewhere.initiate(initiate), ZmqError, "cookie");
  assertThrows(() => s.initiate(initiate.subarray(0, 256)), ZmqError, "too short");
  const tampered = initiate.slice();
  tampered[200]! ^= 1;
  assertThrows(() => s.initiate(tampered), ZmqError, "the client's INITIATE does not open");
  s.initiate(initiate);
  assertThrows(() => s.initiate(initiate), ZmqError, "a second INITIATE");
});

Deno.test("curve: a client claiming a long-term key it does not hold fails at its vouch", () => {
  const server = keyPair();
  const s = new CurveServer(server.secretKey, server.publicKey);
  const claimed = keyPair().publicKey;
  const liar = new CurveClient({
    publicKey: claimed,
    secretKey: keyPair().secretKey,
    serverKey: server.publicKey,
  });
  const welcome = body(s.hello(body(liar.hello())));
  const initiate = body(liar.welcome(welcome, new Uint8Array(0)));
  assertThrows(
    () => s.initiate(initiate),
    ZmqError,
    "the vouch of the client's INITIATE does not open",
  );
});
