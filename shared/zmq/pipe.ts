/**
 * A pipe is one peer as a socket sees it: the messages queued for it (bounded by the send
 * high-water mark), the messages received from it (bounded by the receive high-water mark), and
 * its socket type and routing id. A ZMTP connection or an inproc link is a pipe.
 *
 * A pipe joins its socket when its handshake completes and leaves when its connection ends;
 * messages it received before leaving can still be read.
 *
 * @module
 */

import { Logger } from "../log.ts";
import type { ResolvedOptions } from "./options.ts";
import { Queue } from "./queue.ts";
import { compatible, type SocketType } from "./socket_type.ts";

/** A message: its frames, in order. */
export type Message = Uint8Array[];

/** A timer id, whichever typings (Deno's or Node's) are in force. */
export type Timer = ReturnType<typeof setTimeout>;

/** An empty frame (the REQ/REP delimiter). */
export const EMPTY: Uint8Array = new Uint8Array(0);

/** A peer that announced no application properties. */
const NO_METADATA: ReadonlyMap<string, string> = new Map();

/** The logger of every socket and connection. */
export const log: Logger = new Logger("zmq");

/** What a socket may know of a peer: its address (for logs) and the properties it announced. */
export interface PeerInfo {
  /** The peer's address, as log lines name it. */
  readonly peer: string;
  /** The application (`X-…`) properties the peer announced, by lower-case name. */
  readonly peerMetadata: ReadonlyMap<string, string>;
}

/**
 * The bytes of received messages a socket holds unread, all its pipes together, against its
 * `maxUnreadBytes`; and what to wake once they are below it again. Pipes count nothing for a
 * socket without a limit (the hot path stays as it was).
 */
export class UnreadBytes {
  #bytes = 0;
  readonly #waiting = new Set<() => void>();

  /** Counts against `limit` bytes (-1: no limit). */
  constructor(readonly limit: number) {}

  /** Whether the socket holds its limit or more. */
  get over(): boolean {
    return this.limit >= 0 && this.#bytes >= this.limit;
  }

  /** A message of `bytes` was queued (`bytes` < 0: taken). */
  add(bytes: number): void {
    this.#bytes += bytes;
    if (this.#waiting.size === 0 || this.over) return;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const wake of waiting) wake();
  }

  /** Calls `wake` (once) when the socket holds less than its limit again. */
  wait(wake: () => void): void {
    this.#waiting.add(wake);
  }
}

/** The bytes of a message's frames. */
function messageBytes(message: Message): number {
  let bytes = 0;
  for (let i = 0; i < message.length; i++) bytes += message[i]!.length;
  return bytes;
}

/** What a pipe needs from its socket. */
export interface PipeOwner {
  /** The socket's type. */
  readonly type: SocketType;
  /** The socket's options. */
  readonly options: ResolvedOptions;
  /** The bytes its pipes hold unread. */
  readonly unread: UnreadBytes;
  /** A pipe completed its handshake; false refuses it (PAIR's second peer, a duplicate id). */
  attach(pipe: Pipe): boolean;
  /** A pipe left (its connection ended or is closing). */
  detach(pipe: Pipe): void;
  /** A pipe's inbox went from empty to not empty. */
  readable(pipe: Pipe): void;
  /** A pipe took messages from its outbox, so it may accept more. */
  writable(pipe: Pipe): void;
  /** Decides what to do with a message received: the message to queue, or undefined to drop. */
  filter(pipe: Pipe, message: Message): Message | undefined;
}

/** One peer of a socket. */
export abstract class Pipe implements PeerInfo {
  /** The peer's socket type, once the handshake is done. */
  peerType = "";
  /** The routing id the peer announced (empty if none). */
  peerIdentity: Uint8Array = EMPTY;
  /** The routing id a ROUTER knows this peer by. */
  routingId: Uint8Array = EMPTY;
  /** The application (`X-…`) properties the peer announced, by lower-case name. */
  peerMetadata: ReadonlyMap<string, string> = NO_METADATA;
  /** Messages received, waiting to be read. */
  readonly inbox: Queue<Message> = new Queue();
  /** Messages waiting to be written. */
  readonly outbox: Queue<Message> = new Queue();
  #state: "handshake" | "attached" | "detached" = "handshake";
  #settled: (() => void)[] = [];

  /** Makes a pipe of `owner`; `peer` names the peer in log lines. */
  constructor(protected readonly owner: PipeOwner, readonly peer: string) {}

  /** Whether the handshake completed and the pipe has not left its socket. */
  get attached(): boolean {
    return this.#state === "attached";
  }

