/**
 * A ZMTP 3.1 connection over a byte stream (a tcp:// or ipc:// `Deno.Conn`) with the NULL or
 * the CURVE mechanism, as a {@linkcode Pipe} of its socket.
 *
 * - Handshake: our greeting and READY go out at once; the peer's greeting is checked byte by byte
 *   as it arrives (a peer that is not speaking ZMTP 3 is dropped at its first wrong byte), then
 *   its READY must name a compatible socket type, else it gets an ERROR and is closed.
 * - CURVE (`curve.ts`): the greeting must name CURVE (ours sets the as-server flag on a server's
 *   side, as RFC 37 asks; libzmq 4.3 never does, so the peer's is not checked); a client
 *   sends HELLO at once, a server answers it with WELCOME, checks the INITIATE, asks
 *   `curveAuthorize` (refused: ERROR "400") and the socket, and only then sends READY; from there
 *   every frame, commands and subscriptions included, is sealed in a MESSAGE. A client whose
 *   server hangs up mid-handshake (a wrong server key, or our key not allowed) says so; a
 *   connector's repeated failure is logged once at warning level, then at debug level.
 * - Reading: into one buffer (16 KiB, growing to 256 KiB while reads fill it); each frame is
 *   copied out of it whole (no per-byte work; small frames share a slab, which only message
 *   frames take: commands are parsed in place), and a frame too large for the buffer is read
 *   straight into its own array (memory its consumer handed back with `releaseFrame`, if there
 *   is some: `frame_pool.ts`). A message is delivered only when its last frame has arrived, so
 *   a peer vanishing mid-message delivers nothing; a command between its frames closes the
 *   connection (ZMTP has none there). Reading pauses while the inbox is at the receive
 *   high-water mark (until it is down to half of it) or the socket holds `maxUnreadBytes`, the
 *   rest of the buffer kept for later (TCP then pushes back on the peer), and parsing lets the
 *   thread's timers run once it has kept them waiting 25 ms (a stream of tiny frames is parsed
 *   without a read between).
 * - Writing: everything queued is coalesced into one buffer per write (growing like the read
 *   buffer); frames of `DIRECT_SIZE` bytes or more are written from the caller's array without
 *   a copy.
 * - Heartbeats: PINGs are answered with PONG; with `heartbeatInterval` we PING and drop a silent
 *   peer (every read counts as life, each piece of a large frame too); a peer's PING
 *   time-to-live is honoured. While reading waits for the application (the pause above), the
 *   peer's silence is ours, not its: neither the timeout nor the time-to-live drops it then,
 *   and their clock starts again when reading does (libzmq drops such a peer). PINGs go on (the
 *   peer's own heartbeat hears us), no more of them queued than of PONGs.
 *
 * @module
 */

import { errorMessage } from "../log.ts";
import {
  CurveClient,
  type CurveCodec,
  CurveServer,
  SEALED_COMMAND,
  SEALED_MORE,
  SEALED_OVERHEAD,
} from "./curve.ts";
import {
  type Command,
  encodeCommand,
  encodeError,
  encodePing,
  encodePong,
  encodeProperties,
  encodeReady,
  errorReason,
  parseCommand,
  parseMetadata,
  pingTtl,
} from "./command.ts";
import { ZmqError } from "./errors.ts";
import { takeFrame } from "./frame_pool.ts";
import {
  encodeFrame,
  FLAG_COMMAND,
  FLAG_LONG,
  FLAG_MORE,
  type FrameHeader,
  headerSize,
  readHeader,
  writeHeader,
} from "./frame.ts";
import { checkGreetingStart, encodeGreeting, GREETING_SIZE, parseGreeting } from "./greeting.ts";
import {
  EMPTY,
  log,
  type Message,
  Pipe,
  type PipeOwner,
  subscriptionMessage,
  type Timer,
} from "./pipe.ts";
import { sendsIdentity } from "./socket_type.ts";
import { z85Encode } from "./z85.ts";

