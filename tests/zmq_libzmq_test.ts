/**
 * Interop with libzmq itself (4.3 through Debian's python3-zmq, `fixtures/zmq_peer.py`), both
 * directions, over tcp and ipc: REQ↔REP, REQ↔ROUTER, DEALER↔ROUTER with identities,
 * PUSH↔PULL, PUB↔SUB with prefix filters, multipart messages, a 20 MB message, either side
 * restarting, a peer with libzmq's `ipv6` set reaching `tcp://*` over IPv6, and a peer waiting
 * on our full socket kept through our heartbeat's timeouts.
 */

import { assert, assertEquals } from "./assert.ts";
import {
  endpoint,
  LibzmqPeer,
  LogCapture,
  pattern,
  rawHandshake,
  readFrame,
  sha256,
  shortFrame,
  texts,
  writeAll,
} from "./zmq_support.ts";
import {
  Dealer,
  Publisher,
  Pull,
  Push,
  Reply,
  Request,
  Router,
  Subscriber,
} from "../shared/zmq/mod.ts";

const TIMEOUT = { receiveTimeout: 10000, sendTimeout: 10000 };
const BIG = 20_000_000;

/** Sends with `send` every 20 ms until `receiving` settles; returns what it resolved to. */
async function sendUntil<T>(receiving: Promise<T>, send: (i: number) => Promise<void>): Promise<T> {
  let settled = false;
  receiving.then(() => settled = true, () => settled = true);
  for (let i = 0; !settled; i++) {
    await send(i);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return receiving;
}

for (const transport of ["tcp", "ipc"] as const) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`libzmq over ${transport}: ${name}`, fn);

  test("our REQ → libzmq REP", async () => {
    const peer = await LibzmqPeer.start("REP", "bind", endpoint(transport));
    const req = new Request(TIMEOUT);
    req.connect(peer.endpoint);
    const echoing = peer.call({ op: "echo", count: 3 });
    for (let i = 0; i < 3; i++) {
      await req.send(["request", String(i), ""]);
      assertEquals(texts(await req.receive()), ["request", String(i), ""]);
    }
    assertEquals((await echoing).ok, true);
    await Promise.all([req.close(), peer.close()]);
  });

  test("libzmq REQ → our REP", async () => {
    const rep = new Reply(TIMEOUT);
    const peer = await LibzmqPeer.start("REQ", "connect", await rep.bind(endpoint(transport)));
    for (let i = 0; i < 3; i++) {
      await peer.send(["question", String(i)]);
      assertEquals(texts(await rep.receive()), ["question", String(i)]);
      await rep.send(["answer", String(i)]);
      assertEquals(texts(await peer.receive()), ["answer", String(i)]);
    }
    await Promise.all([peer.close(), rep.close()]);
  });

  test('libzmq REQ → our ROUTER sees [identity, "", payload]', async () => {
    const router = new Router(TIMEOUT);
    const address = await router.bind(endpoint(transport));
    const peer = await LibzmqPeer.start("REQ", "connect", address, { identity: "slave-7" });
    await peer.send(["HELLO"]);
    assertEquals(texts(await router.receive()), ["slave-7", "", "HELLO"]);
    await router.send(["slave-7", "", "ACK"]);
    assertEquals(texts(await peer.receive()), ["ACK"]);
    const anonymous = await LibzmqPeer.start("REQ", "connect", address);
    await anonymous.send(["IDLE"]);
    const [id, empty, body] = await router.receive();
    assertEquals([id!.length, id![0], empty!.length, texts([body!])[0]], [5, 0, 0, "IDLE"]);
    await router.send([id!, "", "SLEEP"]);
    assertEquals(texts(await anonymous.receive()), ["SLEEP"]);
    await Promise.all([peer.close(), anonymous.close(), router.close()]);
  });

  test("our REQ → libzmq ROUTER gets our identity and the envelope", async () => {
    const peer = await LibzmqPeer.start("ROUTER", "bind", endpoint(transport));
    const req = new Request({ ...TIMEOUT, routingId: "our-req" });
    req.connect(peer.endpoint);
    await req.send(["HELLO", "x"]);
    assertEquals(texts(await peer.receive()), ["our-req", "", "HELLO", "x"]);
    await peer.send(["our-req", "", "ACK"]);
    assertEquals(texts(await req.receive()), ["ACK"]);
    await Promise.all([req.close(), peer.close()]);
  });

  test("our DEALER ↔ libzmq ROUTER with identities", async () => {
    const peer = await LibzmqPeer.start("ROUTER", "bind", endpoint(transport));
    const dealer = new Dealer({ ...TIMEOUT, routingId: "juggler" });
    dealer.connect(peer.endpoint);
    await dealer.send(["HELLO", "1"]);
    assertEquals(texts(await peer.receive()), ["juggler", "HELLO", "1"]);
    await peer.send(["juggler", "FETCH", "0", "65536"]);
    assertEquals(texts(await dealer.receive()), ["FETCH", "0", "65536"]);
    await Promise.all([dealer.close(), peer.close()]);
  });

  test("libzmq DEALER ↔ our ROUTER with identities", async () => {
    const router = new Router(TIMEOUT);
    const address = await router.bind(endpoint(transport));
    const peer = await LibzmqPeer.start("DEALER", "connect", address, { identity: "py-dealer" });
    await peer.send(["HELLO", "0"]);
    assertEquals(texts(await router.receive()), ["py-dealer", "HELLO", "0"]);
    for (let i = 0; i < 3; i++) await router.send(["py-dealer", "FETCH", String(i)]);
    for (let i = 0; i < 3; i++) assertEquals(texts(await peer.receive()), ["FETCH", String(i)]);
    await router.send(["someone else", "lost"]); // unroutable: dropped
    await router.send(["py-dealer", "DONE"]);
    assertEquals(texts(await peer.receive()), ["DONE"]);
    await Promise.all([peer.close(), router.close()]);
  });

  test("our ROUTER with notifyDisconnect reports a libzmq peer that left, after its messages", async () => {
    const router = new Router({ ...TIMEOUT, notifyDisconnect: true });
    const address = await router.bind(endpoint(transport));
    const peer = await LibzmqPeer.start("REQ", "connect", address, { identity: "leaving" });
    await peer.send(["BYE"]);
    await peer.close();
    assertEquals(texts(await router.receive()), ["leaving", "", "BYE"]);
    assertEquals(texts(await router.receive()), ["leaving", ""]);
    await router.close();
  });

  test("our PUSH → libzmq PULL, multipart", async () => {
    const peer = await LibzmqPeer.start("PULL", "bind", endpoint(transport));
    const push = new Push(TIMEOUT);
    push.connect(peer.endpoint);
    const long = "x".repeat(300); // a long frame among short ones
    for (let i = 0; i < 3; i++) await push.send([String(i), "", long]);
    for (let i = 0; i < 3; i++) assertEquals(texts(await peer.receive()), [String(i), "", long]);
    await Promise.all([push.close(), peer.close()]);
  });

  test("libzmq PUSH → our PULL, multipart", async () => {
    const pull = new Pull(TIMEOUT);
    const peer = await LibzmqPeer.start("PUSH", "connect", await pull.bind(endpoint(transport)));
    const long = "y".repeat(70000);
    for (let i = 0; i < 3; i++) await peer.send([String(i), long, ""]);
    for (let i = 0; i < 3; i++) assertEquals(texts(await pull.receive()), [String(i), long, ""]);
    await Promise.all([peer.close(), pull.close()]);
  });

  test("our PUB → libzmq SUB with a prefix filter", async () => {
    const pub = new Publisher(TIMEOUT);
    const address = await pub.bind(endpoint(transport));
    const peer = await LibzmqPeer.start("SUB", "connect", address, { subscribe: "keep" });
    for (let n = 0; n < 2; n++) {
      const message = await sendUntil(peer.receive(), async (i) => {
        await pub.send(["drop", String(i)]);
        await pub.send(["keep", String(i)]);
      });
      assertEquals(texts(message)[0], "keep");
    }
    await Promise.all([peer.close(), pub.close()]);
  });

  test("our PUB says when a libzmq SUB first subscribes and when the last one leaves", async () => {
    const pub = new Publisher(TIMEOUT);
    const change = () => new Promise<boolean>((resolve) => pub.onSubscribedChange = resolve);
    const address = await pub.bind(endpoint(transport));
    assertEquals(pub.subscribed, false);
    let changed = change();
    const peer = await LibzmqPeer.start("SUB", "connect", address, { subscribe: "" });
    assertEquals(await changed, true);
    assertEquals(pub.subscribed, true);
    changed = change();
    await peer.close();
    assertEquals(await changed, false);
    assertEquals(pub.subscribed, false);
    // ours: subscribing, then cancelling while still connected
    const ours = new Subscriber(TIMEOUT);
    ours.connect(address);
    changed = change();
    ours.subscribe("SLAVE");
    assertEquals(await changed, true);
    changed = change();
    ours.unsubscribe("SLAVE");
    assertEquals(await changed, false);
    await Promise.all([ours.close(), pub.close()]);
  });

  test("our PUB sends some messages only to peers announcing a property; libzmq's get the rest", async () => {
    const pub = new Publisher(TIMEOUT);
    const address = await pub.bind(endpoint(transport));
    const peer = await LibzmqPeer.start("SUB", "connect", address, { subscribe: "" });
    const ours = new Subscriber({ ...TIMEOUT, metadata: { "X-Extended": "2" } });
    ours.subscribe();
    ours.connect(address);
    const extended = (p: { peerMetadata: ReadonlyMap<string, string> }) =>
      p.peerMetadata.get("x-extended") === "2";
    // both subscribed: each has had a "sync" message
    await sendUntil(Promise.all([peer.receive(), ours.receive()]), () => pub.send("sync"));
    await pub.send("only ours", extended);
    await pub.send("everyone");
    let mine: string[] = [];
    while (!mine.includes("everyone")) mine.push(texts(await ours.receive())[0]!);
    mine = mine.filter((m) => m !== "sync");
    assertEquals(mine, ["only ours", "everyone"]);
    let theirs = "";
    while (theirs !== "everyone") {
      theirs = texts(await peer.receive())[0]!;
      assert(theirs !== "only ours", "a libzmq SUB got a message meant for announcing peers");
    }
    await Promise.all([peer.close(), ours.close(), pub.close()]);
  });

  test("libzmq PUB → our SUB with prefix filters", async () => {
    const peer = await LibzmqPeer.start("PUB", "bind", endpoint(transport));
    const sub = new Subscriber(TIMEOUT);
    sub.subscribe("STATS", "SLAVE");
    sub.connect(peer.endpoint);
    await peer.repeat([["BUILD", "x"], ["SLAVE", "1"], ["LOG", "x"], ["STATS", "2"]]);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(texts(await sub.receive()).join(" "));
    assertEquals([...seen].sort(), ["SLAVE 1", "STATS 2"]);
    await Promise.all([peer.close(), sub.close()]);
  });

  test("a 20 MB message, ours → libzmq", async () => {
    const peer = await LibzmqPeer.start("PULL", "bind", endpoint(transport));
    const push = new Push(TIMEOUT);
    push.connect(peer.endpoint);
    const data = pattern(BIG);
    const expected = await sha256(data);
    await push.send(["big", data]);
    const digest = await peer.call({ op: "digest" });
    assertEquals(digest, { sizes: [3, BIG], sha256: expected });
    await Promise.all([push.close(), peer.close()]);
  });

  test("a 20 MB message, libzmq → ours", async () => {
    const pull = new Pull(TIMEOUT);
    const peer = await LibzmqPeer.start("PUSH", "connect", await pull.bind(endpoint(transport)));
    const sent = await peer.call({ op: "big", size: BIG });
    const [name, data] = await pull.receive();
    assertEquals([texts([name!])[0], data!.length], ["big", BIG]);
    assertEquals(await sha256(data!), sent.sha256);
    await Promise.all([peer.close(), pull.close()]);
  });

  test("the libzmq peer restarts and we reconnect", async () => {
    const first = await LibzmqPeer.start("PULL", "bind", endpoint(transport));
    const address = first.endpoint;
    const push = new Push({ ...TIMEOUT, reconnectInterval: 20 });
    push.connect(address);
    await push.send("one");
    assertEquals(texts(await first.receive()), ["one"]);
    await first.kill();
    const second = await LibzmqPeer.start("PULL", "bind", address);
    const message = await sendUntil(second.receive(), (i) => push.send(["two", String(i)]));
    assertEquals(texts(message)[0], "two");
    await Promise.all([push.close(), second.close()]);
  });

  test("we restart and the libzmq peer reconnects", async () => {
    const first = new Pull(TIMEOUT);
    const address = await first.bind(endpoint(transport));
    const peer = await LibzmqPeer.start("PUSH", "connect", address);
    await peer.send(["one"]);
    assertEquals(texts(await first.receive()), ["one"]);
    await first.close();
    const second = new Pull(TIMEOUT);
    await second.bind(address);
    await peer.repeat([["two"]]);
    assertEquals(texts(await second.receive()), ["two"]);
    await Promise.all([peer.close(), second.close()]);
  });
}

