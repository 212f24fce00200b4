/**
 * What the ZeroMQ tests share: a libzmq peer (Debian's python3-zmq, `fixtures/zmq_peer.py`)
 * driven command by command, raw stream clients for hand-made bytes, unique endpoints, and hex.
 *
 * @module
 */

import { encodeHex } from "../shared/hash.ts";
import { configureLogging, currentLogSettings } from "../shared/log.ts";
import { PythonPeer } from "./process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Hex (spaces allowed) as bytes. */
export function fromHex(hex: string): Uint8Array {
  const digits = hex.replace(/\s+/g, "");
  return new Uint8Array(digits.match(/../g)?.map((b) => parseInt(b, 16)) ?? []);
}

/** Frames as text. */
export function texts(frames: Uint8Array[]): string[] {
  return frames.map((frame) => decoder.decode(frame));
}

/** The bytes the Python peer's `big` command sends: byte i is i % 251. */
export function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

/** The SHA-256 of bytes, as hex. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  return encodeHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)),
  );
}

const dir = Deno.makeTempDirSync({ prefix: "piw-zmq-test-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let sequence = 0;

/** A fresh endpoint of a transport: tcp on an ephemeral port, a unique ipc path or inproc name. */
export function endpoint(transport: "tcp" | "ipc" | "inproc"): string {
  sequence++;
  if (transport === "tcp") return "tcp://127.0.0.1:0";
  if (transport === "ipc") return `ipc://${dir}/${sequence}.sock`;
  return `inproc://test-${sequence}`;
}

/** The reply of the Python peer to a command. */
export interface PeerReply {
  ok?: boolean;
  error?: string;
  endpoint?: string;
  curve?: boolean;
  public_key?: string | null;
  frames?: string[];
  properties?: Record<string, string | null>;
  sizes?: number[];
  sha256?: string;
  event?: string;
  value?: number;
}

/** A libzmq socket in a Python process, driven command by command. */
export class LibzmqPeer {
  readonly #peer: PythonPeer;
  #started: PeerReply = {};

  private constructor(peer: PythonPeer) {
    this.#peer = peer;
  }

  /** Starts a peer of a libzmq socket type that binds or connects `endpoint`. */
  static async start(
    type: string,
    mode: "bind" | "connect",
    endpoint: string,
    options: Record<string, string> = {},
  ): Promise<LibzmqPeer> {
    const args = [type, mode, endpoint];
    for (const [key, value] of Object.entries(options)) args.push(`${key}=${value}`);
    const peer = new LibzmqPeer(new PythonPeer("zmq_peer.py", args));
    peer.#started = await peer.#peer.line<PeerReply>();
    return peer;
  }

  /** The endpoint as the peer bound or connected it. */
  get endpoint(): string {
    return this.#started.endpoint!;
  }

  /** Whether the peer's libzmq has CURVE (`zmq.has("curve")`). */
  get hasCurve(): boolean {
    return this.#started.curve === true;
  }

  /** The peer's CURVE public key (Z85), if it is a CURVE server or client. */
  get publicKey(): string {
    const key = this.#started.public_key;
    if (!key) throw new Error("the libzmq peer has no CURVE key");
    return key;
  }

  /** Sends a command and resolves to the peer's reply. */
  call(command: Record<string, unknown>): Promise<PeerReply> {
    return this.#peer.call<PeerReply>(command);
  }

  /** Has the peer send a message. */
  async send(frames: (string | Uint8Array)[]): Promise<void> {
    const hex = frames.map((f) => encodeHex(typeof f === "string" ? encoder.encode(f) : f));
    const reply = await this.call({ op: "send", frames: hex });
    if (!reply.ok) throw new Error(`the libzmq peer could not send: ${JSON.stringify(reply)}`);
  }

  /** Has the peer send these messages every `every` ms until its next command. */
  async repeat(messages: (string | Uint8Array)[][], every = 20): Promise<void> {
    const hex = messages.map((m) =>
      m.map((f) => encodeHex(typeof f === "string" ? encoder.encode(f) : f))
    );
    await this.call({ op: "publish", messages: hex, every });
  }

  /** Has the peer receive a message (it fails after `timeout` ms). */
  async receive(timeout = 10000): Promise<Uint8Array[]> {
    const reply = await this.call({ op: "recv", timeout });
    if (!reply.frames) {
      throw new Error(`the libzmq peer received nothing: ${JSON.stringify(reply)}`);
    }
    return reply.frames.map(fromHex);
  }

  /** Has the peer receive a message and read the properties its connection announced. */
  async receiveWithProperties(
    names: string[],
  ): Promise<{ frames: Uint8Array[]; properties: Record<string, string | null> }> {
    const reply = await this.call({ op: "recv", properties: names });
    if (!reply.frames || !reply.properties) {
      throw new Error(`the libzmq peer received nothing: ${JSON.stringify(reply)}`);
    }
    return { frames: reply.frames.map(fromHex), properties: reply.properties };
  }

  /**
   * Waits for one of these events of the peer's socket monitor (started with `monitor=1`),
   * e.g. `HANDSHAKE_FAILED_AUTH`; resolves to its name and value.
   */
  async event(events: string[], timeout = 10000): Promise<{ event: string; value: number }> {
    const reply = await this.call({ op: "event", events, timeout });
    if (!reply.event) {
      throw new Error(`the libzmq peer saw none of ${events}: ${JSON.stringify(reply)}`);
    }
    return { event: reply.event, value: reply.value! };
  }

