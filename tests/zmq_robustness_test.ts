/**
 * Bad input closes that connection only: garbage, a wrong greeting, an unsupported mechanism,
 * an incompatible socket type, an oversized message, a message before the handshake, silence
 * during the handshake, a peer vanishing mid-message. Each case is a raw peer writing the bytes
 * by hand; each asserts that the socket closed that connection and still serves a well-behaved
 * peer connected before and one connecting after.
 */

import { assert, assertEquals } from "./assert.ts";
import {
  endpoint,
  greeting,
  LibzmqPeer,
  LogCapture,
  rawConnect,
  rawHandshake,
  readToEnd,
  ready,
  shortFrame,
  texts,
  within,
  writeAll,
} from "./zmq_support.ts";
import { Pull, Push, Router, type SocketOptions } from "../shared/zmq/mod.ts";
import { PythonPeer } from "./process.ts";
import { MAX_PARTS } from "../shared/zmq/connection.ts";
import { eventually } from "./farm.ts";

const TIMEOUT = { receiveTimeout: 5000, sendTimeout: 5000 };
const encoder = new TextEncoder();

/** Bytes that start with our own greeting and READY (what the socket sends every peer). */
function isHandshakeOnly(bytes: Uint8Array): boolean {
  return bytes[0] === 0xff && bytes[64] === 0x04 && bytes.length === 64 + 2 + bytes[65]!;
}

/**
 * Binds a PULL, connects a good PUSH, lets `bad` misbehave against the PULL's endpoint (it
 * resolves to what the socket sent it, read until the socket closed the connection), then
 * checks that the old PUSH and a new one are both still served.
 */
async function survives(
  transport: "tcp" | "ipc",
  options: SocketOptions,
  bad: (address: string) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const pull = new Pull({ ...TIMEOUT, ...options });
  const address = await pull.bind(endpoint(transport));
  const before = new Push(TIMEOUT);
  before.connect(address);
  await before.send("before");
  assertEquals(texts(await pull.receive()), ["before"]);
  const sent = await within(bad(address), 10000, "the socket closing the bad connection");
  await before.send("still served");
  assertEquals(texts(await pull.receive()), ["still served"]);
  const after = new Push(TIMEOUT);
  after.connect(address);
  await after.send("new peers too");
  assertEquals(texts(await pull.receive()), ["new peers too"]);
  await Promise.all([before.close(), after.close(), pull.close()]);
  return sent;
}

/** A raw peer that writes `bytes` and reads until the socket closes the connection. */
function writing(...parts: Uint8Array[]): (address: string) => Promise<Uint8Array> {
  return async (address) => {
    const conn = await rawConnect(address);
    await writeAll(conn, new Uint8Array(parts.flatMap((part) => [...part])));
    return readToEnd(conn);
  };
}

for (const transport of ["tcp", "ipc"] as const) {
  Deno.test(`robustness (${transport}): garbage bytes`, async () => {
    const http = encoder.encode("GET / HTTP/1.1\r\nHost: master\r\n\r\n");
    assert(isHandshakeOnly(await survives(transport, {}, writing(http))));
  });

  Deno.test(`robustness (${transport}): a peer vanishing mid-message delivers nothing`, async () => {
    // The first frame of a two-frame message, then the peer is gone: "partial" must never be
    // received (survives() checks that the next message received is the good peer's).
    await survives(transport, {}, async (address) => {
      const conn = await rawHandshake(address, "PUSH");
      await writeAll(conn, shortFrame(0x01, "partial"));
      conn.close();
      return new Uint8Array(0);
    });
  });
}

Deno.test("robustness: a ZMTP 2.0 greeting", async () => {
  const old = greeting();
  old[10] = 2;
  assert(isHandshakeOnly(await survives("tcp", {}, writing(old))));
});

Deno.test("robustness: a bad signature", async () => {
  const bad = greeting();
  bad[9] = 0x7e;
  assert(isHandshakeOnly(await survives("tcp", {}, writing(bad))));
});

Deno.test("robustness: an unsupported security mechanism (PLAIN)", async () => {
  assert(isHandshakeOnly(await survives("tcp", {}, writing(greeting(1, "PLAIN"), ready("PUSH")))));
});

Deno.test("robustness: an incompatible socket type gets an ERROR command, then is closed", async () => {
  const sent = await survives("ipc", {}, writing(greeting(), ready("PUB")));
  const afterHandshake = sent.subarray(64 + 2 + sent[65]!);
  assertEquals(afterHandshake[0], 0x04, "a command frame");
  assertEquals(new TextDecoder().decode(afterHandshake.subarray(3, 8)), "ERROR");
  assert(new TextDecoder().decode(afterHandshake).includes("PUB"), "the reason names the type");
});

