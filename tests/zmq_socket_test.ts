/**
 * What every socket does whatever its pattern: timeouts, close, high-water marks, linger,
 * reconnecting, endpoints of each transport, and the checks on options and messages.
 */

import { assert, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { PYTHON } from "./process.ts";
import { endpoint, rawConnect, texts, within } from "./zmq_support.ts";
import {
  Dealer,
  Publisher,
  Pull,
  Push,
  Reply,
  Request,
  Router,
  Subscriber,
  ZmqError,
} from "../shared/zmq/mod.ts";

const TIMEOUT = { receiveTimeout: 5000, sendTimeout: 5000 };

async function code(promise: () => Promise<unknown>): Promise<string> {
  return (await assertRejects(promise, ZmqError)).code;
}

Deno.test("socket: sends and receives time out with EAGAIN, and the socket goes on", async () => {
  const pull = new Pull({ receiveTimeout: 50 });
  const bound = await pull.bind(endpoint("inproc"));
  assertEquals(await code(() => pull.receive()), "EAGAIN");
  const push = new Push({ sendTimeout: 50 });
  assertEquals(await code(() => push.send("nobody to take it")), "EAGAIN");
  push.options.sendTimeout = 0;
  assertEquals(await code(() => push.send("no waiting at all")), "EAGAIN");
  push.options.sendTimeout = 5000;
  pull.options.receiveTimeout = 5000;
  push.connect(bound);
  await push.send("now");
  assertEquals(texts(await pull.receive()), ["now"]);
  await Promise.all([push.close(), pull.close()]);
});

Deno.test("socket: close fails pending operations with ETERM and ends iteration", async () => {
  const pull = new Pull();
  await pull.bind(endpoint("tcp"));
  const pending = pull.receive().catch((e) => e);
  const iterated: number[] = [];
  const iterating = (async () => {
    for await (const message of pull) iterated.push(message.length);
  })();
  await pull.close();
  const error = await pending;
  assert(error instanceof ZmqError && error.code === "ETERM", String(error));
  await iterating;
  assertEquals(iterated, []);
  assertEquals(await code(() => pull.receive()), "ETERM");
  assertEquals(await code(() => pull.bind(endpoint("tcp"))), "ETERM");
  assertEquals(assertThrows(() => pull.connect(endpoint("inproc")), ZmqError).code, "ETERM");
  await pull.close(); // again: nothing happens
  const push = new Push();
  await push.close();
  assertEquals(await code(() => push.send("late")), "ETERM");
});

Deno.test("socket: iteration yields each message until close", async () => {
  const pull = new Pull(TIMEOUT);
  const push = new Push(TIMEOUT);
  push.connect(await pull.bind(endpoint("ipc")));
  for (let i = 0; i < 3; i++) await push.send(["n", String(i)]);
  const seen: string[] = [];
  for await (const message of pull) {
    seen.push(texts(message)[1]!);
    if (seen.length === 3) await pull.close();
  }
  assertEquals(seen, ["0", "1", "2"]);
  await push.close();
});

Deno.test("socket: high-water marks bound what is queued for a peer (inproc, exactly)", async () => {
  const pull = new Pull({ ...TIMEOUT, receiveHighWaterMark: 3 });
  const push = new Push({ sendHighWaterMark: 2, sendTimeout: 200 });
  push.connect(await pull.bind(endpoint("inproc")));
  // 3 in flight to the PULL (its receive high-water mark) and 2 queued here: the 6th waits.
  for (let i = 0; i < 5; i++) await push.send(String(i));
  assertEquals(await code(() => push.send("5")), "EAGAIN");
  assertEquals(texts(await pull.receive()), ["0"]);
  assertEquals(texts(await pull.receive()), ["1"]); // credit goes back: room again
  push.options.sendTimeout = 5000;
  await push.send("5");
  for (let i = 2; i <= 5; i++) assertEquals(texts(await pull.receive()), [String(i)]);
  await Promise.all([push.close(), pull.close()]);
});

Deno.test("socket: close lingers until queued messages are written; they can still be read", async () => {
  const pull = new Pull(TIMEOUT);
  const push = new Push(TIMEOUT);
  push.connect(await pull.bind(endpoint("tcp")));
  const chunk = new Uint8Array(65536).fill(7);
  for (let i = 0; i < 200; i++) await push.send([String(i), chunk]);
  await within(push.close(), 10000, "close with linger");
  for (let i = 0; i < 200; i++) {
    const [n, body] = await pull.receive();
    assertEquals([texts([n!])[0], body!.length], [String(i), 65536]);
  }
  await pull.close();
});

Deno.test("socket: a finite linger bounds close when the peer never reads", async () => {
  const pull = new Pull({ receiveHighWaterMark: 1 });
  const push = new Push({ ...TIMEOUT, linger: 100, sendHighWaterMark: 0 });
  push.connect(await pull.bind(endpoint("tcp")));
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < 64; i++) await push.send(chunk); // far beyond the socket buffers
  await within(push.close(), 10000, "close with a 100 ms linger");
  await pull.close();
});

