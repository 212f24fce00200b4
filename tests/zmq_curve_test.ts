/**
 * ZMTP CURVE against libzmq itself (4.3.4 through Debian's python3-zmq, `fixtures/zmq_peer.py`,
 * its keys from `zmq.curve_keypair()`), both directions, over tcp and ipc: libzmq REQ and DEALER
 * clients of our ROUTER server (multipart, 20 MB each way, `curveAuthorize` seeing the client's
 * key), our DEALER client of a libzmq ROUTER server (which reads our metadata), subscriptions
 * sealed both ways, and the failures: a wrong server key either way, a NULL peer either way, a
 * client `curveAuthorize` refuses (ERROR 400). Then ours against ours (metadata-filtered PUB
 * sends and ROUTER `notifyDisconnect` under CURVE), a hand-driven CURVE client (a sealed PING
 * is answered with a sealed PONG; a replayed or tampered MESSAGE, or a message before the
 * handshake, closes its connection), inproc (no mechanism) and the options' checks.
 */

import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";
import {
  endpoint,
  greeting,
  LibzmqPeer,
  LogCapture,
  pattern,
  rawConnect,
  readExactly,
  readFrame,
  readToEnd,
  sha256,
  texts,
  writeAll,
} from "./zmq_support.ts";
import { CurveClient, SEALED_COMMAND, SEALED_MORE } from "../shared/zmq/curve.ts";
import { encodeProperties } from "../shared/zmq/command.ts";
import { keyPair } from "../shared/zmq/nacl.ts";
import { CURVE_BURST } from "../shared/zmq/transports/stream.ts";
import { z85Encode } from "../shared/zmq/z85.ts";
import {
  curveKeyPair,
  Dealer,
  Publisher,
  Pull,
  Push,
  Router,
  type SocketOptions,
  Subscriber,
  ZmqError,
} from "../shared/zmq/mod.ts";

const TIMEOUT = { receiveTimeout: 10000, sendTimeout: 10000 };
const BIG = 20_000_000;

/** A CURVE server's options with a new key pair, and its public key as Z85. */
function server(extra: SocketOptions = {}): { options: SocketOptions; publicKey: string } {
  const keys = keyPair();
  return {
    options: { ...TIMEOUT, curveServer: true, curveSecretKey: keys.secretKey, ...extra },
    publicKey: z85Encode(keys.publicKey),
  };
}

/** A CURVE client's options with a new key pair, for the server whose public key is given. */
function client(serverKey: string, extra: SocketOptions = {}): SocketOptions {
  return { ...TIMEOUT, curveServerKey: serverKey, curveSecretKey: keyPair().secretKey, ...extra };
}

/** Starts a libzmq peer, checking that its libzmq has CURVE. */
async function libzmq(
  type: string,
  mode: "bind" | "connect",
  address: string,
  options: Record<string, string> = {},
): Promise<LibzmqPeer> {
  const peer = await LibzmqPeer.start(type, mode, address, options);
  assert(peer.hasCurve, "Debian's libzmq should have CURVE (zmq.has('curve'))");
  return peer;
}