Deno.test("robustness: a message larger than maxMessageSize, in one frame or several", async () => {
  const big = new Uint8Array([0x02, 0, 0, 0, 0, 0, 0, 0x13, 0x88, ...new Uint8Array(5000)]);
  assert(
    isHandshakeOnly(
      await survives("tcp", { maxMessageSize: 4096 }, writing(greeting(), ready("PUSH"), big)),
    ),
  );
  const part = shortFrame(0x01, new Uint8Array(200));
  const parts = Array.from({ length: 30 }, () => part); // 6000 bytes in all, never finished
  await survives("tcp", { maxMessageSize: 4096 }, writing(greeting(), ready("PUSH"), ...parts));
});

Deno.test("robustness: with skipOversized, a message over maxMessageSize is read past, the connection kept", async () => {
  // a Python master relays any slave's label to the monitors: closing the connection only had
  // it replay the same on the next one, ten times a second
  const pull = new Pull({ ...TIMEOUT, maxMessageSize: 4096, skipOversized: true });
  const address = await pull.bind(endpoint("tcp"));
  const conn = await rawHandshake(address, "PUSH");
  const big = new Uint8Array([0x02, 0, 0, 0, 0, 0, 0x10, 0, 0, ...new Uint8Array(1 << 20)]);
  const part = shortFrame(0x01, new Uint8Array(200));
  await writeAll(
    conn,
    new Uint8Array([
      ...shortFrame(0x00, "before"),
      ...big, // one frame of 1 MiB
      ...Array.from({ length: 30 }, () => [...part]).flat(), // 6,000 bytes in frames of 200
      ...shortFrame(0x00, "the end of it"),
      ...shortFrame(0x00, "after"),
    ]),
  );
  assertEquals(texts(await pull.receive()), ["before"]);
  assertEquals(texts(await pull.receive()), ["after"]);
  // the same connection, still served
  await writeAll(conn, shortFrame(0x01, "two"));
  await writeAll(conn, shortFrame(0x00, "parts"));
  assertEquals(texts(await pull.receive()), ["two", "parts"]);
  conn.close();
  await pull.close();
});

Deno.test("robustness: a frame claiming an absurd size", async () => {
  const terabyte = new Uint8Array([0x02, 0, 0, 0x01, 0, 0, 0, 0, 0]); // 2^40 bytes, never sent
  const beyond = new Uint8Array([0x02, 0x01, 0, 0, 0, 0, 0, 0, 0]); // 2^56: past 2^53
  await survives("tcp", {}, writing(greeting(), ready("PUSH"), terabyte));
  await survives("tcp", {}, writing(greeting(), ready("PUSH"), beyond));
});

Deno.test("robustness: a message before READY, and reserved flag bits", async () => {
  await survives("tcp", {}, writing(greeting(), shortFrame(0x00, "too early")));
  await survives("tcp", {}, writing(greeting(), ready("PUSH"), shortFrame(0x08, "reserved")));
});

Deno.test("robustness: a peer that never completes the handshake is dropped", async () => {
  const silent = async (address: string) => readToEnd(await rawConnect(address));
  assert(isHandshakeOnly(await survives("tcp", { handshakeInterval: 200 }, silent)));
});

Deno.test("robustness: a message of endless empty frames is cut off", async () => {
  // an empty frame counted nothing against maxMessageSize, and each was kept: 64 MiB of them
  // made the master run out of memory
  const empty = shortFrame(0x01, "");
  const frames = Array.from({ length: MAX_PARTS + 1 }, () => empty);
  await survives("tcp", { maxMessageSize: 4096 }, writing(greeting(), ready("PUSH"), ...frames));
  await survives("tcp", {}, writing(greeting(), ready("PUSH"), ...frames));
});

