/**
 * One side of a ZeroMQ benchmark run, started by `zmq_throughput.ts`: our sockets, or raw
 * `Deno.listen`/`Deno.connect` streams (the ceiling: the same bytes with no framing at all).
 *
 * deno run -A tests/bench/zmq_peer.ts <ours|raw> <push|req> <server|client> <endpoint> <count> <size>
 *
 * With `PIW_BENCH_CURVE` set (JSON: `{"server": {"publicKey", "secretKey"}, "client": {…}}`,
 * Z85 keys), our sockets speak CURVE: the server side is the CURVE server.
 *
 * The server binds and prints `ready <endpoint>`; the side that measures (the PULL server, the
 * REQ client) prints `result <per second>` (messages or round trips).
 *
 * @module
 */

import { Pull, Push, Reply, Request, type SocketOptions } from "../../shared/zmq/mod.ts";

const [impl, pattern, role, endpoint, countText, sizeText] = Deno.args as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const count = Number(countText);
const size = Number(sizeText);
const payload = new Uint8Array(size).fill(120);

function report(operations: number, started: number): void {
  console.log(`result ${Math.round(operations / ((performance.now() - started) / 1000))}`);
}

/** The CURVE options of this side, if the run is a CURVE one. */
function curve(): SocketOptions {
  const keys = Deno.env.get("PIW_BENCH_CURVE");
  if (!keys) return {};
  const { server, client } = JSON.parse(keys);
  return role === "server"
    ? { curveServer: true, curveSecretKey: server.secretKey }
    : { curveServerKey: server.publicKey, curveSecretKey: client.secretKey };
}

async function ours(): Promise<void> {
  if (pattern === "push" && role === "server") {
    const pull = new Pull(curve());
    console.log(`ready ${await pull.bind(endpoint)}`);
    await pull.receive();
    const started = performance.now();
    for (let i = 1; i < count; i++) await pull.receive();
    report(count - 1, started);
    await pull.close();
  } else if (pattern === "push") {
    const push = new Push(curve());
    push.connect(endpoint);
    for (let i = 0; i < count; i++) await push.send(payload);
    await push.close();
  } else if (role === "server") {
    const rep = new Reply(curve());
    console.log(`ready ${await rep.bind(endpoint)}`);
    for (let i = 0; i < count; i++) await rep.send(await rep.receive());
    await rep.close();
  } else {
    const req = new Request(curve());
    req.connect(endpoint);
    await req.send(payload);
    await req.receive();
    const started = performance.now();
    for (let i = 1; i < count; i++) {
      await req.send(payload);
      await req.receive();
    }
    report(count - 1, started);
    await req.close();
  }
}

function tcp(): { hostname: string; port: number } | undefined {
  const match = /^tcp:\/\/(.*):(\d+)$/.exec(endpoint);
  return match ? { hostname: match[1]!, port: Number(match[2]) } : undefined;
}

function listen(): Deno.Listener {
  const address = tcp();
  return address
    ? Deno.listen(address)
    : Deno.listen({ transport: "unix", path: endpoint.slice(6) });
}

function connect(): Promise<Deno.Conn> {
  const address = tcp();
  return address
    ? Deno.connect(address)
    : Deno.connect({ transport: "unix", path: endpoint.slice(6) });
}

async function readExactly(conn: Deno.Conn, buf: Uint8Array): Promise<void> {
  for (let at = 0; at < buf.length;) {
    const n = await conn.read(buf.subarray(at));
    if (n === null) throw new Error("unexpected end of stream");
    at += n;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

async function raw(): Promise<void> {
  if (role === "server") {
    const listener = listen();
    const bound = listener.addr;
    console.log(
      `ready ${bound.transport === "tcp" ? `tcp://${bound.hostname}:${bound.port}` : endpoint}`,
    );
    const conn = await listener.accept();
    listener.close();
    const buf = new Uint8Array(pattern === "push" ? 256 * 1024 : size);
    if (pattern === "push") {
      let total = 0;
      let started = 0;
      while (total < count * size) {
        const n = await conn.read(buf);
        if (n === null) break;
        if (total < size && total + n >= size) started = performance.now();
        total += n;
      }
      report(count - 1, started);
    } else {
      for (let i = 0; i < count; i++) {
        await readExactly(conn, buf);
        await writeAll(conn, buf);
      }
    }
    conn.close();
  } else {
    const conn = await connect();
    if (pattern === "push") {
      const perWrite = Math.max(1, Math.floor(256 * 1024 / size));
      const batch = new Uint8Array(perWrite * size).fill(120);
      for (let i = 0; i < count; i += perWrite) {
        await writeAll(conn, batch.subarray(0, Math.min(perWrite, count - i) * size));
      }
    } else {
      const buf = new Uint8Array(size);
      let started = 0;
      for (let i = 0; i < count; i++) {
        if (i === 1) started = performance.now();
        await writeAll(conn, payload);
        await readExactly(conn, buf);
      }
      report(count - 1, started);
    }
    conn.close();
  }
}

await (impl === "ours" ? ours() : raw());