  /** Closes the peer's socket and waits for the process to end. */
  async close(): Promise<void> {
    await this.call({ op: "close" });
    await this.#peer.finish();
  }

  /**
   * Freezes the peer (SIGSTOP) or lets it go on: frozen, its connections stay open and its
   * libzmq answers nothing, as a host that lost power or its network.
   */
  freeze(frozen = true): void {
    this.#peer.signal(frozen ? "SIGSTOP" : "SIGCONT");
  }

  /** Kills the peer outright (a crash, as far as its connections can tell). */
  async kill(): Promise<void> {
    await this.#peer.finish(true);
  }
}

/**
 * This process's log lines, captured in a file from `start()` until `stop()` (the previous
 * settings come back), to wait for the line an event logs.
 */
export class LogCapture {
  readonly #previous = currentLogSettings();
  readonly #path: string;

  private constructor(path: string) {
    this.#path = path;
  }

  /** Starts capturing every level (the console keeps errors only). */
  static start(): LogCapture {
    const capture = new LogCapture(`${dir}/log-${++sequence}.txt`);
    configureLogging({ consoleLevel: "error", fileLevel: "debug", logFile: capture.#path });
    return capture;
  }

  /** The lines captured so far. */
  lines(): string[] {
    return Deno.readTextFileSync(this.#path).split("\n").filter((line) => line !== "");
  }

  /** Waits until `count` lines match `pattern` (failing after `ms` with what was logged). */
  async waitFor(pattern: RegExp, count = 1, ms = 20000): Promise<string[]> {
    const until = Date.now() + ms;
    for (;;) {
      const matching = this.lines().filter((line) => pattern.test(line));
      if (matching.length >= count) return matching;
      if (Date.now() > until) {
        throw new Error(
          `never logged ${pattern} ${count} times; logged:\n${this.lines().join("\n")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops capturing. */
  stop(): void {
    configureLogging(this.#previous);
  }
}

/** Fails (instead of hanging) if `promise` takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A ZMTP 3.x greeting written out by hand (RFC 23/37). */
export function greeting(minor = 1, mechanism = "NULL"): Uint8Array {
  const bytes = new Uint8Array(64);
  bytes.set([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, minor]);
  bytes.set(encoder.encode(mechanism), 12);
  return bytes;
}

/** A short frame written out by hand: flags, size, body. */
export function shortFrame(flags: number, body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  return new Uint8Array([flags, bytes.length, ...bytes]);
}

/** A READY command written out by hand for a socket type (no identity). */
export function ready(type: string): Uint8Array {
  const name = encoder.encode("Socket-Type");
  const value = encoder.encode(type);
  return shortFrame(
    0x04,
    new Uint8Array([
      5,
      ...encoder.encode("READY"),
      name.length,
      ...name,
      0,
      0,
      0,
      value.length,
      ...value,
    ]),
  );
}

/** Reads one frame from a raw stream (short or long). */
export async function readFrame(conn: Deno.Conn): Promise<{ flags: number; body: Uint8Array }> {
  const [flags, size] = await readExactly(conn, 2);
  let length = size!;
  if (flags! & 0x02) {
    const rest = await readExactly(conn, 7);
    length = new DataView(new Uint8Array([size!, ...rest]).buffer).getUint32(4);
  }
  return { flags: flags!, body: await readExactly(conn, length) };
}

/**
 * Connects raw, sends our greeting and a READY of `type`, and reads the socket's greeting and
 * READY, leaving the stream at its first frame after the handshake.
 */
export async function rawHandshake(address: string, type: string, minor = 1): Promise<Deno.Conn> {
  const conn = await rawConnect(address);
  await writeAll(conn, new Uint8Array([...greeting(minor), ...ready(type)]));
  await readExactly(conn, 64);
  const { flags, body } = await readFrame(conn);
  if (flags !== 0x04 || decoder.decode(body.subarray(1, 6)) !== "READY") {
    throw new Error("the socket did not answer with READY");
  }
  return conn;
}

/** Opens a raw stream to a tcp:// or ipc:// endpoint. */
export function rawConnect(address: string): Promise<Deno.Conn> {
  const tcp = /^tcp:\/\/(.*):(\d+)$/.exec(address);
  return tcp
    ? Deno.connect({ hostname: tcp[1]!, port: Number(tcp[2]) })
    : Deno.connect({ transport: "unix", path: address.slice("ipc://".length) });
}

/** Reads a raw stream until the other side closes it (a reset counts), then closes it. */
export async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  try {
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      chunks.push(buf.slice(0, n));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.ConnectionReset)) throw e;
  }
  conn.close();
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Reads exactly `size` bytes from a raw stream. */
export async function readExactly(conn: Deno.Conn, size: number): Promise<Uint8Array> {
  const buf = new Uint8Array(size);
  for (let at = 0; at < size;) {
    const n = await conn.read(buf.subarray(at));
    if (n === null) throw new Error(`the stream ended after ${at} of ${size} bytes`);
    at += n;
  }
  return buf;
}

/** Writes all of `bytes` to a raw stream. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}