Deno.test("robustness: a peer that sends PINGs and never reads gets few PONGs", async () => {
  // each PING queued a PONG, without end, and writing them out took time growing with the
  // square of their number (400,000: 107 s with nothing else served)
  const pings = 100_000;
  await survives("ipc", {}, async (address) => {
    const conn = await rawHandshake(address, "PUSH");
    const ping = (context: string) =>
      shortFrame(
        0x04,
        new Uint8Array([4, ...encoder.encode("PING"), 0, 0, ...encoder.encode(context)]),
      );
    const flood = ping("ping");
    const all = new Uint8Array(flood.length * pings);
    for (let i = 0; i < pings; i++) all.set(flood, i * flood.length);
    await writeAll(conn, all);
    // then it reads, asking again with a PING of its own until that one is answered: what
    // came before that answer is what was queued for it
    const last = encoder.encode("last");
    const pong = 11; // [0x04, 9, 4, "PONG", 4-byte context]
    const buf = new Uint8Array(65536);
    let held = new Uint8Array(0);
    let before = 0;
    for (let answered = false; !answered;) {
      await writeAll(conn, ping("last"));
      const n = (await conn.read(buf))!;
      const bytes = new Uint8Array([...held, ...buf.subarray(0, n)]);
      let at = 0;
      for (; at + pong <= bytes.length && !answered; at += pong) {
        answered = bytes.subarray(at + 7, at + 11).every((b, i) => b === last[i]);
        if (!answered) before++;
      }
      held = bytes.slice(at);
    }
    conn.close();
    assert(before < pings / 2, `${before} PONGs queued for a peer that did not read`);
    return new Uint8Array(0);
  });
});

Deno.test("robustness: a listener keeps at most maxConnections, and takes more once some go", async () => {
  // held open after the handshake, connections once took every file descriptor of the master
  const pull = new Pull({ ...TIMEOUT, maxConnections: 2 });
  const address = await pull.bind(endpoint("tcp"));
  const good = new Push(TIMEOUT);
  good.connect(address);
  await good.send("first");
  assertEquals(texts(await pull.receive()), ["first"]);
  const second = await rawHandshake(address, "PUSH"); // the second: greeted
  const third = await rawConnect(address);
  assertEquals(await readToEnd(third), new Uint8Array(0), "the third is closed unread");
  second.close();
  // once one has gone, a new one is taken
  await eventually("a connection is taken again", async () => {
    try {
      (await rawHandshake(address, "PUSH")).close();
      return true;
    } catch {
      return false;
    }
  });
  await good.send("still served");
  assertEquals(texts(await pull.receive()), ["still served"]);
  await Promise.all([good.close(), pull.close()]);
});

Deno.test("robustness: a full listener gives a peer from elsewhere the oldest connection of the crowded place", async () => {
  // one host holding every connection open kept every other peer out
  const pull = new Pull({ ...TIMEOUT, maxConnections: 3 });
  const address = await pull.bind(endpoint("tcp")); // tcp://127.0.0.1:port
  const crowd = [];
  for (let i = 0; i < 3; i++) crowd.push(await rawHandshake(address, "PUSH"));
  const again = await rawConnect(address);
  assertEquals(await readToEnd(again), new Uint8Array(0), "one more from the same host is closed");
  // libzmq's source address: from 127.0.0.2, another place on the loopback
  const elsewhere = await LibzmqPeer.start(
    "PUSH",
    "connect",
    `tcp://127.0.0.2:0;${address.slice("tcp://".length)}`,
  );
  await elsewhere.send(["from elsewhere"]);
  assertEquals(texts(await pull.receive()), ["from elsewhere"]);
  assertEquals(await readToEnd(crowd[0]!), new Uint8Array(0), "the oldest of the crowd is closed");
  // the crowd keeps its other two, and a second peer from 127.0.0.2 would not be fair to them
  const [second, third] = [crowd[1]!, crowd[2]!];
  await writeAll(second, shortFrame(0x00, "second"));
  await writeAll(third, shortFrame(0x00, "third"));
  const got = [texts(await pull.receive())[0], texts(await pull.receive())[0]];
  assertEquals(got.sort(), ["second", "third"]);
  second.close();
  third.close();
  await elsewhere.close();
  await pull.close();
});

Deno.test("robustness: unfinished messages are bounded by maxUnfinishedBytes, the crowding host's first", async () => {
  // 2,000 peers that had each sent a 63 MiB frame but its last byte made the master hold 125 GiB
  const KIB = 1024;
  const pull = new Pull({ ...TIMEOUT, maxUnfinishedBytes: 1024 * KIB });
  const address = await pull.bind(endpoint("tcp")); // tcp://127.0.0.1:port
  const crowd: Deno.Conn[] = [];
  for (let i = 0; i < 4; i++) {
    // a 300 KiB frame (a long header: flags 0x02, 8 bytes of size), 200 KiB of it sent
    const conn = await rawHandshake(address, "PUSH");
    const header = new Uint8Array(9);
    header[0] = 0x02;
    new DataView(header.buffer).setBigUint64(1, BigInt(300 * KIB));
    await writeAll(conn, header);
    await writeAll(conn, new Uint8Array(200 * KIB));
    crowd.push(conn);
  }
  // the fourth would have held 1,200 KiB: one of the four is closed
  const ended = new Set<Deno.Conn>();
  // (a read still waiting when the test closes the connection is interrupted)
  const closing = crowd.map((c) => readToEnd(c).then(() => ended.add(c), () => {}));
  await within(Promise.race(closing), 10_000, "a crowding connection closed");
  // a peer from elsewhere sends a whole 400 KiB message: another of the crowd makes room
  const elsewhere = await LibzmqPeer.start(
    "PUSH",
    "connect",
    `tcp://127.0.0.2:0;${address.slice("tcp://".length)}`,
  );
  await elsewhere.send([new Uint8Array(400 * KIB)]);
  const [message] = await pull.receive();
  assertEquals(message!.length, 400 * KIB);
  await eventually("a second crowding connection closed", () => Promise.resolve(ended.size === 2));
  for (const c of crowd) if (!ended.has(c)) c.close();
  await Promise.all(closing);
  await elsewhere.close();
  await pull.close();
});

