/**
 * The socket machinery every type shares: endpoints (bind, unbind, connect, disconnect), the
 * pipes of the peers, sends and receives that wait (up to their timeouts) when the socket cannot
 * go on, and close with linger. The types (`sockets/`) decide where a message goes and what a
 * message received becomes.
 *
 * @module
 */

import { type Endpoint, parseEndpoint } from "./endpoint.ts";
import { isZmqError, ZmqError } from "./errors.ts";
import { type ResolvedOptions, resolveOptions, type SocketOptions } from "./options.ts";
import { type Message, type Pipe, type PipeOwner, type Timer, UnreadBytes } from "./pipe.ts";
import { Queue } from "./queue.ts";
import { FairQueue, LoadBalancer } from "./routing.ts";
import type { SocketType } from "./socket_type.ts";
import { bindInproc, connectInproc } from "./transports/inproc.ts";
import { bindIpc, connectIpc } from "./transports/ipc.ts";
import type { EndpointHandle } from "./transports/stream.ts";
import { bindTcp, connectTcp } from "./transports/tcp.ts";

/** A frame as `send` takes it: bytes, or a string (sent as UTF-8). */
export type FrameLike = Uint8Array | string;

/** A message as `send` takes it: one frame, or its frames in order. */
export type MessageLike = FrameLike | readonly FrameLike[];

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: Timer | undefined;
  done: boolean;
  message?: Message;
}

const RESOLVED = Promise.resolve();
const encoder = new TextEncoder();

/** A frame as bytes. */
export function toFrame(frame: FrameLike): Uint8Array {
  if (typeof frame === "string") return encoder.encode(frame);
  if (!(frame instanceof Uint8Array)) {
    throw new ZmqError("EINVAL", "a frame must be a Uint8Array or a string");
  }
  if ((frame.buffer as ArrayBuffer).detached) {
    throw new ZmqError("EINVAL", "the frame's buffer was transferred (by an earlier send?)");
  }
  return frame;
}

/** A message as an array of frames (at least one). */
function toMessage(message: MessageLike): Message {
  if (typeof message === "string" || message instanceof Uint8Array) return [toFrame(message)];
  if (!Array.isArray(message) || message.length === 0) {
    throw new ZmqError("EINVAL", "a message must be a frame or a non-empty array of frames");
  }
  return message.map(toFrame);
}

function settle<T>(waiter: Waiter<T>, value: T): void {
  waiter.done = true;
  clearTimeout(waiter.timer);
  waiter.resolve(value);
}

/** What every socket type has. */
export abstract class Socket {
  /** The options in force (timeouts may be changed at any time). */
  readonly options: ResolvedOptions;
  /** The peers that completed their handshake and have not left. */
  protected readonly pipes: Set<Pipe> = new Set();
  /** Fair queueing over the peers with messages to read. */
  protected readonly fq: FairQueue = new FairQueue();
  /** Round-robin over the peers that can take a message. */
  protected readonly lb: LoadBalancer = new LoadBalancer();
  readonly #owner: PipeOwner;
  readonly #bound = new Map<string, EndpointHandle>();
  readonly #connected = new Map<string, EndpointHandle>();
  readonly #sending = new Queue<Waiter<void>>();
  readonly #receiving = new Queue<Waiter<Message>>();
  #pumping = false;
  #closing: Promise<void> | undefined;
  #lastEndpoint: string | undefined;

  /** Makes a socket of a type with options. */
  protected constructor(readonly type: SocketType, options: SocketOptions) {
    this.options = resolveOptions(options);
    this.#owner = {
      type,
      options: this.options,
      unread: new UnreadBytes(this.options.maxUnreadBytes),
      attach: (pipe) => {
        if (!this.attached(pipe)) return false;
        this.pipes.add(pipe);
        this.#pumpSend();
        return true;
      },
      detach: (pipe) => {
        this.pipes.delete(pipe);
        this.detached(pipe);
      },
      readable: (pipe) => {
        this.fq.add(pipe);
        this.#pumpReceive();
      },
      writable: () => this.#pumpSend(),
      filter: (pipe, message) => this.filter(pipe, message),
    };
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The endpoint last bound, as bound (e.g. with the port chosen for port 0). */
  get lastEndpoint(): string | undefined {
    return this.#lastEndpoint;
  }