Deno.test("libzmq: a peer with ipv6 set, as every piwheels socket, reaches tcp://* over IPv6", async () => {
  // libzmq with ZMQ_IPV6 connects to a name's IPv6 address when it has one, and never tries its
  // IPv4 one: a deployed piw-import reaches the file queue at tcp://localhost:5556 at ::1 on a
  // stock Debian (whose /etc/hosts names ::1 localhost too; this machine's may not)
  const router = new Router(TIMEOUT);
  const bound = await router.bind("tcp://*:0");
  const port = bound.slice(bound.lastIndexOf(":") + 1);
  const peer = await LibzmqPeer.start("DEALER", "connect", `tcp://[::1]:${port}`, {
    identity: "import",
    ipv6: "1",
  });
  await peer.send(["HELLO", "0"]);
  assertEquals(texts(await router.receive()), ["import", "HELLO", "0"]);
  await Promise.all([peer.close(), router.close()]);
});

Deno.test("libzmq: an incompatible libzmq peer is refused and the socket serves the others", async () => {
  const pull = new Pull(TIMEOUT);
  const address = await pull.bind(endpoint("tcp"));
  const wrong = await LibzmqPeer.start("PUB", "connect", address);
  const right = await LibzmqPeer.start("PUSH", "connect", address);
  await wrong.repeat([["from a PUB"]]);
  await right.send(["from a PUSH"]);
  assertEquals(texts(await pull.receive()), ["from a PUSH"]);
  await Promise.all([wrong.close(), right.close()]);
  assert(!pull.closed);
  await pull.close();
});