Deno.test("robustness: a peer streaming empty messages holds up neither timers nor other peers", async () => {
  // 131,072 of them fill a read buffer of 256 KiB, and the reading loop parsed them all past
  // the high-water mark, without letting the thread's timers or other connections run: for as
  // long as the stream lasted (14-22 s), a libzmq peer's messages waited, then it was dropped
  // for "no heartbeat"
  const router = new Router(TIMEOUT);
  const address = await router.bind(endpoint("tcp"));
  const flood = new PythonPeer("zmtp_flood.py", [address, "DEALER"]);
  let floodArrived!: () => void;
  const arrived = new Promise<void>((resolve) => floodArrived = resolve);
  // the application takes every message as it comes, as the master's loops do (never waiting for
  // a timer), and answers the libzmq peer
  const serving = (async () => {
    for await (const [id, ...frames] of router) {
      if (frames[0]!.length === 0) floodArrived();
      else await router.send([id!, ...frames]);
    }
  })();
  assertEquals(await flood.line(), { flooding: true });
  await arrived;
  const peer = await LibzmqPeer.start("DEALER", "connect", address);
  await peer.send(["are you there?"]);
  assertEquals(texts(await peer.receive(20_000)), ["are you there?"]);
  await new Promise((resolve) => setTimeout(resolve, 0)); // and a timer runs
  // (the flood stops by itself after 30 s, and says so: all this happened while it lasted)
  assertEquals(await flood.call({ stop: true }), { open: true, asked: true });
  await flood.finish();
  await peer.close();
  await router.close();
  await serving;
});

Deno.test("robustness: a command between the frames of a message closes the connection", async () => {
  // ZMTP has none there; taken, 2 KiB commands between one-byte frames made each message
  // queued hold its own 64 KiB of the shared slab
  const ping = shortFrame(0x04, new Uint8Array([4, ...encoder.encode("PING"), 0, 0]));
  await survives(
    "tcp",
    {},
    writing(greeting(), ready("PUSH"), shortFrame(0x01, "x"), ping, shortFrame(0x00, "y")),
  );
});

Deno.test("robustness: commands between messages do not make the small frames queued hold more memory", async () => {
  // each command was copied into the shared slab as message frames are: 32 ignored commands of
  // 2 KiB before each one-byte message made every message queued hold a slab of its own
  const count = 500;
  const pull = new Pull(TIMEOUT);
  const conn = await rawHandshake(await pull.bind(endpoint("tcp")), "PUSH");
  const command = new Uint8Array(9 + 2040); // a long command frame: flags 0x06, 8 bytes of size
  command.set([0x06, 0, 0, 0, 0, 0, 0, 2040 >> 8, 2040 & 0xff, 5, ...encoder.encode("XFILL")]);
  const message = shortFrame(0x00, "m");
  const one = command.length * 32 + message.length;
  const all = new Uint8Array(one * count);
  for (let at = 0; at < all.length; at += one) {
    for (let i = 0; i < 32; i++) all.set(command, at + i * command.length);
    all.set(message, at + one - message.length);
  }
  const sending = writeAll(conn, all);
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) frames.push(...await pull.receive());
  await sending;
  assertEquals(new Set(texts(frames)), new Set(["m"]));
  let held = 0;
  for (const buffer of new Set(frames.map((frame) => frame.buffer))) held += buffer.byteLength;
  assert(held <= 128 * 1024, `${count} one-byte frames hold ${held} bytes`);
  conn.close();
  await pull.close();
});