  /**
   * Binds an endpoint (`tcp://*:5555`, `tcp://127.0.0.1:0`, `ipc:///tmp/x`, `inproc://name`)
   * and resolves to it as bound (with the actual port for port 0).
   */
  async bind(address: string): Promise<string> {
    this.#checkOpen();
    if (this.#bound.has(address)) throw new ZmqError("EADDRINUSE", `${address} is bound already`);
    const handle = await bindEndpoint(this.#owner, parseEndpoint(address));
    if (this.closed) {
      await handle.close(0);
      throw new ZmqError("ETERM", "the socket was closed while binding");
    }
    this.#bound.set(address, handle).set(handle.address, handle);
    this.#lastEndpoint = handle.address;
    return handle.address;
  }

  /** Unbinds an endpoint (as given to `bind`, or as bound) and closes its connections. */
  async unbind(address: string): Promise<void> {
    const handle = this.#bound.get(address);
    if (!handle) throw new ZmqError("ENOENT", `${address} is not bound`);
    for (const [key, value] of this.#bound) if (value === handle) this.#bound.delete(key);
    await handle.close(this.options.linger);
  }

  /** Connects to an endpoint; the connection is made (and remade) in the background. */
  connect(address: string): void {
    this.#checkOpen();
    if (this.#connected.has(address)) {
      throw new ZmqError("EINVAL", `${address} is connected already`);
    }
    this.#connected.set(address, connectEndpoint(this.#owner, parseEndpoint(address)));
  }

  /** Disconnects from an endpoint given to `connect`. */
  async disconnect(address: string): Promise<void> {
    const handle = this.#connected.get(address);
    if (!handle) throw new ZmqError("ENOENT", `${address} is not connected`);
    this.#connected.delete(address);
    await handle.close(this.options.linger);
  }

  /**
   * Closes the socket: pending sends and receives fail with ETERM, endpoints close, and queued
   * messages are written for up to `linger` ms. Resolves when everything is closed.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      const error = new ZmqError("ETERM", "the socket is closed");
      for (const queue of [this.#sending, this.#receiving] as Queue<Waiter<unknown>>[]) {
        for (let waiter = queue.shift(); waiter; waiter = queue.shift()) {
          if (!waiter.done) {
            waiter.done = true;
            clearTimeout(waiter.timer);
            waiter.reject(error);
          }
        }
      }
      const handles = new Set([...this.#bound.values(), ...this.#connected.values()]);
      this.#bound.clear();
      this.#connected.clear();
      this.#closing = Promise.all([...handles].map((h) => h.close(this.options.linger)))
        .then(() => {});
    }
    return this.#closing;
  }

  /** Sends a message, waiting while the socket cannot take it (EAGAIN after `sendTimeout`). */
  protected sendMessage(message: MessageLike): Promise<void> {
    if (this.closed) return Promise.reject(new ZmqError("ETERM", "the socket is closed"));
    let frames: Message;
    try {
      frames = toMessage(message);
      if (live(this.#sending) === 0 && this.trySend(frames)) return RESOLVED;
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#wait(this.#sending, this.options.sendTimeout, "send", frames);
  }

  /** Receives a message, waiting for one (EAGAIN after `receiveTimeout`). */
  protected receiveMessage(): Promise<Message> {
    if (this.closed) return Promise.reject(new ZmqError("ETERM", "the socket is closed"));
    if (live(this.#receiving) === 0) {
      const message = this.tryReceive();
      if (message) return Promise.resolve(message);
    }
    return this.#wait(this.#receiving, this.options.receiveTimeout, "receive");
  }

  /**
   * Queues a message of the socket's own making as if `pipe` had sent it (after whatever it
   * did send): a ROUTER's notice that a peer left.
   */
  protected enqueue(pipe: Pipe, message: Message): void {
    pipe.queue(message);
    this.fq.add(pipe);
    this.#pumpReceive();
  }

  /** A peer completed its handshake: false refuses it. By default it joins the rotation. */
  protected attached(pipe: Pipe): boolean {
    this.lb.add(pipe);
    return true;
  }

  /** A peer left. */
  protected detached(pipe: Pipe): void {
    this.lb.remove(pipe);
  }

  /** What a message received becomes (undefined: dropped). By default it is kept as is. */
  protected filter(_pipe: Pipe, message: Message): Message | undefined {
    return message;
  }

  /** Routes a message to a peer; false when it must wait. By default: round-robin. */
  protected trySend(message: Message): boolean {
    const pipe = this.lb.pick();
    if (!pipe) return false;
    pipe.write(message);
    return true;
  }

  /** The next message to hand to a receiver, if any. By default: fair-queued. */
  protected tryReceive(): Message | undefined {
    return this.fq.take();
  }

  #checkOpen(): void {
    if (this.closed) throw new ZmqError("ETERM", "the socket is closed");
  }

  #wait<T>(queue: Queue<Waiter<T>>, timeout: number, what: string, message?: Message) {
    if (timeout === 0) {
      return Promise.reject(new ZmqError("EAGAIN", `${what} would have to wait`));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject, timer: undefined, done: false, message };
      if (timeout > 0) {
        waiter.timer = setTimeout(() => {
          waiter.done = true;
          reject(new ZmqError("EAGAIN", `${what} timed out after ${timeout} ms`));
        }, timeout);
      }
      queue.push(waiter);
    });
  }

  #pumpSend(): void {
    if (this.#pumping) return; // a pipe reporting room while we are routing: we go on anyway
    this.#pumping = true;
    try {
      for (let waiter = this.#sending.peek(); waiter; waiter = this.#sending.peek()) {
        if (!waiter.done) {
          try {
            if (!this.trySend(waiter.message!)) return;
            settle(waiter, undefined);
          } catch (e) {
            waiter.done = true;
            clearTimeout(waiter.timer);
            waiter.reject(e as Error);
          }
        }
        this.#sending.shift();
      }
    } finally {
      this.#pumping = false;
    }
  }

  #pumpReceive(): void {
    for (let waiter = this.#receiving.peek(); waiter; waiter = this.#receiving.peek()) {
      if (!waiter.done) {
        const message = this.tryReceive();
        if (!message) return;
        settle(waiter, message);
      }
      this.#receiving.shift();
    }
  }
}

/** How many waiters are still waiting (timed-out ones at the front are dropped). */
function live<T>(queue: Queue<Waiter<T>>): number {
  while (queue.peek()?.done) queue.shift();
  return queue.length;
}

function bindEndpoint(
  owner: PipeOwner,
  endpoint: Endpoint,
): EndpointHandle | Promise<EndpointHandle> {
  switch (endpoint.transport) {
    case "tcp":
      return bindTcp(owner, endpoint.host, endpoint.port);
    case "ipc":
      return bindIpc(owner, endpoint.path);
    case "inproc":
      return bindInproc(owner, endpoint.name);
  }
}

function connectEndpoint(owner: PipeOwner, endpoint: Endpoint): EndpointHandle {
  switch (endpoint.transport) {
    case "tcp":
      return connectTcp(owner, endpoint.host, endpoint.port);
    case "ipc":
      return connectIpc(owner, endpoint.path);
    case "inproc":
      return connectInproc(owner, endpoint.name);
  }
}

/** A socket that sends. */
export abstract class Writable extends Socket {
  /**
   * Sends a message (one frame, or an array of frames; strings go as UTF-8). Resolves once the
   * message is queued for a peer; waits while no peer can take it (EAGAIN after
   * `sendTimeout`).
   */
  send(message: MessageLike): Promise<void> {
    return this.sendMessage(message);
  }
}

/** A socket that receives. */
export abstract class Readable extends Socket {
  /** Receives the next message, all its frames (EAGAIN after `receiveTimeout`). */
  receive(): Promise<Message> {
    return this.receiveMessage();
  }

  /** Iterates over the messages received until the socket is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Message, void, undefined> {
    while (!this.closed) {
      try {
        yield await this.receive();
      } catch (e) {
        if (isZmqError(e, "ETERM")) return;
        throw e;
      }
    }
  }
}

/** A socket that sends and receives. */
export abstract class Duplex extends Readable {
  /** Sends a message, as {@linkcode Writable.send} does. */
  send(message: MessageLike): Promise<void> {
    return this.sendMessage(message);
  }
}
