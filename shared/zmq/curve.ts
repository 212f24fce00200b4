/**
 * The CURVE security mechanism of ZMTP 3 (ZeroMQ RFC 26 "CurveZMQ" as RFC 37 carries it), as
 * libzmq 4.3 speaks it, byte for byte. The handshake, after greetings naming "CURVE" (the
 * server's with the as-server flag):
 *
 * - client HELLO: version 1.0, 72 zero bytes against amplification, its transient key C', a short
 *   nonce and Box[64 zero bytes](C'→S), which proves it knows the server's long-term key S;
 * - server WELCOME: a random nonce and Box[S' + cookie](S→C'), the cookie being
 *   SecretBox[C' + s'](a key only this connection knows);
 * - client INITIATE: the cookie back, a short nonce and Box[C + vouch + metadata](C'→S'), the
 *   vouch Box[C' + S](C→S') proving it holds the long-term key C it names;
 * - server READY: a short nonce and Box[metadata](S'→C').
 *
 * Then every frame is a MESSAGE: the name, an 8-byte short nonce and Box[flags + frame](C'↔S'),
 * under the nonce prefix "CurveZMQMESSAGEC" (client to server) or "CurveZMQMESSAGES". Inside,
 * flag 0x01 is MORE and 0x02 COMMAND (PING, PONG, SUBSCRIBE… travel sealed too). Outside,
 * libzmq 4.3.4 sends a MESSAGE as a plain data frame (flags 0x00, or 0x02 when long: neither
 * MORE nor COMMAND, checked on the wire), and so do we; we open one whatever its outer flags.
 * Short nonces are 64-bit big-endian counters: ours start after the handshake's (a client's
 * HELLO is 1, INITIATE 2, its first MESSAGE 3; a server's READY is 1), and a peer's must
 * strictly increase, from HELLO through INITIATE to every MESSAGE (READY to every MESSAGE).
 *
 * @module
 */

import { ZmqError } from "./errors.ts";
import { encodeFrame, FLAG_COMMAND, headerSize, readUint32, writeHeader } from "./frame.ts";
import {
  KEY_SIZE,
  type KeyPair,
  keyPair,
  NONCE_SIZE,
  open,
  precompute,
  randomBytes,
  seal,
  sealInPlace,
  TAG_SIZE,
} from "./nacl.ts";
import { z85Encode } from "./z85.ts";

const encoder = new TextEncoder();

/** The inner flag of a frame that has more after it. */
export const SEALED_MORE = 0x01;
/** The inner flag of a sealed command. */
export const SEALED_COMMAND = 0x02;

const HELLO = encoder.encode("\x05HELLO");
const WELCOME = encoder.encode("\x07WELCOME");
const INITIATE = encoder.encode("\x08INITIATE");
const READY = encoder.encode("\x05READY");
const MESSAGE = encoder.encode("\x07MESSAGE");

const HELLO_SIZE = 200;
const WELCOME_SIZE = 168;
const INITIATE_MIN = 257;
const READY_MIN = 30;
/** The bytes a MESSAGE adds to a frame: name, short nonce, tag and flags. */
export const SEALED_OVERHEAD = MESSAGE.length + 8 + TAG_SIZE + 1;

/**
 * A new long-term CURVE key pair as 40-character Z85 strings, as libzmq's `zmq_curve_keypair`
 * and zeromq.js's `curveKeyPair` make them.
 */
export function curveKeyPair(): { publicKey: string; secretKey: string } {
  const { publicKey, secretKey } = keyPair();
  return { publicKey: z85Encode(publicKey), secretKey: z85Encode(secretKey) };
}

/** The keys of a CURVE client. */
export interface CurveClientKeys extends KeyPair {
  /** The server's long-term public key. */
  serverKey: Uint8Array;
}

/** A 24-byte nonce: a text prefix, then `rest` (a short nonce, or random bytes). */
function nonce(prefix: string, rest: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(NONCE_SIZE);
  encoder.encodeInto(prefix, out);
  out.set(rest, NONCE_SIZE - rest.length);
  return out;
}

