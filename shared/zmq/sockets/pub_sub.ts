/**
 * PUB and SUB (RFC 29). A SUB tells its PUB peers which topic prefixes it wants (SUBSCRIBE and
 * CANCEL commands to ZMTP 3.1 peers, the 3.0 subscription messages to older ones); a PUB sends
 * each message to every peer with a matching prefix, dropping it for a peer at its high-water
 * mark (a PUB never waits). A SUB filters too, by the first frame. A PUB may also send a message
 * only to the peers a predicate picks (by the properties they announced, say).
 *
 * @module
 */

import type { SocketOptions } from "../options.ts";
import type { Message, PeerInfo, Pipe } from "../pipe.ts";
import { Subscriptions } from "../routing.ts";
import { type FrameLike, type MessageLike, Readable, toFrame, Writable } from "../socket.ts";

/**
 * The most topic bytes one peer's subscriptions may hold at a PUB (a subscriber asking for more
 * gets the topics it has): a peer cannot make the socket keep more than this.
 */
export const MAX_PEER_TOPIC_BYTES = 64 * 1024;

/**
 * The most topics one peer's subscriptions may hold at a PUB, whatever their size: each message
 * sent is matched against every topic of every peer, and 256 peers of ~1,000 topics each made a
 * send take 3-5 ms instead of 1-4 µs. (piwheels' monitors subscribe to everything: one topic.)
 */
export const MAX_PEER_TOPICS = 32;

/** A PUB socket. */
export class Publisher extends Writable {
  readonly #subscriptions = new Map<Pipe, Subscriptions>();
  #to: ((peer: PeerInfo) => boolean) | undefined;
  /** How many peers subscribe to something. */
  #subscribers = 0;
  #subscribed = false;
  /**
   * Called when {@linkcode Publisher.subscribed} changes: the first peer subscribed to anything,
   * or the last one went or cancelled all it had.
   */
  onSubscribedChange: ((subscribed: boolean) => void) | undefined;

  /** Makes a PUB socket. */
  constructor(options: SocketOptions = {}) {
    super("PUB", options);
  }

  /**
   * Sends a message to every subscribed peer, or, given `to`, only to the subscribed peers it
   * picks (e.g. those that announced a property in `peerMetadata`). Never waits.
   */
  override send(message: MessageLike, to?: (peer: PeerInfo) => boolean): Promise<void> {
    this.#to = to;
    try {
      return this.sendMessage(message);
    } finally {
      this.#to = undefined;
    }
  }

  /** Whether some peer subscribes to something (else what is sent goes nowhere). */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** Tells of a change of {@linkcode Publisher.subscribed}, if there is one. */
  #recount(): void {
    const subscribed = this.#subscribers > 0;
    if (subscribed === this.#subscribed) return;
    this.#subscribed = subscribed;
    this.onSubscribedChange?.(subscribed);
  }

  protected override attached(pipe: Pipe): boolean {
    this.#subscriptions.set(pipe, new Subscriptions(MAX_PEER_TOPIC_BYTES, MAX_PEER_TOPICS));
    return true;
  }

  protected override detached(pipe: Pipe): void {
    const subscriptions = this.#subscriptions.get(pipe);
    if (!subscriptions) return;
    this.#subscriptions.delete(pipe);
    if (!subscriptions.empty) this.#subscribers--;
    this.#recount();
  }

  /** Subscription messages update the peer's topics; anything else is dropped. */
  protected override filter(pipe: Pipe, message: Message): undefined {
    const frame = message[0]!;
    const subscriptions = this.#subscriptions.get(pipe);
    if (!subscriptions || message.length !== 1) return undefined;
    const before = subscriptions.empty;
    if (frame[0] === 1) subscriptions.add(frame.subarray(1));
    if (frame[0] === 0) subscriptions.remove(frame.subarray(1));
    if (before !== subscriptions.empty) {
      this.#subscribers += before ? 1 : -1;
      this.#recount();
    }
    return undefined;
  }

  protected override trySend(message: Message): boolean {
    const topic = message[0]!;
    const to = this.#to;
    for (const [pipe, subscriptions] of this.#subscriptions) {
      if (pipe.writable && subscriptions.matches(topic) && (!to || to(pipe))) pipe.write(message);
    }
    return true;
  }
}

/** A SUB socket. */
export class Subscriber extends Readable {
  readonly #subscriptions = new Subscriptions(MAX_PEER_TOPIC_BYTES);

  /** Makes a SUB socket (subscribed to nothing). */
  constructor(options: SocketOptions = {}) {
    super("SUB", options);
  }

  /** Subscribes to messages whose first frame starts with a prefix (no prefix: everything). */
  subscribe(...prefixes: FrameLike[]): void {
    for (const prefix of prefixes.length > 0 ? prefixes : [""]) {
      const topic = toFrame(prefix);
      if (this.#subscriptions.add(topic)) {
        for (const pipe of this.pipes) pipe.subscribe(topic, true);
      }
    }
  }

  /** Cancels subscriptions (each as often as it was made; no prefix: the empty one). */
  unsubscribe(...prefixes: FrameLike[]): void {
    for (const prefix of prefixes.length > 0 ? prefixes : [""]) {
      const topic = toFrame(prefix);
      if (this.#subscriptions.remove(topic)) {
        for (const pipe of this.pipes) pipe.subscribe(topic, false);
      }
    }
  }

  protected override attached(pipe: Pipe): boolean {
    for (const topic of this.#subscriptions.topics()) pipe.subscribe(topic, true);
    return true;
  }

  protected override filter(_pipe: Pipe, message: Message): Message | undefined {
    return this.#subscriptions.matches(message[0]!) ? message : undefined;
  }
}