for (const transport of ["tcp", "ipc"] as const) {
  Deno.test(`socket: a connection is remade when the peer comes back (${transport})`, async () => {
    const first = new Pull(TIMEOUT);
    const bound = await first.bind(endpoint(transport));
    const push = new Push({ ...TIMEOUT, reconnectInterval: 20, reconnectMaxInterval: 200 });
    push.connect(bound);
    await push.send("before");
    assertEquals(texts(await first.receive()), ["before"]);
    await first.close();
    const second = new Pull(TIMEOUT);
    await second.bind(bound);
    // What is written before the PUSH notices the old peer is gone is lost with it (as in
    // libzmq), so keep sending until the new peer has one.
    const received = second.receive();
    let arrived = false;
    received.then(() => arrived = true, () => {});
    for (let i = 0; !arrived; i++) {
      await push.send(["after", String(i)]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assertEquals(texts(await received)[0], "after");
    await Promise.all([push.close(), second.close()]);
  });
}

Deno.test("socket: unbind closes that endpoint only; unknown endpoints are ENOENT", async () => {
  const pull = new Pull(TIMEOUT);
  const a = await pull.bind(endpoint("tcp"));
  const b = await pull.bind(endpoint("ipc"));
  assertEquals(pull.lastEndpoint, b);
  await pull.unbind(a);
  await assertRejects(() => rawConnect(a), Deno.errors.ConnectionRefused);
  const push = new Push(TIMEOUT);
  push.connect(b);
  await push.send("via b");
  assertEquals(texts(await pull.receive()), ["via b"]);
  assertEquals(await code(() => pull.unbind(a)), "ENOENT");
  assertEquals(await code(() => push.disconnect(a)), "ENOENT");
  assertEquals(assertThrows(() => push.connect(b), ZmqError).code, "EINVAL");
  await push.disconnect(b);
  await Promise.all([push.close(), pull.close()]);
});

Deno.test("socket: tcp binds IPv6, the IPv4 wildcard, dual-stack, and connects by host name", async () => {
  const rep = new Reply({ ...TIMEOUT, ipv6: false });
  const v6 = await rep.bind("tcp://[::1]:0");
  assert(/^tcp:\/\/\[::1\]:\d+$/.test(v6), v6);
  const any = await rep.bind("tcp://*:0");
  assert(/^tcp:\/\/0\.0\.0\.0:\d+$/.test(any), any);
  const dual = new Reply(TIMEOUT); // the default
  const both = await dual.bind("tcp://*:0");
  assert(/^tcp:\/\/\[::\]:\d+$/.test(both), both);
  const port = (address: string) => address.slice(address.lastIndexOf(":") + 1);
  const cases: [Reply, string][] = [
    [rep, v6],
    [rep, `tcp://localhost:${port(any)}`],
    [dual, `tcp://127.0.0.1:${port(both)}`],
    [dual, `tcp://[::1]:${port(both)}`],
  ];
  for (const [server, address] of cases) {
    const req = new Request(TIMEOUT);
    req.connect(address);
    await req.send(address);
    await server.send(await server.receive());
    assertEquals(texts(await req.receive()), [address]);
    await req.close();
  }
  assertEquals(await code(() => new Pull().bind(v6).finally(() => {})), "EADDRINUSE");
  await Promise.all([rep.close(), dual.close()]);
});

Deno.test("socket: ipc replaces a stale socket file, refuses a live one, removes its own", async () => {
  const address = endpoint("ipc");
  const path = address.slice("ipc://".length);
  const stale = await new Deno.Command(PYTHON, {
    args: ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path],
  }).output();
  assert(stale.success && Deno.lstatSync(path).isSocket, "a socket file nobody listens on");
  const pull = new Pull(TIMEOUT);
  await pull.bind(address);
  const other = new Pull();
  assertEquals(await code(() => other.bind(address)), "EADDRINUSE");
  const push = new Push(TIMEOUT);
  push.connect(address);
  await push.send("over the replaced file");
  assertEquals(texts(await pull.receive()), ["over the replaced file"]);
  await Promise.all([push.close(), pull.close(), other.close()]);
  assertThrows(() => Deno.lstatSync(path), Deno.errors.NotFound);
  Deno.writeTextFileSync(path, "not a socket");
  const careful = new Pull();
  assertEquals(await code(() => careful.bind(address)), "EADDRINUSE");
  assertEquals(Deno.readTextFileSync(path), "not a socket");
  await careful.close();
});

Deno.test("socket: inproc connects before its bind, and a name binds once", async () => {
  const address = endpoint("inproc");
  const push = new Push(TIMEOUT);
  push.connect(address);
  const sending = push.send("sent before the bind");
  const pull = new Pull(TIMEOUT);
  await pull.bind(address);
  await sending;
  assertEquals(texts(await pull.receive()), ["sent before the bind"]);
  const twice = new Pull();
  assertEquals(await code(() => twice.bind(address)), "EADDRINUSE");
  await pull.unbind(address);
  await twice.bind(address);
  await Promise.all([push.close(), pull.close(), twice.close()]);
});

Deno.test("socket: invalid options and messages are EINVAL", async () => {
  for (
    const options of [
      { routingId: new Uint8Array([0, 1]) },
      { routingId: "x".repeat(256) },
      { routingId: "" },
      { sendHighWaterMark: -2 },
      { linger: 1.5 },
    ]
  ) {
    assertEquals(assertThrows(() => new Push(options), ZmqError).code, "EINVAL");
  }
  const push = new Push({ sendTimeout: 0 });
  assertEquals(await code(() => push.send([])), "EINVAL");
  assertEquals(await code(() => push.send([42 as unknown as string])), "EINVAL");
  assertEquals(assertThrows(() => push.connect("udp://x:1"), ZmqError).code, "EPROTONOSUPPORT");
  await push.close();
});

Deno.test("socket: inproc within one thread hands frames over as they are, never copied", async () => {
  const pull = new Pull(TIMEOUT);
  const push = new Push(TIMEOUT);
  push.connect(await pull.bind(endpoint("inproc")));
  const frame = new Uint8Array(65536).fill(9);
  const small = new TextEncoder().encode("small");
  await push.send([frame, small]);
  const [received, also] = await pull.receive();
  assert(received!.buffer === frame.buffer && also!.buffer === small.buffer, "the same memory");
  assertEquals(frame.length, 65536, "nothing was detached (transferred) on the way");
  await Promise.all([push.close(), pull.close()]);
});

Deno.test("socket: announced properties reach the peer; a PUB can send to those announcing one", async () => {
  for (const transport of ["inproc", "tcp"] as const) {
    const pub = new Publisher(TIMEOUT);
    const address = await pub.bind(endpoint(transport));
    const plain = new Subscriber(TIMEOUT);
    const extended = new Subscriber({ ...TIMEOUT, metadata: { "X-Piwheels-Test": "yes" } });
    for (const sub of [plain, extended]) {
      sub.subscribe();
      sub.connect(address);
    }
    // both have joined once each has a "sync"
    const joined = Promise.all([plain.receive(), extended.receive()]);
    let done = false;
    joined.then(() => done = true);
    while (!done) {
      await pub.send("sync");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await pub.send("extended only", (p) => p.peerMetadata.get("x-piwheels-test") === "yes");
    await pub.send("all");
    const until = async (sub: Subscriber) => {
      const seen: string[] = [];
      while (seen.at(-1) !== "all") seen.push(texts(await sub.receive())[0]!);
      return seen.filter((m) => m !== "sync");
    };
    assertEquals(await until(plain), ["all"], transport);
    assertEquals(await until(extended), ["extended only", "all"], transport);
    await Promise.all([plain.close(), extended.close(), pub.close()]);
  }
  assertThrows(() => new Subscriber({ metadata: { "Not-X": "1" } }), ZmqError);
  assertThrows(() => new Subscriber({ metadata: { "X-bad name": "1" } }), ZmqError);
});

Deno.test("socket: a ROUTER with notifyDisconnect reports our peers that leave, inproc and tcp", async () => {
  for (const transport of ["inproc", "tcp"] as const) {
    const router = new Router({ ...TIMEOUT, notifyDisconnect: true });
    const address = await router.bind(endpoint(transport));
    const dealer = new Dealer({ ...TIMEOUT, routingId: "d1" });
    dealer.connect(address);
    await dealer.send(["hello"]);
    assertEquals(texts(await router.receive()), ["d1", "hello"], transport);
    await dealer.close();
    assertEquals(texts(await router.receive()), ["d1", ""], transport);
    await router.close();
  }
});