/** Sends with `send` every 20 ms until `receiving` settles; returns what it resolved to. */
async function sendUntil<T>(receiving: Promise<T>, send: (i: number) => Promise<void>): Promise<T> {
  let settled = false;
  receiving.then(() => settled = true, () => settled = true);
  for (let i = 0; i < 1000 && !settled; i++) {
    await send(i);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return receiving;
}

/** The code of the ZmqError `promise` rejects with. */
async function code(promise: Promise<unknown>): Promise<string> {
  return (await assertRejects(() => promise, ZmqError)).code;
}

/** Runs `fn` with this process's log lines captured. */
async function logged(fn: (log: LogCapture) => Promise<void>): Promise<void> {
  const log = LogCapture.start();
  try {
    await fn(log);
  } finally {
    log.stop();
  }
}

for (const transport of ["tcp", "ipc"] as const) {
  const test = (name: string, fn: () => Promise<void>) =>
    Deno.test(`curve over ${transport}: ${name}`, fn);

  test("a libzmq REQ client → our ROUTER server; curveAuthorize sees its key", async () => {
    const seen: { key: string; peer: string }[] = [];
    const { options, publicKey } = server({
      curveAuthorize: (key, peer) => seen.push({ key: z85Encode(key), peer }) > 0,
    });
    const router = new Router(options);
    const address = await router.bind(endpoint(transport));
    const peer = await libzmq("REQ", "connect", address, {
      identity: "slave-1",
      curve_serverkey: publicKey,
    });
    for (let i = 0; i < 3; i++) {
      await peer.send(["HELLO", String(i)]);
      assertEquals(texts(await router.receive()), ["slave-1", "", "HELLO", String(i)]);
      await router.send(["slave-1", "", "ACK", String(i)]);
      assertEquals(texts(await peer.receive()), ["ACK", String(i)]);
    }
    assertEquals(seen.map((s) => s.key), [peer.publicKey]);
    assert(seen[0]!.peer.startsWith(address), seen[0]!.peer);
    await Promise.all([peer.close(), router.close()]);
  });

  test("a libzmq DEALER client ↔ our ROUTER server: multipart, and 20 MB each way", async () => {
    const { options, publicKey } = server({ maxMessageSize: 32 * 1024 * 1024 });
    const router = new Router(options);
    const address = await router.bind(endpoint(transport));
    const peer = await libzmq("DEALER", "connect", address, {
      identity: "py-dealer",
      curve_serverkey: publicKey,
    });
    const long = "z".repeat(70000);
    await peer.send(["one", "", long, "two"]);
    assertEquals(texts(await router.receive()), ["py-dealer", "one", "", long, "two"]);
    await router.send(["py-dealer", "three", long, ""]);
    assertEquals(texts(await peer.receive()), ["three", long, ""]);
    const sent = await peer.call({ op: "big", size: BIG });
    const [id, name, data] = await router.receive();
    assertEquals([...texts([id!, name!]), data!.length], ["py-dealer", "big", BIG]);
    assertEquals(await sha256(data!), sent.sha256);
    const ours = pattern(BIG);
    const expected = await sha256(ours);
    await router.send(["py-dealer", "big", ours]);
    assertEquals(await peer.call({ op: "digest" }), { sizes: [3, BIG], sha256: expected });
    await Promise.all([peer.close(), router.close()]);
  });

  test("our DEALER client ↔ a libzmq ROUTER server, which reads our metadata", async () => {
    const peer = await libzmq("ROUTER", "bind", endpoint(transport), { curve_server: "1" });
    const dealer = new Dealer(client(peer.publicKey, {
      routingId: "our-dealer",
      metadata: { "X-Piwheels-Test": "curve" },
    }));
    dealer.connect(peer.endpoint);
    await dealer.send(["HELLO", "x".repeat(300)]);
    const { frames, properties } = await peer.receiveWithProperties([
      "Socket-Type",
      "X-Piwheels-Test",
    ]);
    assertEquals(texts(frames), ["our-dealer", "HELLO", "x".repeat(300)]);
    assertEquals(properties, { "Socket-Type": "DEALER", "X-Piwheels-Test": "curve" });
    await peer.send(["our-dealer", "WELCOME", ""]);
    assertEquals(texts(await dealer.receive()), ["WELCOME", ""]);
    const echoing = peer.call({ op: "echo", count: 5 });
    for (let i = 0; i < 5; i++) {
      await dealer.send(["echo", String(i)]);
      assertEquals(texts(await dealer.receive()), ["echo", String(i)]);
    }
    assertEquals((await echoing).ok, true);
    await Promise.all([dealer.close(), peer.close()]);
  });

  test("subscriptions travel sealed: libzmq SUB → our PUB server, our SUB → libzmq PUB", async () => {
    const { options, publicKey } = server();
    const pub = new Publisher(options);
    const address = await pub.bind(endpoint(transport));
    const sub = await libzmq("SUB", "connect", address, {
      subscribe: "keep",
      curve_serverkey: publicKey,
    });
    const kept = await sendUntil(sub.receive(), async (i) => {
      await pub.send(["drop", String(i)]);
      await pub.send(["keep", String(i)]);
    });
    assertEquals(texts(kept)[0], "keep");
    await Promise.all([sub.close(), pub.close()]);

    const theirs = await libzmq("PUB", "bind", endpoint(transport), { curve_server: "1" });
    const ours = new Subscriber(client(theirs.publicKey));
    ours.subscribe("STATS", "SLAVE");
    ours.connect(theirs.endpoint);
    await theirs.repeat([["BUILD", "x"], ["SLAVE", "1"], ["LOG", "x"], ["STATS", "2"]]);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(texts(await ours.receive()).join(" "));
    assertEquals([...seen].sort(), ["SLAVE 1", "STATS 2"]);
    await ours.close(); // first, or what libzmq still has for it lingers 5 s
    await theirs.close();
  });

  test("a wrong server key fails the handshake either way: logged, retried, no message", async () => {
    await logged(async (log) => {
      const peer = await libzmq("ROUTER", "bind", endpoint(transport), {
        curve_server: "1",
        monitor: "1",
      });
      const dealer = new Dealer(client(z85Encode(keyPair().publicKey), { sendTimeout: 0 }));
      dealer.connect(peer.endpoint);
      for (let i = 0; i < 2; i++) {
        assertEquals(
          (await peer.event(["HANDSHAKE_FAILED_PROTOCOL"])).event,
          "HANDSHAKE_FAILED_PROTOCOL",
        );
      }
      const hungUp = /the server hung up during the CURVE handshake/;
      const lines = await log.waitFor(hungUp, 2);
      assertEquals(lines.filter((line) => line.includes("WARNING")).length, 1, lines.join("\n"));
      assertEquals(await code(dealer.send("never")), "EAGAIN"); // no peer ever completed
      await Promise.all([dealer.close(), peer.close()]);

      const { options } = server({ receiveTimeout: 0 });
      const router = new Router(options);
      const address = await router.bind(endpoint(transport));
      const wrong = await libzmq("DEALER", "connect", address, {
        curve_serverkey: z85Encode(keyPair().publicKey),
      });
      await wrong.send(["never"]);
      const [line] = await log.waitFor(/the client's HELLO \(does it have our public key\?\)/);
      assertStringIncludes(line!, "WARNING");
      assertEquals(await code(router.receive()), "EAGAIN");
      await Promise.all([wrong.kill(), router.close()]); // its message would linger 5 s
    });
  });

  test("a NULL client is refused by our CURVE server, a NULL server by our CURVE client", async () => {
    await logged(async (log) => {
      const { options, publicKey } = server();
      const router = new Router(options);
      const address = await router.bind(endpoint(transport));
      // (libzmq takes a refused mechanism for a protocol error: it never retries, and its
      // DEALER is left with no pipe to send on)
      const plain = await libzmq("DEALER", "connect", address, { identity: "plain" });
      // libzmq hangs up as soon as it reads our greeting, before finishing (or sending) its own
      const [line] = await log.waitFor(
        /hung up before finishing its greeting: does it speak CURVE/,
      );
      assertStringIncludes(line!, "WARNING");
      // our own NULL client says NULL in full before we hang up on it
      const ourPlain = new Dealer(TIMEOUT);
      ourPlain.connect(address);
      const [ours] = await log.waitFor(/the peer's security mechanism is "NULL", and ours CURVE/);
      assertStringIncludes(ours!, "WARNING");
      await ourPlain.close();
      const good = await libzmq("DEALER", "connect", address, {
        identity: "good",
        curve_serverkey: publicKey,
      });
      await good.send(["sealed"]);
      assertEquals(texts(await router.receive()), ["good", "sealed"]);
      await Promise.all([plain.close(), good.close(), router.close()]);

      const nullServer = await libzmq("ROUTER", "bind", endpoint(transport));
      const dealer = new Dealer(client(publicKey, { sendTimeout: 0 }));
      dealer.connect(nullServer.endpoint);
      // how much of its greeting it sends before hanging up on ours depends on the timing
      const hungUp = new RegExp(
        `${RegExp.escape(nullServer.endpoint)}: the (peer|server) hung up ` +
          "(before finishing its greeting|during the CURVE handshake)",
      );
      const lines = await log.waitFor(hungUp, 3); // it retried
      // each kind of failure is a warning once, then (as it repeats) a debug line
      const warnings = lines.filter((l) => l.includes("WARNING"));
      assertEquals(
        new Set(warnings.map((l) => l.replace(/^\[[^\]]*\] /, ""))).size,
        warnings.length,
      );
      assert(lines.some((l) => l.includes("DEBUG")), lines.join("\n"));
      assertEquals(await code(dealer.send("never")), "EAGAIN");
      await Promise.all([dealer.close(), nullServer.close()]);
    });
  });

  test("curveAuthorize refuses an unknown key: ERROR 400, a warning naming peer and key", async () => {
    await logged(async (log) => {
      const allowed = new Set<string>();
      const { options, publicKey } = server({
        receiveTimeout: 0,
        curveAuthorize: (key) => allowed.has(z85Encode(key)),
      });
      const router = new Router(options);
      const address = await router.bind(endpoint(transport));
      const stranger = await libzmq("DEALER", "connect", address, {
        curve_serverkey: publicKey,
        monitor: "1",
      });
      await stranger.send(["let me in"]);
      assertEquals(await stranger.event(["HANDSHAKE_FAILED_AUTH"]), {
        event: "HANDSHAKE_FAILED_AUTH",
        value: 400,
      });
      const [line] = await log.waitFor(
        new RegExp(
          `WARNING: ${RegExp.escape(address)}.*: the CURVE client key ` +
            `"${RegExp.escape(stranger.publicKey)}" is not authorised`,
        ),
      );
      assert(line);
      assertEquals(await code(router.receive()), "EAGAIN");

      const ours = new Dealer(client(publicKey, { sendTimeout: 0 }));
      ours.connect(address);
      await log.waitFor(/the peer sent ERROR "400" \(it does not allow our key\)/);
      assertEquals(await code(ours.send("never")), "EAGAIN");

      const friendKeys = keyPair();
      allowed.add(z85Encode(friendKeys.publicKey));
      const friend = new Dealer({
        ...client(publicKey, { routingId: "friend" }),
        curveSecretKey: friendKeys.secretKey,
      });
      friend.connect(address);
      await friend.send("at last");
      router.options.receiveTimeout = 10000;
      assertEquals(texts(await router.receive()), ["friend", "at last"]);
      // the stranger's message would linger 5 s
      await Promise.all([stranger.kill(), ours.close(), friend.close(), router.close()]);
    });
  });
}

Deno.test("curve, ours ↔ ours: PUB sends filtered by metadata, ROUTER notifyDisconnect", async () => {
  // the PUB is the CURVE client here, so the property it filters on came in the server's READY
  const keys = keyPair();
  const serverOptions = { ...TIMEOUT, curveServer: true, curveSecretKey: keys.secretKey };
  const extended = new Subscriber({ ...serverOptions, metadata: { "X-Piwheels-Status": "1" } });
  const plain = new Subscriber(serverOptions);
  extended.subscribe();
  plain.subscribe();
  const pub = new Publisher(client(z85Encode(keys.publicKey)));
  pub.connect(await extended.bind(endpoint("tcp")));
  pub.connect(await plain.bind(endpoint("ipc")));
  await sendUntil(Promise.all([extended.receive(), plain.receive()]), () => pub.send("sync"));
  const announcing = (p: { peerMetadata: ReadonlyMap<string, string> }) =>
    p.peerMetadata.get("x-piwheels-status") === "1";
  await pub.send("only extended", announcing);
  await pub.send("everyone");
  const until = async (sub: Subscriber) => {
    const got: string[] = [];
    while (!got.includes("everyone")) got.push(texts(await sub.receive())[0]!);
    return got.filter((m) => m !== "sync");
  };
  assertEquals(await until(extended), ["only extended", "everyone"]);
  assertEquals(await until(plain), ["everyone"]);
  await Promise.all([pub.close(), extended.close(), plain.close()]);

  const router = new Router({ ...serverOptions, notifyDisconnect: true });
  const address = await router.bind(endpoint("tcp"));
  const dealer = new Dealer(client(z85Encode(keys.publicKey), { routingId: "leaving" }));
  dealer.connect(address);
  await dealer.send("BYE");
  await dealer.close();
  assertEquals(texts(await router.receive()), ["leaving", "BYE"]);
  assertEquals(texts(await router.receive()), ["leaving", ""]);
  await router.close();
});

/**
 * A CURVE client driven by hand over a raw stream: greeting and handshake, then it may write
 * any bytes. Resolves to the stream and the codec sealing its MESSAGEs.
 */
async function handDriven(address: string, serverKey: Uint8Array) {
  const curve = new CurveClient({ ...keyPair(), serverKey });
  const conn = await rawConnect(address);
  await writeAll(conn, new Uint8Array([...greeting(1, "CURVE"), ...curve.hello()]));
  await readExactly(conn, 64);
  const welcome = await readFrame(conn);
  await writeAll(conn, curve.welcome(welcome.body, encodeProperties("PUSH")));
  const { codec } = curve.ready((await readFrame(conn)).body);
  const seal = (frame: Uint8Array | string, flags = 0) => {
    const bytes = typeof frame === "string" ? new TextEncoder().encode(frame) : frame;
    const out = new Uint8Array(codec.sealedSize(bytes.length));
    codec.seal(out, 0, flags, bytes);
    return out;
  };
  /** Reads the next frame and opens it: its inner flags and body. */
  const open = async () => {
    const body = codec.open((await readFrame(conn)).body);
    return { flags: codec.flags, body };
  };
  return { conn, seal, open };
}

Deno.test("curve: a sealed PING gets a sealed PONG; a replayed or tampered MESSAGE closes that connection only, logged", async () => {
  await logged(async (log) => {
    const keys = keyPair();
    const pull = new Pull({ ...TIMEOUT, curveServer: true, curveSecretKey: keys.secretKey });
    const address = await pull.bind(endpoint("tcp"));
    const good = new Push(client(z85Encode(keys.publicKey)));
    good.connect(address);
    await good.send("before");
    assertEquals(texts(await pull.receive()), ["before"]);

    const pinging = await handDriven(address, keys.publicKey);
    const ping = new Uint8Array([4, ...new TextEncoder().encode("PING"), 0, 0, 1, 2, 3]);
    await writeAll(pinging.conn, pinging.seal(ping, SEALED_COMMAND));
    const pong = await pinging.open();
    assertEquals(pong.flags, SEALED_COMMAND);
    assertEquals([...pong.body], [4, ...new TextEncoder().encode("PONG"), 1, 2, 3]);
    pinging.conn.close();

    const replaying = await handDriven(address, keys.publicKey);
    const once = replaying.seal("once");
    await writeAll(replaying.conn, once);
    assertEquals(texts(await pull.receive()), ["once"]);
    await writeAll(replaying.conn, once);
    await readToEnd(replaying.conn);
    await log.waitFor(/a CURVE MESSAGE whose nonce did not increase; closing/);

    const tampering = await handDriven(address, keys.publicKey);
    const first = tampering.seal("part", SEALED_MORE);
    first[first.length - 1]! ^= 1;
    await writeAll(tampering.conn, first);
    await readToEnd(tampering.conn);
    await log.waitFor(/a CURVE MESSAGE that does not open \(tampered/);

    const early = await rawConnect(address);
    await writeAll(early, new Uint8Array([...greeting(1, "CURVE"), 0x00, 0x01, 0x78]));
    await readToEnd(early);
    await log.waitFor(/a message before the handshake completed/);

    await good.send("still served");
    assertEquals(texts(await pull.receive()), ["still served"]);
    await Promise.all([good.close(), pull.close()]);
  });
});

Deno.test("curve: inproc needs no mechanism; a CURVE socket's inproc peers just connect", async () => {
  const { options } = server();
  const pull = new Pull(options);
  const address = await pull.bind(endpoint("inproc"));
  const push = new Push(TIMEOUT);
  push.connect(address);
  await push.send("inproc");
  assertEquals(texts(await pull.receive()), ["inproc"]);
  await Promise.all([push.close(), pull.close()]);
});

Deno.test("curve: the options are checked (keys, roles, the hook)", () => {
  const { secretKey, publicKey } = keyPair();
  const z85 = z85Encode(publicKey);
  const bad = (options: SocketOptions, message: string) =>
    assertStringIncludes(assertThrows(() => new Dealer(options), ZmqError).message, message);
  bad({ curveServer: true }, "needs our curveSecretKey");
  bad({ curveServerKey: z85 }, "needs our curveSecretKey");
  bad(
    { curveServer: true, curveSecretKey: secretKey, curveServerKey: z85 },
    "takes no curveServerKey",
  );
  bad({ curveSecretKey: secretKey }, "without curveServer");
  bad({ curveAuthorize: () => true }, "for a CURVE server");
  bad({ curveServer: true, curveSecretKey: "too short" }, "40 characters of Z85");
  bad({ curveServer: true, curveSecretKey: new Uint8Array(31) }, "32 bytes");
  bad({ curveServer: true, curveSecretKey: "~".repeat(40) }, "not a Z85 character");
  bad(
    { curveServer: true, curveSecretKey: secretKey, curvePublicKey: keyPair().publicKey },
    "not the public key",
  );
  const dealer = new Dealer({
    curveServerKey: z85,
    curveSecretKey: z85Encode(secretKey),
    curvePublicKey: z85,
  });
  assertEquals(dealer.options.curve!.server, false);
  assertEquals(dealer.options.curve!.secretKey, secretKey);
  assertEquals(dealer.options.curve!.publicKey, publicKey); // derived from the secret key
  assertEquals(new Dealer({ curveServer: false }).options.curve, undefined);
  const pair = curveKeyPair(); // Z85, and the public key is the secret key's (checked)
  const made = new Dealer({
    curveServerKey: z85,
    curveSecretKey: pair.secretKey,
    curvePublicKey: pair.publicKey,
  });
  assertEquals(z85Encode(made.options.curve!.publicKey), pair.publicKey);
});

Deno.test("curve: a server takes CURVE_BURST connections from one place at once, then a few a second", async () => {
  // each costs the server two X25519 operations of pure JavaScript: any peer could ask for them
  // without end, and about 550 a second took a whole core
  const { options, publicKey } = server();
  const pull = new Pull(options);
  const address = await pull.bind(endpoint("tcp")); // tcp://127.0.0.1:port
  const conns = await Promise.all(
    Array.from({ length: CURVE_BURST + 20 }, () => rawConnect(address)),
  );
  // a connection taken gets the greeting at once; one refused is closed unread
  const first = await Promise.all(conns.map(async (c) => {
    const buf = new Uint8Array(1);
    const n = await c.read(buf).catch(() => null);
    c.close();
    return n === 1;
  }));
  const taken = first.filter(Boolean).length;
  // the allowance may have grown by a few while they came
  assert(taken >= CURVE_BURST && taken < CURVE_BURST + 20, `${taken} taken`);
  // another place is not held back
  const elsewhere = await libzmq("PUSH", "connect", `tcp://127.0.0.2:0;${address.slice(6)}`, {
    curve_serverkey: publicKey,
  });
  await elsewhere.send(["from elsewhere"]);
  assertEquals(texts(await pull.receive()), ["from elsewhere"]);
  await Promise.all([elsewhere.close(), pull.close()]);
});