const decoder = new TextDecoder();

for (
  const [full, limit] of [
    ["receive high-water mark", { receiveHighWaterMark: 4 }],
    ["maxUnreadBytes", { maxUnreadBytes: 4 * 1024 }],
  ] as const
) {
  Deno.test(`libzmq: a peer waiting while our ${full} is reached outlives our heartbeat timeout`, async () => {
    // reading waits while the application does not read, and the heartbeat took the silence
    // that made for the peer's: it dropped the connection, and with it the messages read into
    // its buffer and not yet delivered
    const log = LogCapture.start();
    try {
      const heartbeat = { heartbeatInterval: 20, heartbeatTimeout: 100 };
      const pull = new Pull({ ...TIMEOUT, ...heartbeat, ...limit });
      const address = await pull.bind(endpoint("tcp"));
      const peer = await LibzmqPeer.start("PUSH", "connect", address, { monitor: "1" });
      await peer.event(["HANDSHAKE_SUCCEEDED"]);
      const count = 40;
      for (let i = 0; i < count; i++) await peer.send([`message ${i}`, "x".repeat(1000)]);
      // a second peer, answering our PINGs, counts the heartbeat's intervals: four timeouts'
      const clock = await rawHandshake(address, "PUSH");
      const intervals = 4 * heartbeat.heartbeatTimeout / heartbeat.heartbeatInterval;
      for (let pings = 0; pings <= intervals;) {
        const { flags, body } = await readFrame(clock);
        if (flags === 0x04 && decoder.decode(body.subarray(0, 5)) === "\x04PING") {
          pings++;
          await writeAll(clock, shortFrame(0x04, "\x04PONG"));
        }
      }
      for (let i = 0; i < count; i++) {
        assertEquals(texts(await pull.receive())[0], `message ${i}`);
      }
      await peer.send(["and the connection lives on"]);
      assertEquals(texts(await pull.receive()), ["and the connection lives on"]);
      // the same connection: libzmq saw none end, nor another begin
      const events = ["DISCONNECTED", "HANDSHAKE_SUCCEEDED"];
      assertEquals(await peer.call({ op: "event", events, timeout: 0 }), { error: "timeout" });
      assertEquals(log.lines().filter((line) => /closing the connection/.test(line)), []);
      clock.close();
      await Promise.all([peer.close(), pull.close()]);
    } finally {
      log.stop();
    }
  });
}