/** The read and write buffers start this small (most connections are quiet)... */
const BUFFER_MIN = 16 * 1024;
/** ...and grow up to this when a read or a write fills them (frames that fit are copied). */
const BUFFER_MAX = 256 * 1024;
/** Frames at least this large are written from the sender's array, not copied. */
const DIRECT_SIZE = 128 * 1024;
/** At most this many separate writes are prepared at once (direct frames each need one). */
const MAX_CHUNKS = 32;
/** Frames up to this size are copied into a shared slab rather than each into its own buffer. */
const SLAB_FRAME = 2048;
/** The slab size: one allocation serves many small frames (a frame keeps its slab alive). */
const SLAB_SIZE = 64 * 1024;
/** The slab all connections of this thread carve small frames from (as Node's Buffer pool). */
let slab = new Uint8Array(0);
let slabUsed = 0;
/**
 * Reading checks every this many frames (plus one: a mask) whether it has kept the thread's
 * timers from running too long: a buffer of 256 KiB holds 131,072 empty frames, and a peer
 * streaming them kept the loop parsing, its timers (heartbeats) and other connections waiting,
 * for 14 s and more.
 */
const PACE_FRAMES = 0xff;
/**
 * Parsing that has kept a timer waiting this long lets timers (and other connections) run, and
 * sets such a timer at most this often: a busy connection's reads can keep timers waiting too
 * (REQ/REP round trips), and the timers themselves cost (one every 256 frames took 4% of the
 * round trips).
 */
const PACE_MS = 25;
/** When the timer {@linkcode starved} last set was set (undefined once it has run). */
let probe: number | undefined;
/** When that timer last ran. */
let probed = 0;

/**
 * Whether the thread's timers have been kept waiting {@linkcode PACE_MS} or more: a timer set
 * at a first call, and not run by a later one that long after, says so. A buffer full of frames
 * is parsed without a wait, and a peer sending without pause keeps it full: reading cannot count
 * on its reads to let timers run.
 */
function starved(): boolean {
  const now = performance.now();
  if (probe === undefined) {
    if (now - probed >= PACE_MS) {
      probe = now;
      setTimeout(() => {
        probe = undefined;
        probed = performance.now();
      }, 0);
    }
    return false;
  }
  return now - probe >= PACE_MS;
}

