/**
 * The routing strategies the socket types share: round-robin over the peers that can take a
 * message (libzmq's load balancer), fair queueing over the peers that have sent one, and the
 * prefix-matching subscription lists of PUB and SUB.
 *
 * @module
 */

import type { Message, Pipe } from "./pipe.ts";

const latin1 = new TextDecoder("latin1");

/** Bytes as a string usable as a Map key (one character per byte). */
export function bytesKey(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** Round-robin over pipes, skipping those at their send high-water mark. */
export class LoadBalancer {
  readonly #pipes: Pipe[] = [];
  #next = 0;

  /** Adds a pipe to the rotation. */
  add(pipe: Pipe): void {
    this.#pipes.push(pipe);
  }

  /** Removes a pipe from the rotation. */
  remove(pipe: Pipe): void {
    const index = this.#pipes.indexOf(pipe);
    if (index < 0) return;
    this.#pipes.splice(index, 1);
    if (this.#next > index) this.#next--;
  }

  /** The next pipe that can take a message, or undefined when none can. */
  pick(): Pipe | undefined {
    const count = this.#pipes.length;
    for (let i = 0; i < count; i++) {
      const index = (this.#next + i) % count;
      const pipe = this.#pipes[index]!;
      if (pipe.writable) {
        this.#next = (index + 1) % count;
        return pipe;
      }
    }
    return undefined;
  }
}

/** Fair queueing: one message from each pipe with messages in turn. */
export class FairQueue {
  readonly #ready = new Set<Pipe>();
  /** The pipe the last message taken came from. */
  last: Pipe | undefined;

  /** A pipe has messages to read (kept in its place if it is in the rotation already). */
  add(pipe: Pipe): void {
    this.#ready.add(pipe);
  }

  /** Takes the next message in turn, or undefined when no pipe has one. */
  take(): Message | undefined {
    if (this.#ready.size === 1) {
      const [pipe] = this.#ready;
      const message = pipe!.read();
      if (pipe!.inbox.length === 0) this.#ready.delete(pipe!);
      this.last = pipe;
      return message;
    }
    for (const pipe of this.#ready) {
      this.#ready.delete(pipe);
      const message = pipe.read();
      if (pipe.inbox.length > 0) this.#ready.add(pipe);
      if (message) {
        this.last = pipe;
        return message;
      }
    }
    return undefined;
  }
}

/** What one topic costs against {@linkcode Subscriptions}' bound besides its bytes. */
const TOPIC_OVERHEAD = 64;

/**
 * A set of topic prefixes, each counted as often as it was added; at most `maxBytes` of them (a
 * topic costs its length and {@linkcode TOPIC_OVERHEAD}), and at most `maxTopics`: a topic past
 * either is not added. Matching a frame takes a look at each topic, but none while the empty
 * topic (everything) is there.
 */
export class Subscriptions {
  readonly #topics = new Map<string, { topic: Uint8Array; count: number }>();
  #bytes = 0;

  /** An empty set, holding at most `maxBytes` of topics, and at most `maxTopics` of them. */
  constructor(readonly maxBytes: number = Infinity, readonly maxTopics: number = Infinity) {}

  /** Adds a topic; true when it is new (false too when it does not fit). */
  add(topic: Uint8Array): boolean {
    const key = bytesKey(topic);
    const entry = this.#topics.get(key);
    if (entry) {
      entry.count++;
      return false;
    }
    const cost = topic.length + TOPIC_OVERHEAD;
    if (this.#bytes + cost > this.maxBytes || this.#topics.size >= this.maxTopics) return false;
    this.#bytes += cost;
    this.#topics.set(key, { topic: topic.slice(), count: 1 });
    return true;
  }

  /** Removes a topic once; true when it is gone. */
  remove(topic: Uint8Array): boolean {
    const key = bytesKey(topic);
    const entry = this.#topics.get(key);
    if (!entry || --entry.count > 0) return false;
    this.#topics.delete(key);
    this.#bytes -= topic.length + TOPIC_OVERHEAD;
    return true;
  }

  /** Whether there is no topic. */
  get empty(): boolean {
    return this.#topics.size === 0;
  }

  /** The distinct topics. */
  *topics(): Iterable<Uint8Array> {
    for (const { topic } of this.#topics.values()) yield topic;
  }

  /** Whether some topic is a prefix of `frame`. */
  matches(frame: Uint8Array): boolean {
    if (this.#topics.has("")) return true;
    for (const { topic } of this.#topics.values()) {
      if (topic.length > frame.length) continue;
      let i = 0;
      while (i < topic.length && topic[i] === frame[i]) i++;
      if (i === topic.length) return true;
    }
    return false;
  }
}