  /** Whether the socket may queue a message for this peer now. */
  get writable(): boolean {
    const hwm = this.owner.options.sendHighWaterMark;
    return this.#state === "attached" && (hwm === 0 || this.outbox.length < hwm);
  }

  /** Whether the inbox is at the receive high-water mark. */
  get full(): boolean {
    const hwm = this.owner.options.receiveHighWaterMark;
    return hwm > 0 && this.inbox.length >= hwm;
  }

  /** Queues a message for the peer (the caller checked `writable` where that matters). */
  write(message: Message): void {
    this.outbox.push(message);
    this.flush();
  }

  /** Takes the next message received, if any. */
  read(): Message | undefined {
    const message = this.inbox.shift();
    if (message) {
      const unread = this.owner.unread;
      if (unread.limit >= 0) unread.add(-messageBytes(message));
      this.consumed();
    }
    return message;
  }

  /**
   * Queues a message as received from the peer (after what it did send), counting its bytes
   * against the socket's `maxUnreadBytes`.
   */
  queue(message: Message): void {
    this.inbox.push(message);
    const unread = this.owner.unread;
    if (unread.limit >= 0) unread.add(messageBytes(message));
  }

  /** Leaves the socket, writes what is queued (for up to `linger` ms, -1: no limit), closes. */
  async close(linger: number): Promise<void> {
    this.detach();
    if (linger !== 0 && this.busy) {
      let timer: Timer | undefined;
      const settled = new Promise<void>((resolve) => this.#settled.push(resolve));
      const expired = new Promise<void>((resolve) => {
        if (linger > 0) timer = setTimeout(resolve, linger);
      });
      await Promise.race([settled, expired]);
      clearTimeout(timer);
    }
    this.destroy();
    await this.done;
  }

  /** Closes the pipe at once because of a fault on the peer's side, logging why. */
  abort(reason: string): void {
    log.warning(`${this.peer}: ${reason}; closing the connection`);
    this.detach();
    this.destroy();
  }

  /**
   * Completes the handshake with what the peer announced: returns why the peer is refused
   * (incompatible type, or the socket would not take it), or undefined once attached.
   */
  protected handshake(
    peerType: string,
    identity: Uint8Array,
    metadata: ReadonlyMap<string, string> = NO_METADATA,
  ): string | undefined {
    if (this.#state !== "handshake") return "the pipe is closed";
    if (!compatible(this.owner.type, peerType)) {
      return `a ${JSON.stringify(peerType)} socket cannot talk to a ${this.owner.type} socket`;
    }
    this.peerType = peerType;
    this.peerIdentity = identity;
    this.peerMetadata = metadata;
    this.#state = "attached";
    if (this.owner.attach(this)) return undefined;
    this.#state = "detached";
    return `the ${this.owner.type} socket refused the peer`;
  }

  /** Hands a message received to the socket (dropped if the socket filters it out). */
  protected deliver(message: Message): void {
    if (this.#state !== "attached") return;
    const accepted = this.owner.filter(this, message);
    if (accepted === undefined) {
      this.consumed();
      return;
    }
    this.queue(accepted);
    if (this.inbox.length === 1) this.owner.readable(this);
  }

  /** Leaves the socket: nothing more is routed to this pipe (its inbox can still be read). */
  protected detach(): void {
    const wasAttached = this.#state === "attached";
    this.#state = "detached";
    if (wasAttached) this.owner.detach(this);
  }

  /** Wakes a lingering `close` once nothing more is (or can be) written. */
  protected settled(): void {
    for (const resolve of this.#settled.splice(0)) resolve();
  }

  /** Whether something queued is still to be written. */
  protected abstract get busy(): boolean;
  /** Resolves once the pipe has ended (closed by either side) and its loops have finished. */
  abstract get done(): Promise<void>;
  /** Starts writing what the outbox holds. */
  protected abstract flush(): void;
  /** A message left the inbox (read or dropped): reading from the peer may go on. */
  protected abstract consumed(): void;
  /** Closes the transport at once (idempotent); calls `settled`. */
  protected abstract destroy(): void;
  /** Tells a PUB peer to start (or stop) sending messages starting with `topic`. */
  abstract subscribe(topic: Uint8Array, on: boolean): void;
}

/** A subscription (or cancellation) as a ZMTP 3.0 message: 1 (or 0), then the topic. */
export function subscriptionMessage(topic: Uint8Array, on: boolean): Message {
  const frame = new Uint8Array(1 + topic.length);
  frame[0] = on ? 1 : 0;
  frame.set(topic, 1);
  return [frame];
}