/** A counter as an 8-byte big-endian short nonce. */
function shortNonce(counter: number): Uint8Array {
  const out = new Uint8Array(8);
  writeCounter(out, 0, counter);
  return out;
}

function writeCounter(out: Uint8Array, at: number, counter: number): void {
  const high = Math.floor(counter / 0x100000000);
  const low = counter >>> 0;
  out[at] = high >>> 24;
  out[at + 1] = (high >>> 16) & 0xff;
  out[at + 2] = (high >>> 8) & 0xff;
  out[at + 3] = high & 0xff;
  out[at + 4] = low >>> 24;
  out[at + 5] = (low >>> 16) & 0xff;
  out[at + 6] = (low >>> 8) & 0xff;
  out[at + 7] = low & 0xff;
}

/**
 * A short nonce as a number. Beyond 2^53 it is rounded, and rounding never makes a smaller
 * nonce compare greater, so a replay is never taken for progress.
 */
function readCounter(bytes: Uint8Array, at: number): number {
  return readUint32(bytes, at) * 0x100000000 + readUint32(bytes, at + 4);
}

function startsWith(body: Uint8Array, name: Uint8Array): boolean {
  if (body.length < name.length) return false;
  for (let i = 0; i < name.length; i++) if (body[i] !== name[i]) return false;
  return true;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function refuse(reason: string): never {
  throw new ZmqError("EPROTO", reason);
}

/** Opens a handshake box or refuses the peer with `what`. */
function mustOpen(key: Uint8Array, fullNonce: Uint8Array, box: Uint8Array, what: string) {
  return open(key, fullNonce, box) ?? refuse(`${what} does not open`);
}

/** The MESSAGE boxes of one connection, both ways, once its handshake is done. */
export class CurveCodec {
  readonly #key: Uint8Array;
  readonly #sendNonce: Uint8Array;
  readonly #receiveNonce: Uint8Array;
  #sent: number;
  #received: number;
  /** The inner flags of the frame `open` returned last. */
  flags = 0;

  /**
   * A codec sealing with nonce prefix `sendPrefix` from counter `next` on, and opening frames
   * with `receivePrefix` whose counters must exceed `received`.
   */
  constructor(
    key: Uint8Array,
    sendPrefix: string,
    receivePrefix: string,
    next: number,
    received: number,
  ) {
    this.#key = key;
    this.#sendNonce = nonce(sendPrefix, new Uint8Array(8));
    this.#receiveNonce = nonce(receivePrefix, new Uint8Array(8));
    this.#sent = next;
    this.#received = received;
  }

  /** The size on the wire (header included) of a frame of `size` bytes once sealed. */
  sealedSize(size: number): number {
    const body = size + SEALED_OVERHEAD;
    return headerSize(body) + body;
  }

  /**
   * Seals `frame` with inner `flags` as a MESSAGE frame written into `out` at `at` (which has
   * `sealedSize` bytes of room); returns where it ends.
   */
  seal(out: Uint8Array, at: number, flags: number, frame: Uint8Array): number {
    const size = frame.length + SEALED_OVERHEAD;
    const start = writeHeader(out, at, 0, size);
    const region = out.subarray(start, start + size);
    region[32] = flags;
    region.set(frame, 33);
    const counter = this.#sent++;
    writeCounter(this.#sendNonce, 16, counter);
    sealInPlace(this.#key, this.#sendNonce, region);
    region.set(MESSAGE);
    writeCounter(region, MESSAGE.length, counter);
    return start + size;
  }

  /** Opens a MESSAGE frame's body: the frame inside (its inner flags in `flags`). */
  open(body: Uint8Array): Uint8Array {
    if (!startsWith(body, MESSAGE)) refuse("expected a CURVE MESSAGE");
    if (body.length < SEALED_OVERHEAD) refuse("a CURVE MESSAGE too short to hold a frame");
    const counter = readCounter(body, MESSAGE.length);
    if (!(counter > this.#received)) refuse("a CURVE MESSAGE whose nonce did not increase");
    this.#receiveNonce.set(body.subarray(MESSAGE.length, MESSAGE.length + 8), 16);
    const plain = open(this.#key, this.#receiveNonce, body.subarray(MESSAGE.length + 8)) ??
      refuse("a CURVE MESSAGE that does not open (tampered, or not from this peer)");
    this.#received = counter;
    this.flags = plain[0]! & (SEALED_MORE | SEALED_COMMAND);
    return plain.subarray(1);
  }
}

/** The client side of a CURVE handshake. */
export class CurveClient {
  readonly #keys: CurveClientKeys;
  readonly #transient: KeyPair = keyPair();
  readonly #helloKey: Uint8Array;
  #key: Uint8Array | undefined;

  /** A client with its long-term keys and the server's public key. */
  constructor(keys: CurveClientKeys) {
    this.#keys = keys;
    this.#helloKey = precompute(keys.serverKey, this.#transient.secretKey);
  }

  /** The HELLO command frame. */
  hello(): Uint8Array {
    const short = shortNonce(1);
    const signature = seal(this.#helloKey, nonce("CurveZMQHELLO---", short), new Uint8Array(64));
    const body = concat(
      HELLO,
      new Uint8Array([1, 0]),
      new Uint8Array(72),
      this.#transient.publicKey,
      short,
      signature,
    );
    return encodeFrame(FLAG_COMMAND, body);
  }

  /** Takes the server's WELCOME (its whole command body) and returns the INITIATE frame. */
  welcome(body: Uint8Array, metadata: Uint8Array): Uint8Array {
    if (!startsWith(body, WELCOME)) refuse("expected WELCOME");
    if (this.#key) refuse("a second WELCOME");
    if (body.length !== WELCOME_SIZE) refuse("a WELCOME of the wrong size");
    const plain = mustOpen(
      this.#helloKey,
      nonce("WELCOME-", body.subarray(8, 24)),
      body.subarray(24),
      "the server's WELCOME (is curveServerKey its public key?)",
    );
    const serverTransient = plain.subarray(0, KEY_SIZE);
    const cookie = plain.subarray(KEY_SIZE, KEY_SIZE + 96);
    const key = precompute(serverTransient, this.#transient.secretKey);
    this.#key = key;
    const vouchNonce = randomBytes(16);
    const vouch = seal(
      precompute(serverTransient, this.#keys.secretKey),
      nonce("VOUCH---", vouchNonce),
      concat(this.#transient.publicKey, this.#keys.serverKey),
    );
    const short = shortNonce(2);
    const box = seal(
      key,
      nonce("CurveZMQINITIATE", short),
      concat(this.#keys.publicKey, vouchNonce, vouch, metadata),
    );
    return encodeFrame(FLAG_COMMAND, concat(INITIATE, cookie, short, box));
  }

  /** Takes the server's READY: its metadata, and the codec of the messages from now on. */
  ready(body: Uint8Array): { metadata: Uint8Array; codec: CurveCodec } {
    if (!startsWith(body, READY)) refuse("expected READY");
    if (!this.#key) refuse("READY before WELCOME");
    if (body.length < READY_MIN) refuse("a READY too short to hold a box");
    const short = body.subarray(6, 14);
    const metadata = mustOpen(
      this.#key,
      nonce("CurveZMQREADY---", short),
      body.subarray(14),
      "the server's READY",
    );
    const codec = new CurveCodec(
      this.#key,
      "CurveZMQMESSAGEC",
      "CurveZMQMESSAGES",
      3,
      readCounter(short, 0),
    );
    return { metadata, codec };
  }
}

/** The server side of a CURVE handshake. */
export class CurveServer {
  readonly #secretKey: Uint8Array;
  readonly #publicKey: Uint8Array;
  /** Made on HELLO (a peer that never says it costs no key). */
  #transient: KeyPair | undefined;
  #cookieKey: Uint8Array | undefined;
  #clientTransient: Uint8Array | undefined;
  #key: Uint8Array | undefined;
  #received = 0;

  /** A server with its long-term key pair. */
  constructor(secretKey: Uint8Array, publicKey: Uint8Array) {
    this.#secretKey = secretKey;
    this.#publicKey = publicKey;
  }

  /** Takes a client's HELLO (its whole command body) and returns the WELCOME frame. */
  hello(body: Uint8Array): Uint8Array {
    if (!startsWith(body, HELLO)) refuse("expected HELLO");
    if (this.#transient) refuse("a second HELLO");
    if (body.length !== HELLO_SIZE) refuse("a HELLO of the wrong size");
    if (body[6] !== 1 || body[7] !== 0) refuse(`CurveZMQ ${body[6]}.${body[7]} is not 1.0`);
    const clientTransient = body.slice(80, 112);
    const short = body.subarray(112, 120);
    const helloKey = precompute(clientTransient, this.#secretKey);
    mustOpen(
      helloKey,
      nonce("CurveZMQHELLO---", short),
      body.subarray(120),
      "the client's HELLO (does it have our public key?)",
    );
    const transient = keyPair();
    this.#transient = transient;
    this.#cookieKey = randomBytes(KEY_SIZE);
    this.#clientTransient = clientTransient;
    this.#received = readCounter(short, 0);
    const cookieNonce = randomBytes(16);
    const cookie = seal(
      this.#cookieKey,
      nonce("COOKIE--", cookieNonce),
      concat(clientTransient, transient.secretKey),
    );
    const welcomeNonce = randomBytes(16);
    const box = seal(
      helloKey,
      nonce("WELCOME-", welcomeNonce),
      concat(transient.publicKey, cookieNonce, cookie),
    );
    return encodeFrame(FLAG_COMMAND, concat(WELCOME, welcomeNonce, box));
  }

  /**
   * Takes a client's INITIATE (its whole command body): the client's long-term public key and
   * the metadata it announced, once its cookie, box and vouch all check out.
   */
  initiate(body: Uint8Array): { clientKey: Uint8Array; metadata: Uint8Array } {
    if (!startsWith(body, INITIATE)) refuse("expected INITIATE");
    const transient = this.#transient;
    const clientTransient = this.#clientTransient;
    if (!transient || !this.#cookieKey || !clientTransient) refuse("INITIATE before HELLO");
    if (this.#key) refuse("a second INITIATE");
    if (body.length < INITIATE_MIN) refuse("an INITIATE too short to hold a vouch");
    const cookie = mustOpen(
      this.#cookieKey,
      nonce("COOKIE--", body.subarray(9, 25)),
      body.subarray(25, 105),
      "the cookie of the client's INITIATE",
    );
    if (
      !equal(cookie.subarray(0, KEY_SIZE), clientTransient) ||
      !equal(cookie.subarray(KEY_SIZE), transient.secretKey)
    ) {
      refuse("the cookie of the client's INITIATE is not ours");
    }
    const short = body.subarray(105, 113);
    const counter = readCounter(short, 0);
    if (!(counter > this.#received)) refuse("an INITIATE whose nonce did not increase");
    const key = precompute(clientTransient, transient.secretKey);
    const plain = mustOpen(
      key,
      nonce("CurveZMQINITIATE", short),
      body.subarray(113),
      "the client's INITIATE",
    );
    const clientKey = plain.slice(0, KEY_SIZE);
    const vouch = mustOpen(
      precompute(clientKey, transient.secretKey),
      nonce("VOUCH---", plain.subarray(32, 48)),
      plain.subarray(48, 128),
      "the vouch of the client's INITIATE",
    );
    if (
      !equal(vouch.subarray(0, KEY_SIZE), clientTransient) ||
      !equal(vouch.subarray(KEY_SIZE), this.#publicKey)
    ) {
      refuse("the vouch of the client's INITIATE is for another connection");
    }
    this.#key = key;
    this.#received = counter;
    return { clientKey, metadata: plain.subarray(128) };
  }

  /** The READY frame carrying our metadata, and the codec of the messages from now on. */
  ready(metadata: Uint8Array): { frame: Uint8Array; codec: CurveCodec } {
    if (!this.#key) throw new ZmqError("EFSM", "READY before INITIATE");
    const short = shortNonce(1);
    const box = seal(this.#key, nonce("CurveZMQREADY---", short), metadata);
    const codec = new CurveCodec(
      this.#key,
      "CurveZMQMESSAGES",
      "CurveZMQMESSAGEC",
      2,
      this.#received,
    );
    return { frame: encodeFrame(FLAG_COMMAND, concat(READY, short, box)), codec };
  }
}