Deno.test("robustness: messages delivered and not yet read count against maxUnreadBytes", async () => {
  // the high-water mark counts messages: a peer sending 20 messages of 7 MB to a ROUTER not
  // reading had all of them held (and 1,000 of 2 MiB each were allowed)
  const log = LogCapture.start();
  try {
    const KIB = 1024;
    const router = new Router({ ...TIMEOUT, maxUnreadBytes: 1024 * KIB });
    const conn = await rawHandshake(await router.bind(endpoint("tcp")), "DEALER");
    const size = 300 * KIB;
    const header = new Uint8Array(9);
    header[0] = 0x02;
    new DataView(header.buffer).setBigUint64(1, BigInt(size));
    const count = 20;
    const sending = (async () => {
      for (let i = 0; i < count; i++) {
        await writeAll(conn, header);
        await writeAll(conn, new Uint8Array(size).fill(i));
      }
    })();
    // four of them make 1,200 KiB: reading waits for the application
    await log.waitFor(/reading waits: the socket holds maxUnreadBytes unread/);
    for (let i = 0; i < count; i++) {
      const [, body] = await router.receive();
      assertEquals([body!.length, body![0], body![size - 1]], [size, i, i]);
    }
    await sending;
    conn.close();
    await router.close();
  } finally {
    log.stop();
  }
});

Deno.test("robustness: peers' failures of their own wording cannot silence a listener's warnings", async () => {
  // the once-only warnings were keyed by their text, peer-chosen parts and all, in 100 places
  // never freed: 100 peers each sending ERROR with a reason of its own silenced for good the
  // listener's own "N connections are open: closing new ones"
  const log = LogCapture.start();
  try {
    const pull = new Pull({ ...TIMEOUT, maxConnections: 1 });
    const address = await pull.bind(endpoint("tcp"));
    for (let i = 0; i < 101; i++) {
      const reason = encoder.encode(`reason ${i}`);
      const error = shortFrame(
        0x04,
        new Uint8Array([5, ...encoder.encode("ERROR"), reason.length, ...reason]),
      );
      await writing(greeting(), ready("PUSH"), error)(address);
    }
    const errors = await log.waitFor(/the peer sent ERROR "reason \d+"; closing/, 101);
    assertEquals(errors.filter((line) => line.includes("WARNING")).length, 1, "one warning");
    // (the last of them may not be forgotten yet)
    let held: Deno.Conn | undefined;
    await eventually("a connection is taken", async () => {
      held = await rawHandshake(address, "PUSH").catch(() => undefined);
      return held !== undefined;
    });
    assertEquals(await readToEnd(await rawConnect(address)), new Uint8Array(0));
    const [full] = await log.waitFor(/1 connections are open: closing new ones/);
    assert(full!.includes("WARNING"), full);
    held!.close();
    await pull.close();
  } finally {
    log.stop();
  }
});

Deno.test("robustness: a ROUTER closes a peer announcing an Identity over 255 bytes, or starting with 0", async () => {
  // a 60 KiB routing id was taken (and prefixed every message of that peer), and so was one
  // starting with a zero byte, as a ROUTER's own ids do
  const router = new Router(TIMEOUT);
  const address = await router.bind(endpoint("tcp"));
  const readyWith = (identity: Uint8Array) => {
    const body = new Uint8Array([
      5,
      ...encoder.encode("READY"),
      11,
      ...encoder.encode("Socket-Type"),
      0,
      0,
      0,
      6,
      ...encoder.encode("DEALER"),
      8,
      ...encoder.encode("Identity"),
      ...[24, 16, 8, 0].map((shift) => (identity.length >>> shift) & 0xff),
      ...identity,
    ]);
    const frame = new Uint8Array(9 + body.length); // a long command frame
    frame[0] = 0x06;
    new DataView(frame.buffer).setBigUint64(1, BigInt(body.length));
    frame.set(body, 9);
    return frame;
  };
  for (const identity of [new Uint8Array(256).fill(0x61), new Uint8Array([0, 1, 2])]) {
    const conn = await rawConnect(address);
    await writeAll(conn, new Uint8Array([...greeting(), ...readyWith(identity)]));
    const sent = await within(readToEnd(conn), 10000, "the ROUTER closing the connection");
    assert(isHandshakeOnly(sent), "closed without a word");
  }
  // 255 bytes are fine
  const conn = await rawConnect(address);
  const longest = new Uint8Array(255).fill(0x62);
  await writeAll(conn, new Uint8Array([...greeting(), ...readyWith(longest), 0x00, 2, 0x68, 0x69]));
  const [id, body] = await router.receive();
  assertEquals([id, texts([body!])], [longest, ["hi"]]);
  conn.close();
  await router.close();
});
