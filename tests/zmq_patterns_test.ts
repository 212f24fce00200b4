/**
 * Our sockets against our sockets, every pattern, over tcp, ipc and inproc (within one thread;
 * across Workers is `zmq_workers_test.ts`).
 */

import { assert, assertEquals, assertRejects } from "./assert.ts";
import { endpoint, texts } from "./zmq_support.ts";
import {
  Dealer,
  MAX_PEER_TOPIC_BYTES,
  MAX_PEER_TOPICS,
  Pair,
  Publisher,
  Pull,
  Push,
  Reply,
  Request,
  Router,
  Subscriber,
  ZmqError,
} from "../shared/zmq/mod.ts";

const TRANSPORTS = ["tcp", "ipc", "inproc"] as const;
/** Every receive in these tests gives up after this long, so a fault fails instead of hanging. */
const TIMEOUT = { receiveTimeout: 5000, sendTimeout: 5000 };

/** Waits until every socket has sent or received through `step` (peers still connecting). */
async function until(step: () => Promise<boolean>): Promise<void> {
  while (!(await step())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Publishes `topic` until each subscriber has received it once (subscriptions in flight). */
async function warmUp(pub: Publisher, subs: Subscriber[], topic = "warm-up"): Promise<void> {
  const received = subs.map(() => false);
  const receiving = subs.map((sub, i) => sub.receive().then(() => received[i] = true));
  await until(async () => {
    await pub.send(topic);
    return received.every(Boolean);
  });
  await Promise.all(receiving);
}

/** Reads and counts messages until none comes for `ms` milliseconds. */
async function drain(socket: Pull | Subscriber | Router | Pair, ms = 200): Promise<number> {
  const timeout = socket.options.receiveTimeout;
  socket.options.receiveTimeout = ms;
  let count = 0;
  try {
    for (;;) {
      await socket.receive();
      count++;
    }
  } catch (e) {
    if (!(e instanceof ZmqError && e.code === "EAGAIN")) throw e;
  } finally {
    socket.options.receiveTimeout = timeout;
  }
  return count;
}

/** Receives the next message whose first frame does not start with `skip`. */
async function receiveSkipping(sub: Subscriber, skip = "warm-up"): Promise<string[]> {
  for (;;) {
    const message = texts(await sub.receive());
    if (!message[0]!.startsWith(skip)) return message;
  }
}

for (const transport of TRANSPORTS) {
  Deno.test(`ours over ${transport}: REQ/REP round trips with multipart messages`, async () => {
    const rep = new Reply(TIMEOUT);
    const req = new Request(TIMEOUT);
    req.connect(await rep.bind(endpoint(transport)));
    for (let i = 0; i < 3; i++) {
      await req.send([`request ${i}`, "", "part three"]);
      assertEquals(texts(await rep.receive()), [`request ${i}`, "", "part three"]);
      await rep.send([`reply ${i}`, "two"]);
      assertEquals(texts(await req.receive()), [`reply ${i}`, "two"]);
    }
    await Promise.all([req.close(), rep.close()]);
  });

  Deno.test(`ours over ${transport}: REQ → ROUTER sees [identity, "", payload]`, async () => {
    const router = new Router(TIMEOUT);
    const named = new Request({ ...TIMEOUT, routingId: "slave-1" });
    const anonymous = new Request(TIMEOUT);
    const bound = await router.bind(endpoint(transport));
    named.connect(bound);
    anonymous.connect(bound);
    await named.send("HELLO");
    const [id, empty, payload, ...rest] = await router.receive();
    assertEquals([texts([id!])[0], empty!.length, texts([payload!])[0], rest.length], [
      "slave-1",
      0,
      "HELLO",
      0,
    ]);
    await anonymous.send("IDLE");
    const [generated, , idle] = await router.receive();
    assertEquals([generated!.length, generated![0], texts([idle!])[0]], [5, 0, "IDLE"]);
    await router.send([generated!, "", "SLEEP"]);
    await router.send([id!, "", "ACK"]);
    assertEquals(texts(await named.receive()), ["ACK"]);
    assertEquals(texts(await anonymous.receive()), ["SLEEP"]);
    await Promise.all([named.close(), anonymous.close(), router.close()]);
  });

  Deno.test(`ours over ${transport}: DEALER ↔ ROUTER with identities, routed both ways`, async () => {
    const router = new Router(TIMEOUT);
    const dealers = [
      new Dealer({ ...TIMEOUT, routingId: "d-a" }),
      new Dealer({ ...TIMEOUT, routingId: "d-b" }),
    ];
    const bound = await router.bind(endpoint(transport));
    for (const dealer of dealers) dealer.connect(bound);
    await dealers[0]!.send(["HELLO", "0"]);
    await dealers[1]!.send(["HELLO", "1"]);
    const seen = new Map<string, string[]>();
    for (let i = 0; i < 2; i++) {
      const [id, ...body] = texts(await router.receive());
      seen.set(id!, body);
    }
    assertEquals(seen, new Map([["d-a", ["HELLO", "0"]], ["d-b", ["HELLO", "1"]]]));
    for (let i = 0; i < 3; i++) {
      await router.send(["d-b", "FETCH", String(i)]);
      await router.send(["d-a", "DONE"]);
    }
    for (let i = 0; i < 3; i++) {
      assertEquals(texts(await dealers[1]!.receive()), ["FETCH", String(i)]);
      assertEquals(texts(await dealers[0]!.receive()), ["DONE"]);
    }
    await Promise.all([...dealers.map((d) => d.close()), router.close()]);
  });

  Deno.test(`ours over ${transport}: PUSH round-robins over PULLs, PULL fair-queues PUSHes`, async () => {
    const push = new Push(TIMEOUT);
    const pulls = [new Pull(TIMEOUT), new Pull(TIMEOUT)];
    const bound = await push.bind(endpoint(transport));
    for (const pull of pulls) pull.connect(bound);
    // Until both PULLs have their pipe, messages go to whoever is there.
    const got = [false, false];
    const first = pulls.map((pull, i) => pull.receive().then(() => got[i] = true));
    await until(async () => {
      if (got.every(Boolean)) return true;
      await push.send("warm-up");
      return false;
    });
    await Promise.all(first);
    for (const pull of pulls) await drain(pull);
    for (let i = 0; i < 10; i++) await push.send(["job", String(i)]);
    const jobs = [[], []] as string[][];
    for (let i = 0; i < 5; i++) {
      for (const [n, pull] of pulls.entries()) jobs[n]!.push(texts(await pull.receive())[1]!);
    }
    assertEquals(jobs.flat().map(Number).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assertEquals(jobs.map((j) => j.length), [5, 5]);
    assert(jobs.every((j) => new Set(j.map((n) => Number(n) % 2)).size === 1), "alternating");
    await Promise.all([push.close(), ...pulls.map((pull) => pull.close())]);
  });

  Deno.test(`ours over ${transport}: PUB/SUB filters by prefix and honours CANCEL`, async () => {
    const pub = new Publisher(TIMEOUT);
    const builds = new Subscriber(TIMEOUT);
    const everything = new Subscriber(TIMEOUT);
    const bound = await pub.bind(endpoint(transport));
    builds.subscribe("warm-up", "BUILD");
    everything.subscribe();
    builds.connect(bound);
    everything.connect(bound);
    await warmUp(pub, [builds, everything]);
    for (const topic of ["STATS", "BUILD foo", "SLAVE", "BUILDING"]) {
      await pub.send([topic, "data"]);
    }
    assertEquals(await receiveSkipping(builds), ["BUILD foo", "data"]);
    assertEquals(await receiveSkipping(builds), ["BUILDING", "data"]);
    for (const topic of ["STATS", "BUILD foo", "SLAVE", "BUILDING"]) {
      assertEquals(await receiveSkipping(everything), [topic, "data"]);
    }
    builds.unsubscribe("BUILD");
    builds.subscribe("SLAVE");
    await warmUp(pub, [builds], "SLAVE warm-up");
    await pub.send("BUILD bar");
    await pub.send("SLAVE 2");
    assertEquals(await receiveSkipping(builds, "SLAVE warm-up"), ["SLAVE 2"]);
    await Promise.all([pub.close(), builds.close(), everything.close()]);
  });

  Deno.test(`ours over ${transport}: PAIR talks both ways`, async () => {
    const a = new Pair(TIMEOUT);
    const b = new Pair(TIMEOUT);
    b.connect(await a.bind(endpoint(transport)));
    await a.send(["ping", "1"]);
    assertEquals(texts(await b.receive()), ["ping", "1"]);
    await b.send("pong");
    assertEquals(texts(await a.receive()), ["pong"]);
    await Promise.all([a.close(), b.close()]);
  });
}

Deno.test("ours: REQ and REP refuse to break the alternation (EFSM)", async () => {
  const rep = new Reply(TIMEOUT);
  const req = new Request(TIMEOUT);
  req.connect(await rep.bind(endpoint("inproc")));
  assertEquals((await assertRejects(() => req.receive(), ZmqError)).code, "EFSM");
  assertEquals((await assertRejects(() => rep.send("unasked"), ZmqError)).code, "EFSM");
  await req.send("one");
  assertEquals((await assertRejects(() => req.send("two"), ZmqError)).code, "EFSM");
  assertEquals(texts(await rep.receive()), ["one"]);
  assertEquals((await assertRejects(() => rep.receive(), ZmqError)).code, "EFSM");
  await rep.send("answer");
  assertEquals(texts(await req.receive()), ["answer"]);
  await req.send("three"); // allowed again
  await Promise.all([req.close(), rep.close()]);
});

Deno.test("ours: REP sends each reply back to the REQ that asked", async () => {
  const rep = new Reply(TIMEOUT);
  const bound = await rep.bind(endpoint("tcp"));
  const reqs = [0, 1, 2].map(() => new Request(TIMEOUT));
  for (const [i, req] of reqs.entries()) {
    req.connect(bound);
    await req.send(`from ${i}`);
  }
  for (let i = 0; i < 3; i++) {
    const [question] = texts(await rep.receive());
    await rep.send(`answer to ${question}`);
  }
  for (const [i, req] of reqs.entries()) {
    assertEquals(texts(await req.receive()), [`answer to from ${i}`]);
  }
  await Promise.all([rep.close(), ...reqs.map((req) => req.close())]);
});

Deno.test("ours: ROUTER drops unroutable messages, or fails them when mandatory", async () => {
  const lenient = new Router(TIMEOUT);
  await lenient.send(["nobody", "x"]); // resolves: dropped as libzmq does
  const strict = new Router({ ...TIMEOUT, mandatory: true });
  const e = await assertRejects(() => strict.send(["nobody", "x"]), ZmqError);
  assertEquals(e.code, "EHOSTUNREACH");
  await Promise.all([lenient.close(), strict.close()]);
});

Deno.test("ours: a ROUTER refuses a second peer announcing an identity in use", async () => {
  const router = new Router(TIMEOUT);
  const bound = await router.bind(endpoint("inproc"));
  const first = new Dealer({ ...TIMEOUT, routingId: "same" });
  first.connect(bound);
  await first.send("first");
  assertEquals(texts(await router.receive()), ["same", "first"]);
  const second = new Dealer({ routingId: "same", sendTimeout: 300 });
  second.connect(bound);
  await second.send("second").catch(() => {}); // lost either way: its pipe is refused
  await first.send("still here");
  assertEquals(texts(await router.receive()), ["same", "still here"]);
  assertEquals(await drain(router), 0, "nothing from the refused peer");
  await router.send(["same", "to the first"]);
  assertEquals(texts(await first.receive()), ["to the first"]);
  await Promise.all([router.close(), first.close(), second.close()]);
});

Deno.test("ours: a PAIR takes one peer; a second one is refused", async () => {
  const a = new Pair(TIMEOUT);
  const bound = await a.bind(endpoint("inproc"));
  const b = new Pair(TIMEOUT);
  b.connect(bound);
  await b.send("b");
  assertEquals(texts(await a.receive()), ["b"]);
  const c = new Pair({ sendTimeout: 300 });
  c.connect(bound);
  await c.send("c").catch(() => {}); // lost either way: its pipe is refused
  await b.send("b again");
  assertEquals(texts(await a.receive()), ["b again"]);
  assertEquals(await drain(a), 0, "nothing from the refused peer");
  await a.send("to b");
  assertEquals(texts(await b.receive()), ["to b"]);
  await Promise.all([a.close(), b.close(), c.close()]);
});

Deno.test("ours: a PUB keeps at most MAX_PEER_TOPIC_BYTES of one peer's subscriptions", async () => {
  // a subscriber asking for 2,000 topics of 100 bytes (200 KB, and as many as it likes) used to
  // have every one kept; only the first that fit are now (20 of 4,000 bytes here: 32 topics
  // would be kept)
  const pub = new Publisher(TIMEOUT);
  const sub = new Subscriber(TIMEOUT);
  const bound = await pub.bind(endpoint("tcp"));
  const topic = (i: number) => `t${String(i).padStart(3999, "0")}`;
  for (let i = 0; i < 20; i++) sub.subscribe(topic(i));
  sub.unsubscribe(topic(0)); // room for "sync" (short), which then follows everything
  sub.subscribe("sync");
  sub.connect(bound);
  await warmUp(pub, [sub], "sync");
  assert(20 * 4064 > MAX_PEER_TOPIC_BYTES && 20 < MAX_PEER_TOPICS); // the bytes bound it
  await pub.send([topic(19), "past the bound"]);
  await pub.send([topic(1), "within it"]);
  assertEquals(await receiveSkipping(sub, "sync"), [topic(1), "within it"]);
  await Promise.all([pub.close(), sub.close()]);
});

Deno.test("ours: a PUB keeps at most MAX_PEER_TOPICS of one peer's subscriptions", async () => {
  // each message is matched against every topic of every peer: 256 peers of ~1,000 short
  // topics each (within the bytes) made a send take 3-5 ms
  const pub = new Publisher(TIMEOUT);
  const sub = new Subscriber(TIMEOUT);
  const bound = await pub.bind(endpoint("tcp"));
  sub.subscribe("sync"); // the first
  for (let i = 0; i < 40; i++) sub.subscribe(`t${String(i).padStart(2, "0")}`);
  sub.connect(bound);
  await warmUp(pub, [sub], "sync");
  assertEquals(MAX_PEER_TOPICS, 32); // "sync", then t00 to t30
  await pub.send(["t31", "past the bound"]);
  await pub.send(["t30", "within it"]);
  assertEquals(await receiveSkipping(sub, "sync"), ["t30", "within it"]);
  await Promise.all([pub.close(), sub.close()]);
});

Deno.test("ours: PUB drops for a subscriber past its high-water mark, never blocking", async () => {
  const pub = new Publisher({ sendHighWaterMark: 2 });
  const slow = new Subscriber({ ...TIMEOUT, receiveHighWaterMark: 4 });
  const fast = new Subscriber(TIMEOUT);
  const bound = await pub.bind(endpoint("inproc"));
  for (const sub of [slow, fast]) {
    sub.subscribe();
    sub.connect(bound);
  }
  await warmUp(pub, [slow, fast]);
  await drain(slow); // so that only the messages below fill its window
  for (let i = 0; i < 50; i++) await pub.send(String(i)); // never waits
  const all: string[] = [];
  for (let i = 0; i < 50; i++) all.push((await receiveSkipping(fast))[0]!);
  assertEquals(all, Array.from({ length: 50 }, (_, i) => String(i)));
  slow.options.receiveTimeout = 300;
  const kept: string[] = [];
  await assertRejects(
    async () => {
      for (;;) kept.push((await slow.receive()).map((f) => new TextDecoder().decode(f))[0]!);
    },
    ZmqError,
    "EAGAIN",
  );
  assert(kept.length > 0 && kept.length < 50, `the slow subscriber kept ${kept.length}`);
  assertEquals(kept, all.slice(0, kept.length), "the first messages, in order");
  await Promise.all([pub.close(), slow.close(), fast.close()]);
});
