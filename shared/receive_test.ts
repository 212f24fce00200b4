import { assertEquals, assertRejects } from "../tests/assert.ts";
import { eachMessageByPeer } from "./receive.ts";
import { Dealer, Router } from "./zmq/mod.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A ROUTER on a fresh inproc:// address, and two DEALERs (peers "a" and "b") connected to it. */
async function sockets() {
  const address = `inproc://receive-test-${crypto.randomUUID()}`;
  const router = new Router({ linger: 0 });
  await router.bind(address);
  const peer = (id: string) => {
    const d = new Dealer({ linger: 0, routingId: new TextEncoder().encode(id) });
    d.connect(address);
    return d;
  };
  const a = peer("a");
  const b = peer("b");
  return {
    router,
    a,
    b,
    async [Symbol.asyncDispose]() {
      await Promise.all([a.close(), b.close()]);
      await router.close();
    },
  };
}

Deno.test("eachMessageByPeer: one peer's messages in order, another's meanwhile", async () => {
  await using s = await sockets();
  const seen: string[] = [];
  const gate = Promise.withResolvers<void>();
  const bSeen = Promise.withResolvers<void>();
  const allSeen = Promise.withResolvers<void>();
  const loop = eachMessageByPeer(s.router, ([peer]) => text(peer!), async ([peer, body]) => {
    const what = `${text(peer!)}${text(body!)}`;
    seen.push(`${what} start`);
    if (what === "a1") await gate.promise; // a's first message waits; b's must not
    if (what === "b1") bSeen.resolve();
    seen.push(`${what} end`);
    if (seen.length === 6) allSeen.resolve();
  });
  await s.a.send("1");
  await s.a.send("2");
  await s.b.send("1");
  // never, if b waited behind a: then fail rather than hang
  const failSafe = setTimeout(() => bSeen.reject(new Error("b was held up behind a")), 30_000);
  try {
    await bSeen.promise;
  } finally {
    clearTimeout(failSafe);
    gate.resolve();
  }
  await allSeen.promise;
  assertEquals(seen, ["a1 start", "b1 start", "b1 end", "a1 end", "a2 start", "a2 end"]);
  await s.router.close();
  await loop;
});

Deno.test("eachMessageByPeer: a peer that does not wait has maxPending held, the rest dropped", async () => {
  await using s = await sockets();
  const gate = Promise.withResolvers<void>();
  const handled: string[] = [];
  const dropped = Promise.withResolvers<void>();
  let drops = 0;
  const loop = eachMessageByPeer(s.router, ([peer]) => text(peer!), async ([, body]) => {
    await gate.promise;
    handled.push(text(body!));
  }, {
    maxPending: 2,
    onDropped: (peer) => {
      assertEquals(peer, "a");
      if (++drops === 3) dropped.resolve();
    },
  });
  for (const n of ["1", "2", "3", "4", "5"]) await s.a.send(n);
  await dropped.promise;
  gate.resolve();
  await s.router.close();
  await loop; // waits for what was held
  assertEquals(handled, ["1", "2"]);
});

Deno.test("eachMessageByPeer: a handler's error ends it", async () => {
  await using s = await sockets();
  const loop = eachMessageByPeer(s.router, ([peer]) => text(peer!), () => {
    throw new Error("broken handler");
  });
  await s.b.send("x");
  await assertRejects(() => loop, Error, "broken handler");
});