/** Resolves once the timers due have run (and the event loop has served what was ready). */
function timers(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The largest command frame accepted (commands carry names, metadata and topics). */
const MAX_COMMAND = 64 * 1024;
/**
 * The most frames one message may have: each is an object held until the message ends, and an
 * empty one counted nothing against maxMessageSize, so a stream of empty frames flagged MORE
 * grew the heap until the process died (64 MiB of them did). No peer of ours sends more than a
 * few (WIRE.md: three at most).
 */
export const MAX_PARTS = 64;
/**
 * The most commands (a PONG for each PING) waiting to be written: a peer that sends PINGs and
 * never reads made one of each, without end, and writing them out took time growing with the
 * square of their number (400,000: 107 s with nothing else served). A PING beyond it gets no
 * PONG: the peer's heartbeat only needs one; nor is a PING of ours queued beyond it.
 */
const MAX_PENDING_COMMANDS = 16;

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

/** How many distinct failures a listener remembers; a new one past that is logged at debug. */
const LISTENER_FAULTS = 100;
/** How long until a listener's failure seen before is logged at warning level again. */
const LISTENER_FAULTS_AGAIN_MS = 3_600_000;

/**
 * What an endpoint remembers of its connections' failures, so that the same kind of failure
 * again is logged at warning level once: a connector's (a CURVE server refusing us on every
 * retry) until one of its connections completes its handshake; a listener's (a misconfigured or
 * hostile peer retrying) once an hour, and no more than {@linkcode LISTENER_FAULTS} distinct
 * ones. A failure's kind is its text without what the peer chose ({@linkcode faultKind}): else
 * 100 peers each sending ERROR with a reason of its own took every place for good.
 */
export class Faults {
  readonly #seen = new Map<string, number>();

  /** A connector's or a listener's (see the class). */
  constructor(readonly kind: "connector" | "listener") {}

  /** Whether a failure's kind is news, to log at warning level (and remembers it if so). */
  fresh(reason: string): boolean {
    const now = Date.now();
    const key = faultKind(reason);
    const at = this.#seen.get(key);
    if (this.kind === "connector") {
      if (at !== undefined) return false;
    } else {
      if (at !== undefined && now - at < LISTENER_FAULTS_AGAIN_MS) return false;
      if (at === undefined && this.#seen.size >= LISTENER_FAULTS) return false;
    }
    this.#seen.set(key, now);
    return true;
  }

  /** A connection completed its handshake: a connector's failures are news again. */
  succeeded(): void {
    if (this.kind === "connector") this.#seen.clear();
  }
}

/**
 * A failure's kind: its text with what the peer chose (quoted as JSON strings, wherever a
 * failure names it) and numbers left out.
 */
function faultKind(reason: string): string {
  return reason.replace(/"(?:[^"\\]|\\.)*"|0x[0-9a-f]+|\d+/g, "…");
}

/**
 * Unfinished messages of this many bytes or more count against the listener's
 * `maxUnfinishedBytes` (smaller ones arrive in one read of the buffer, or nearly).
 */
const UNFINISHED_COUNTED = 64 * 1024;

/** What a listener lets its connections hold of unfinished messages, all together. */
export interface ReceiveBudget {
  /** The connection holds `bytes` now (all it held before included); throws if it may not. */
  hold(bytes: number): void;
  /** The connection holds nothing any more. */
  release(): void;
}

/** A ZMTP connection: one peer of a socket over a stream. */
export class Connection extends Pipe {
  readonly #conn: Deno.Conn;
  readonly #faults: Faults | undefined;
  /** Frames written as they are: the greeting, handshake commands, ERROR. */
  readonly #control: Uint8Array[] = [];
  /** CURVE: commands and subscriptions to seal once the handshake is done (full frames). */
  readonly #sealed: Uint8Array[] = [];
  /** CURVE: the handshake's side (undefined with NULL). */
  readonly #curve: CurveClient | CurveServer | undefined;
  /** CURVE: the MESSAGE boxes, once the handshake is done. */
  #codec: CurveCodec | undefined;
  readonly #reader: Promise<void>;
  #writer: Promise<void> = Promise.resolve();
  #writing = false;
  #batch = new Uint8Array(BUFFER_MIN);
  #destroyed = false;
  #ready = false;
  #ending = false;
  /** How much of the peer's greeting has arrived (all of it, once it has). */
  #greeting = 0;
  #minor = 1;
  #parts: Message = [];
  #partsSize = 0;
  /** Whether the frames of the message arriving are read past (it is over maxMessageSize). */
  #skipping = false;
  #resume: (() => void) | undefined;
  #lastRead = Date.now();
  #handshakeTimer: Timer | undefined;
  #heartbeat: Timer | undefined;
  #ttlTimer: Timer | undefined;
  readonly #budget: ReceiveBudget | undefined;
  /** Whether the unfinished message counts against the budget. */
  #holding = false;

  /**
   * Starts the handshake on a connected stream; `peer` names the peer in log lines, and a
   * connector passes what it remembers of its `faults`.
   */
  constructor(
    owner: PipeOwner,
    conn: Deno.Conn,
    peer: string,
    faults?: Faults,
    budget?: ReceiveBudget,
  ) {
    super(owner, peer);
    this.#conn = conn;
    this.#faults = faults;
    this.#budget = budget;
    const limit = owner.options.handshakeInterval;
    if (limit > 0) {
      this.#handshakeTimer = setTimeout(() => this.abort("handshake timed out"), limit);
    }
    const curve = owner.options.curve;
    if (!curve) {
      this.#control.push(
        encodeGreeting(),
        encodeReady(owner.type, this.#identity, owner.options.metadata),
      );
    } else if (curve.server) {
      this.#curve = new CurveServer(curve.secretKey, curve.publicKey);
      this.#control.push(encodeGreeting("CURVE", true));
    } else {
      const client = new CurveClient(curve);
      this.#curve = client;
      this.#control.push(encodeGreeting("CURVE", false), client.hello());
    }
    this.flush();
    this.#reader = this.#read();
  }

  /** The routing id we announce, if our type announces one. */
  get #identity(): Uint8Array | undefined {
    return sendsIdentity(this.owner.type) ? this.owner.options.routingId : undefined;
  }

  /**
   * Queues a SUBSCRIBE or CANCEL (a 3.0 peer gets the equivalent message instead, and so does a
   * CURVE peer: every libzmq takes it, sealed or not).
   */
  subscribe(topic: Uint8Array, on: boolean): void {
    if (this.#curve) {
      this.#sealed.push(encodeFrame(0, subscriptionMessage(topic, on)[0]!));
    } else {
      this.#control.push(
        this.#minor >= 1
          ? encodeCommand(on ? "SUBSCRIBE" : "CANCEL", topic)
          : encodeFrame(0, subscriptionMessage(topic, on)[0]!),
      );
    }
    this.flush();
  }

  /** Queues a command after the handshake (PING, PONG): sealed under CURVE. */
  #send(frame: Uint8Array): void {
    (this.#curve ? this.#sealed : this.#control).push(frame);
    this.flush();
  }

  /** Resolves when the connection has ended and both loops have finished. */
  get done(): Promise<void> {
    return this.#reader.then(() => this.#writer);
  }

  /** Whether anything is still to be written. */
  protected get busy(): boolean {
    return !this.#destroyed &&
      (this.#writing || this.#control.length > 0 || this.#sealed.length > 0 ||
        this.outbox.length > 0);
  }

  /** Starts the write loop unless it runs already. */
  protected flush(): void {
    if (this.#writing || this.#destroyed) return;
    this.#writing = true;
    this.#writer = this.#write();
  }

  /** Whether reading waits: the inbox is at the high-water mark, or the socket holds too much. */
  get #paused(): boolean {
    return this.full || this.owner.unread.over;
  }

  /**
   * Resumes reading once the inbox is down to half the high-water mark (as libzmq: woken for
   * every message read, a full reader parsed one message a wake) and the socket below its
   * `maxUnreadBytes` (waiting for the socket's reads if only the latter is not).
   */
  protected consumed(): void {
    if (!this.#resume) return;
    const hwm = this.owner.options.receiveHighWaterMark;
    if (hwm > 0 && this.inbox.length > hwm >> 1) return;
    if (this.owner.unread.over) {
      this.owner.unread.wait(this.#wake);
      return;
    }
    const resume = this.#resume;
    this.#resume = undefined;
    this.#lastRead = Date.now(); // the peer's silence counts from now (see #silence)
    resume();
  }

  /** {@linkcode consumed}, as the socket's unread bytes call it. */
  readonly #wake = () => this.consumed();

  /** Closes the stream; both loops end. */
  protected destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#handshakeTimer);
    clearInterval(this.#heartbeat);
    clearTimeout(this.#ttlTimer);
    try {
      this.#conn.close();
    } catch {
      // closed already
    }
    this.#resume?.();
    this.outbox.clear();
    this.#let();
    this.settled();
  }

  /** Lets go of the unfinished message's bytes (delivered, or the connection gone). */
  #let(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.#budget!.release();
  }

  /**
   * Closes the connection at once for a fault of the peer's (its handshake or heartbeat timed
   * out), logged as any other: a listener's peers can make these up without end.
   */
  override abort(reason: string): void {
    this.#fail(reason);
  }

  #end(reason: string): void {
    log.debug(`${this.peer}: ${reason}`);
    this.detach();
    this.destroy();
  }

  /**
   * Closes the connection for a fault of the peer's, logging why: at warning level, unless it
   * is a connector's same failure again.
   */
  #fail(reason: string): void {
    const line = `${this.peer}: ${reason}; closing the connection`;
    if (this.#faults?.fresh(reason) ?? true) log.warning(line);
    else log.debug(line);
    this.detach();
    this.destroy();
  }

  async #read(): Promise<void> {
    try {
      await this.#readLoop();
      if (!this.#destroyed) this.#ended("closed by the peer");
    } catch (e) {
      if (this.#destroyed) return;
      if (e instanceof ZmqError) this.#fail(e.message);
      else this.#ended(`read failed: ${errorMessage(e)}`);
    }
  }

  /**
   * The peer ended the connection (closed it, or reset it and a read or write failed): a
   * CURVE handshake cut short says what it may mean, else `how` is logged for debugging.
   */
  #ended(how: string): void {
    if (this.#curve && !this.#ready) {
      if (this.#greeting < GREETING_SIZE) {
        // libzmq hangs up on a greeting naming another mechanism, often before sending its own
        this.#fail("the peer hung up before finishing its greeting: does it speak CURVE?");
        return;
      }
      if (this.#curve instanceof CurveClient) {
        this.#fail(
          "the server hung up during the CURVE handshake (is curveServerKey its public key? " +
            "does it allow our key?)",
        );
        return;
      }
    }
    this.#end(how);
  }

  async #readLoop(): Promise<void> {
    const conn = this.#conn;
    let buf = new Uint8Array(BUFFER_MIN);
    let start = 0;
    let end = 0;
    while (end < GREETING_SIZE) {
      const n = await conn.read(buf.subarray(end));
      if (n === null) return;
      end += n;
      checkGreetingStart(buf, end);
      this.#greeting = end;
    }
    this.#greeted(buf.subarray(0, GREETING_SIZE));
    start = GREETING_SIZE;
    const header: FrameHeader = { flags: 0, size: 0, headerSize: 0 };
    let frames = 0;
    for (;;) {
      while (readHeader(buf, start, end, header)) {
        if ((++frames & PACE_FRAMES) === 0 && starved()) {
          await timers();
          if (this.#destroyed) return;
        }
        const total = header.headerSize + header.size;
        if (this.#check(header)) {
          // read past, a buffer's worth at a time
          if (end - start >= total) {
            start += total;
          } else {
            let left = total - (end - start);
            start = end = 0;
            while (left > 0) {
              const n = await conn.read(buf.subarray(0, Math.min(buf.length, left)));
              if (n === null) return;
              left -= n;
              this.#lastRead = Date.now();
            }
          }
          if (!(header.flags & FLAG_MORE)) this.#skipping = false;
          continue;
        }
        let body: Uint8Array;
        if (end - start >= total) {
          const at = start + header.headerSize;
          // a sealed frame is opened into a new array, and a command (once the handshake's
          // are done) is parsed at once, nothing of it kept: no need to copy either out first
          body = this.#codec || (header.flags & FLAG_COMMAND && !this.#curve)
            ? buf.subarray(at, at + header.size)
            : this.#copy(buf, at, header.size);
          start += total;
        } else if (total <= buf.length) {
          break;
        } else {
          body = allocate(header.size);
          body.set(buf.subarray(start + header.headerSize, end));
          let filled = end - start - header.headerSize;
          start = end = 0;
          while (filled < body.length) {
            const n = await conn.read(body.subarray(filled));
            if (n === null) return;
            filled += n;
            this.#lastRead = Date.now();
          }
        }
        this.#frame(header.flags, body);
        if (this.#destroyed) return;
        // the rest of the buffer waits while reading does
        if (this.#paused) break;
      }
      if (this.#paused) {
        if (this.owner.unread.over) {
          log.debug(`${this.peer}: reading waits: the socket holds maxUnreadBytes unread`);
        }
        await new Promise<void>((resolve) => {
          this.#resume = resolve;
          this.consumed(); // waits for the socket's reads if need be
        });
        if (this.#destroyed) return;
        continue; // what the buffer holds first
      }
      if (start === end) {
        start = end = 0;
      } else if (start > 0) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const n = await conn.read(buf.subarray(end));
      if (n === null) return;
      if (end + n === buf.length && buf.length < BUFFER_MAX) buf = grow(buf, end + n);
      end += n;
      this.#lastRead = Date.now();
    }
  }

  /** A frame's body out of the read buffer: small ones share a slab, others get their own. */
  #copy(buf: Uint8Array, at: number, size: number): Uint8Array {
    if (size > SLAB_FRAME) return buf.slice(at, at + size);
    if (slabUsed + size > slab.length) {
      slab = new Uint8Array(SLAB_SIZE);
      slabUsed = 0;
    }
    const body = slab.subarray(slabUsed, slabUsed + size);
    body.set(buf.subarray(at, at + size));
    slabUsed += size;
    return body;
  }

  #greeted(bytes: Uint8Array): void {
    const greeting = parseGreeting(bytes);
    if (this.#curve) {
      // libzmq 4.3 sends the as-server flag clear whichever side it is: it is not checked
      if (greeting.mechanism !== "CURVE") {
        const theirs = greeting.mechanism ? JSON.stringify(greeting.mechanism) : "none";
        throw new ZmqError("EPROTO", `the peer's security mechanism is ${theirs}, and ours CURVE`);
      }
    } else if (greeting.mechanism !== "NULL") {
      throw new ZmqError(
        "EPROTO",
        `unsupported security mechanism ${JSON.stringify(greeting.mechanism)}`,
      );
    }
    this.#minor = greeting.major > 3 ? 1 : greeting.minor;
  }

  /** Checks a frame's header before its body is read; true when the body is to be read past. */
  #check(header: FrameHeader): boolean {
    if (this.#codec) {
      // every frame is a MESSAGE (whatever its outer flags): its frame is 33 bytes smaller
      const max = this.owner.options.maxMessageSize;
      if (max >= 0 && this.#partsSize + header.size - SEALED_OVERHEAD > max) {
        throw new ZmqError("EPROTO", `a message larger than maxMessageSize (${max} bytes)`);
      }
      this.#hold(this.#partsSize + header.size);
      return false;
    }
    if (header.flags & FLAG_COMMAND) {
      if (header.flags & FLAG_MORE) throw new ZmqError("EPROTO", "a command frame with MORE set");
      if (header.size > MAX_COMMAND) throw new ZmqError("EPROTO", "oversized command frame");
      return false;
    }
    if (!this.#ready) throw new ZmqError("EPROTO", "a message before the handshake completed");
    if (this.#skipping) return true;
    const max = this.owner.options.maxMessageSize;
    const unfinished = this.#partsSize + header.size;
    if (max >= 0 && unfinished > max) {
      if (!this.owner.options.skipOversized) {
        throw new ZmqError("EPROTO", `a message larger than maxMessageSize (${max} bytes)`);
      }
      const why = `skipped a message larger than maxMessageSize (${max} bytes)`;
      if (this.#faults?.fresh(why) ?? true) log.warning(`${this.peer}: ${why}`);
      else log.debug(`${this.peer}: ${why}`);
      this.#skipping = true;
      this.#parts = [];
      this.#partsSize = 0;
      this.#let();
      return true;
    }
    this.#hold(unfinished);
    return false;
  }

  /** Counts a message's bytes so far against the listener's budget, once they are many. */
  #hold(unfinished: number): void {
    if (this.#budget && unfinished >= UNFINISHED_COUNTED) {
      this.#holding = true;
      this.#budget.hold(unfinished);
    }
  }

  #frame(flags: number, body: Uint8Array): void {
    if (this.#codec) {
      body = this.#codec.open(body);
      const inner = this.#codec.flags;
      flags = (inner & SEALED_MORE ? FLAG_MORE : 0) | (inner & SEALED_COMMAND ? FLAG_COMMAND : 0);
      if (flags & FLAG_COMMAND && (flags & FLAG_MORE || body.length > MAX_COMMAND)) {
        throw new ZmqError("EPROTO", "a sealed command with MORE set, or oversized");
      }
    } else if (this.#curve && flags & FLAG_COMMAND) {
      this.#curveHandshake(body);
      return;
    }
    if (flags & FLAG_COMMAND) {
      // ZMTP has none between the frames of a message
      if (this.#parts.length > 0 || this.#skipping) {
        throw new ZmqError("EPROTO", "a command in the middle of a message");
      }
      this.#command(parseCommand(body));
      return;
    }
    if (!(flags & FLAG_MORE) && this.#parts.length === 0) {
      this.#let();
      this.deliver([body]);
      return;
    }
    if (this.#parts.length >= MAX_PARTS) {
      throw new ZmqError("EPROTO", `a message of more than ${MAX_PARTS} frames`);
    }
    this.#parts.push(body);
    this.#partsSize += body.length;
    if (flags & FLAG_MORE) return;
    const message = this.#parts;
    this.#parts = [];
    this.#partsSize = 0;
    this.#let();
    this.deliver(message);
  }

  #command({ name, data }: Command): void {
    if (name === "ERROR") {
      throw new ZmqError("EPROTO", `the peer sent ERROR ${JSON.stringify(errorReason(data))}`);
    }
    if (!this.#ready) {
      if (name !== "READY") {
        throw new ZmqError("EPROTO", `expected READY, got ${JSON.stringify(name)}`);
      }
      this.#handshake(data);
      return;
    }
    switch (name) {
      case "PING": {
        if (this.#control.length + this.#sealed.length < MAX_PENDING_COMMANDS) {
          this.#send(encodePong(data));
        }
        const ttl = pingTtl(data);
        if (ttl > 0) this.#watch(ttl);
        break;
      }
      case "SUBSCRIBE":
      case "CANCEL":
        if (this.owner.type === "PUB") {
          this.deliver(subscriptionMessage(data, name === "SUBSCRIBE"));
        }
        break;
      default:
        // PONG (its arrival already counts as life) and commands we do not know are ignored.
    }
  }

  /** A command of the CURVE handshake (its whole body): the next step, or a refusal. */
  #curveHandshake(body: Uint8Array): void {
    if (this.#ending) return; // refused: whatever else it says goes unheard
    const { name, data } = parseCommand(body);
    const curve = this.#curve!;
    if (name === "ERROR") {
      const reason = errorReason(data);
      const hint = curve instanceof CurveClient && reason === "400"
        ? " (it does not allow our key)"
        : "";
      throw new ZmqError("EPROTO", `the peer sent ERROR ${JSON.stringify(reason)}${hint}`);
    }
    if (curve instanceof CurveClient) {
      if (name === "WELCOME") {
        this.#control.push(curve.welcome(body, this.#properties()));
        this.flush();
      } else {
        const { metadata, codec } = curve.ready(body);
        this.#codec = codec;
        this.#handshake(metadata);
      }
      return;
    }
    if (name === "HELLO") {
      this.#control.push(curve.hello(body));
      this.flush();
      return;
    }
    const { clientKey, metadata } = curve.initiate(body);
    const authorize = this.owner.options.curve!.authorize;
    if (authorize && !this.#authorized(authorize, clientKey)) {
      this.#refuse(`the CURVE client key "${z85Encode(clientKey)}" is not authorised`, "400");
      return;
    }
    this.#handshake(metadata, curve);
  }

  /** Asks the authorisation hook; one that throws refuses. */
  #authorized(authorize: (key: Uint8Array, peer: string) => boolean, key: Uint8Array): boolean {
    try {
      return authorize(key.slice(), this.peer) === true;
    } catch (e) {
      log.error(`${this.peer}: curveAuthorize failed: ${errorMessage(e)}`);
      return false;
    }
  }

  /** The properties we announce in the handshake. */
  #properties(): Uint8Array {
    return encodeProperties(this.owner.type, this.#identity, this.owner.options.metadata);
  }

  /**
   * Refuses the peer: logs why (at warning level if it is news), sends ERROR with `reason` and
   * closes once it is written.
   */
  #refuse(why: string, reason = why): void {
    const line = `${this.peer}: ${why}; closing the connection`;
    if (this.#faults?.fresh(why) ?? true) log.warning(line);
    else log.debug(line);
    this.#control.push(encodeError(reason));
    this.#ending = true;
    this.flush();
  }

  /**
   * Completes the handshake with the peer's metadata; a CURVE server's READY goes out (sealing
   * begins) only once the socket has taken the peer.
   */
  #handshake(metadata: Uint8Array, server?: CurveServer): void {
    const properties = parseMetadata(metadata);
    const type = properties.get("socket-type");
    if (!type) throw new ZmqError("EPROTO", "READY without a Socket-Type");
    const identity = properties.get("identity") ?? EMPTY;
    // as libzmq: a ROUTER's routing ids are short, and those starting with 0 its own
    if (identity.length > 255 || identity[0] === 0) {
      throw new ZmqError("EPROTO", "an Identity over 255 bytes long, or starting with a zero byte");
    }
    clearTimeout(this.#handshakeTimer);
    this.#ready = true;
    const application = new Map<string, string>();
    for (const [name, value] of properties) {
      if (name.startsWith("x-")) application.set(name, utf8.decode(value));
    }
    const refused = this.handshake(
      latin1.decode(type),
      identity.slice(),
      application,
    );
    if (refused) {
      this.#refuse(refused);
      return;
    }
    this.#faults?.succeeded();
    if (server) {
      const { frame, codec } = server.ready(this.#properties());
      this.#control.push(frame);
      this.#codec = codec;
      this.flush();
    }
    const { heartbeatInterval, heartbeatTimeout, heartbeatTimeToLive } = this.owner.options;
    // a ZMTP 3.0 peer (libzmq 4.1) knows no PING
    if (heartbeatInterval > 0 && this.#minor >= 1) {
      const ping = encodePing(Math.ceil(heartbeatTimeToLive / 100), EMPTY);
      this.#heartbeat = setInterval(() => {
        if (this.#silence() > heartbeatTimeout) {
          this.abort("no heartbeat from the peer");
        } else if (this.#control.length + this.#sealed.length < MAX_PENDING_COMMANDS) {
          // a peer that reads nothing of ours while we read nothing of its has one PING per
          // interval waiting: the few queued are all it needs
          this.#send(ping);
        }
      }, heartbeatInterval);
    }
  }

  /**
   * How long the peer has been silent, as far as we can tell: since the last read, or since
   * reading resumed if it waited since; not at all while reading waits for the application
   * (what the peer sent meanwhile is unread: the silence is ours).
   */
  #silence(): number {
    return this.#resume ? 0 : Date.now() - this.#lastRead;
  }

  /** Drops the connection if the peer stays silent longer than the TTL its PING asked for. */
  #watch(ttl: number): void {
    if (this.#ttlTimer !== undefined) return;
    const check = () => {
      const idle = this.#silence();
      if (idle >= ttl) this.abort("the peer's heartbeat time-to-live expired");
      else this.#ttlTimer = setTimeout(check, ttl - idle);
    };
    this.#ttlTimer = setTimeout(check, ttl);
  }

  async #write(): Promise<void> {
    try {
      for (let chunks = this.#encode(); chunks.length > 0; chunks = this.#encode()) {
        for (const chunk of chunks) {
          for (let at = 0; at < chunk.length;) at += await this.#conn.write(chunk.subarray(at));
        }
      }
    } catch (e) {
      if (!this.#destroyed) this.#ended(`write failed: ${errorMessage(e)}`);
    } finally {
      this.#writing = false;
    }
    if (this.#ending) this.#end("refused");
    this.settled();
  }

  /** Takes what is queued (commands first) and lays it out as the chunks to write next. */
  #encode(): Uint8Array[] {
    if (this.#curve) return this.#encodeSealed();
    const chunks: Uint8Array[] = [];
    const batch = this.#batch;
    let target = batch;
    let used = 0;
    let from = 0;
    for (const frame of this.#control.splice(0)) {
      if (used + frame.length > batch.length) {
        if (used > from) chunks.push(batch.subarray(from, used));
        chunks.push(frame);
        from = used;
      } else {
        batch.set(frame, used);
        used += frame.length;
      }
    }
    let taken = 0;
    for (let message = this.outbox.peek(); message; message = this.outbox.peek()) {
      let small = 0;
      for (const frame of message) {
        small += headerSize(frame.length) + (frame.length >= DIRECT_SIZE ? 0 : frame.length);
      }
      if (used + small > batch.length) {
        if (batch.length < BUFFER_MAX) this.#batch = grow(batch, 0);
        if (used > 0 || chunks.length > 0) break;
        target = new Uint8Array(small);
      }
      const last = message.length - 1;
      for (let i = 0; i <= last; i++) {
        const frame = message[i]!;
        used = writeHeader(target, used, i < last ? FLAG_MORE : 0, frame.length);
        if (frame.length >= DIRECT_SIZE) {
          chunks.push(target.subarray(from, used), frame);
          from = used;
        } else {
          target.set(frame, used);
          used += frame.length;
        }
      }
      this.outbox.shift();
      taken++;
      if (target !== batch || chunks.length >= MAX_CHUNKS) break;
    }
    if (used > from) chunks.push(target.subarray(from, used));
    if (taken > 0) this.owner.writable(this);
    return chunks;
  }

  /**
   * CURVE: the handshake's frames as they are, then (once sealing has begun) the commands and
   * messages queued, each frame sealed in a MESSAGE: into the write buffer while they fit,
   * a message larger than it into its own array.
   */
  #encodeSealed(): Uint8Array[] {
    const chunks = this.#control.splice(0);
    const codec = this.#codec;
    if (!codec || this.#ending) return chunks;
    for (const frame of this.#sealed.splice(0)) {
      const long = frame[0]! & FLAG_LONG;
      const body = frame.subarray(long ? 9 : 2);
      const out = new Uint8Array(codec.sealedSize(body.length));
      codec.seal(out, 0, frame[0]! & FLAG_COMMAND ? SEALED_COMMAND : 0, body);
      chunks.push(out);
    }
    const batch = this.#batch;
    let used = 0;
    let taken = 0;
    for (let message = this.outbox.peek(); message; message = this.outbox.peek()) {
      let size = 0;
      for (const frame of message) size += codec.sealedSize(frame.length);
      let target = batch;
      let at = used;
      if (used + size > batch.length) {
        if (batch.length < BUFFER_MAX) this.#batch = grow(batch, 0);
        if (used > 0) break;
        // 3 bytes ahead put a long frame's box on a 4-byte boundary: the cipher runs faster so
        target = new Uint8Array(size + 3).subarray(3);
        at = 0;
      }
      const last = message.length - 1;
      for (let i = 0; i <= last; i++) {
        at = codec.seal(target, at, i < last ? SEALED_MORE : 0, message[i]!);
      }
      this.outbox.shift();
      taken++;
      if (target !== batch) {
        chunks.push(target);
        break;
      }
      used = at;
    }
    if (used > 0) chunks.push(batch.subarray(0, used));
    if (taken > 0) this.owner.writable(this);
    return chunks;
  }
}

/** A buffer four times as large (up to BUFFER_MAX) holding the first `keep` bytes of `buf`. */
function grow(buf: Uint8Array, keep: number): Uint8Array<ArrayBuffer> {
  const larger = new Uint8Array(Math.min(buf.length * 4, BUFFER_MAX));
  larger.set(buf.subarray(0, keep));
  return larger;
}

function allocate(size: number): Uint8Array {
  try {
    return takeFrame(size);
  } catch {
    throw new ZmqError("EPROTO", `cannot allocate a frame of ${size} bytes`);
  }
}
