/**
 * Wire behaviour seen by raw peers that write and read ZMTP by hand: PUB filtering at the
 * publisher for ZMTP 3.1 (SUBSCRIBE commands) and 3.0 (subscription messages) subscribers, a
 * SUB speaking each form to a PUB of each version, and PING/PONG heartbeats.
 */

import { encodeHex } from "../shared/hash.ts";
import { assert, assertEquals } from "./assert.ts";
import {
  endpoint,
  greeting,
  rawHandshake,
  readExactly,
  readFrame,
  readToEnd,
  ready,
  shortFrame,
  within,
  writeAll,
} from "./zmq_support.ts";
import { Publisher, Pull, Subscriber } from "../shared/zmq/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => typeof p === "string" ? [...encoder.encode(p)] : p));

/** Publishes `drop …` and `keep …` until the raw subscriber has read `count` messages. */
async function publishedTo(pub: Publisher, conn: Deno.Conn, count: number): Promise<string[]> {
  const seen: string[] = [];
  const reading = (async () => {
    while (seen.length < count) {
      const { flags, body } = await readFrame(conn);
      seen.push(`${decoder.decode(body)}${flags & 1 ? "+" : ""}`);
    }
  })();
  let done = false;
  reading.finally(() => done = true);
  for (let i = 0; !done; i++) {
    await pub.send([`drop ${i}`, "x"]);
    await pub.send([`keep ${i}`, "y"]);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await reading;
  return seen;
}

for (const minor of [1, 0]) {
  Deno.test(`wire: a PUB sends a ZMTP 3.${minor} subscriber only what it subscribed to`, async () => {
    const pub = new Publisher();
    const conn = await rawHandshake(await pub.bind(endpoint("tcp")), "SUB", minor);
    const subscribe = minor >= 1
      ? shortFrame(0x04, bytes([9], "SUBSCRIBE", "keep"))
      : shortFrame(0x00, bytes([1], "keep"));
    await writeAll(conn, subscribe);
    const seen = await within(publishedTo(pub, conn, 6), 10000, "publishing");
    for (let i = 0; i < 6; i += 2) {
      assert(/^keep \d+\+$/.test(seen[i]!), seen[i]); // the topic frame, MORE set
      assertEquals(seen[i + 1], "y");
    }
    conn.close();
    await pub.close();
  });

  Deno.test(`wire: a SUB subscribes to a ZMTP 3.${minor} PUB in that version's form`, async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const sub = new Subscriber();
    sub.subscribe("abc");
    sub.connect(`tcp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`);
    const conn = await listener.accept();
    await writeAll(conn, new Uint8Array([...greeting(minor), ...ready("PUB")]));
    assertEquals((await readExactly(conn, 64))[11], 1, "we announce 3.1");
    assertEquals(decoder.decode((await readFrame(conn)).body.subarray(1, 6)), "READY");
    const subscription = await readFrame(conn);
    const expected = minor >= 1
      ? { flags: 0x04, body: bytes([9], "SUBSCRIBE", "abc") }
      : { flags: 0x00, body: bytes([1], "abc") };
    assertEquals(encodeHex(subscription.body), encodeHex(expected.body));
    assertEquals(subscription.flags, expected.flags);
    await writeAll(conn, new Uint8Array([...shortFrame(0, "abc!")]));
    assertEquals(decoder.decode((await sub.receive())[0]), "abc!");
    conn.close();
    listener.close();
    await sub.close();
  });
}

Deno.test("wire: a PING is answered with a PONG echoing its context", async () => {
  const pull = new Pull();
  const conn = await rawHandshake(await pull.bind(endpoint("ipc")), "PUSH");
  await writeAll(conn, shortFrame(0x04, bytes([4], "PING", [0, 0], "ctx-1")));
  const pong = await readFrame(conn);
  assertEquals([pong.flags, decoder.decode(pong.body)], [0x04, "\x04PONGctx-1"]);
  conn.close();
  await pull.close();
});

Deno.test("wire: with heartbeats on, we PING and drop a peer that stays silent", async () => {
  const pull = new Pull({
    heartbeatInterval: 50,
    heartbeatTimeout: 300,
    heartbeatTimeToLive: 1000,
  });
  const conn = await rawHandshake(await pull.bind(endpoint("tcp")), "PUSH");
  const rest = await within(readToEnd(conn), 10000, "dropping the silent peer");
  const ping = bytes([0x04, 7, 4], "PING", [0, 10]); // a TTL of 1 s, in deciseconds
  assertEquals(encodeHex(rest.subarray(0, ping.length)), encodeHex(ping));
  assertEquals(rest.length % ping.length, 0, "nothing but PINGs");
  await pull.close();
});

Deno.test("wire: a peer sending a large frame slowly is not dropped by the heartbeat", async () => {
  // only a whole frame counted as life: a 1 MiB frame at 200 KB/s against a timeout of 2 s was
  // dropped while its bytes still flowed
  const pull = new Pull({ heartbeatInterval: 50, heartbeatTimeout: 1000 });
  const conn = await rawHandshake(await pull.bind(endpoint("tcp")), "PUSH");
  const size = 1 << 20;
  const chunks = 40; // one a PING: twice the heartbeat timeout in all
  const header = new Uint8Array(9);
  header[0] = 0x02;
  new DataView(header.buffer).setBigUint64(1, BigInt(size));
  await writeAll(conn, header);
  for (let i = 0; i < chunks; i++) {
    const { flags, body } = await readFrame(conn);
    assertEquals([flags, decoder.decode(body.subarray(1, 5))], [0x04, "PING"]);
    await writeAll(conn, new Uint8Array(size / chunks + (i < size % chunks ? 1 : 0)).fill(i));
  }
  const [frame] = await pull.receive();
  assertEquals([frame!.length, frame![0], frame![size - 1]], [size, 0, chunks - 1]);
  await writeAll(conn, shortFrame(0x00, "and the connection lives on"));
  assertEquals(decoder.decode((await pull.receive())[0]), "and the connection lives on");
  conn.close();
  await pull.close();
});

Deno.test("wire: a peer's PING time-to-live is honoured when it then falls silent", async () => {
  const pull = new Pull();
  const conn = await rawHandshake(await pull.bind(endpoint("tcp")), "PUSH");
  await writeAll(conn, shortFrame(0x04, bytes([4], "PING", [0, 3]))); // 300 ms
  const rest = await within(readToEnd(conn), 10000, "dropping the silent peer");
  assertEquals(decoder.decode(rest), "\x04\x05\x04PONG");
  await pull.close();
});
