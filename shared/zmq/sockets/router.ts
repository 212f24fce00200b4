/**
 * ROUTER: every message received is prefixed with the routing id of the peer that sent it (the
 * Identity the peer announced, or one generated: a zero byte and four more); a message sent is
 * routed by its first frame to that peer. Unroutable messages are dropped (EHOSTUNREACH with
 * `mandatory`), as are messages to a peer at its high-water mark (with `mandatory` the send
 * waits). A peer announcing an id in use is refused (one over 255 bytes long, or starting with
 * a zero byte, is closed as it completes its handshake, as libzmq does). With
 * `notifyDisconnect`, a peer that leaves is reported as the message `[routing id, empty frame]`,
 * after everything it sent (libzmq's ZMQ_ROUTER_NOTIFY with ZMQ_NOTIFY_DISCONNECT).
 *
 * @module
 */

import { ZmqError } from "../errors.ts";
import type { SocketOptions } from "../options.ts";
import { EMPTY, type Message, type Pipe } from "../pipe.ts";
import { bytesKey } from "../routing.ts";
import { Duplex } from "../socket.ts";

/** A ROUTER's options. */
export interface RouterOptions extends SocketOptions {
  /** Fail sends to unknown peers with EHOSTUNREACH, and wait (not drop) when a peer is at its
   * high-water mark (ZMQ_ROUTER_MANDATORY). Default false. */
  mandatory?: boolean;
  /** Report each peer that leaves as a message `[routing id, empty frame]`, after whatever it
   * sent (ZMQ_ROUTER_NOTIFY's ZMQ_NOTIFY_DISCONNECT). Default false. */
  notifyDisconnect?: boolean;
}

/** A ROUTER socket. */
export class Router extends Duplex {
  /** Whether unroutable messages fail rather than vanish. */
  readonly mandatory: boolean;
  /** Whether peers that leave are reported. */
  readonly notifyDisconnect: boolean;
  readonly #peers = new Map<string, Pipe>();
  #nextId = Math.floor(Math.random() * 0x100000000);

  /** Makes a ROUTER socket. */
  constructor(options: RouterOptions = {}) {
    const { mandatory = false, notifyDisconnect = false, ...rest } = options;
    super("ROUTER", rest);
    this.mandatory = mandatory;
    this.notifyDisconnect = notifyDisconnect;
  }

  protected override attached(pipe: Pipe): boolean {
    let id = pipe.peerIdentity;
    if (id.length === 0) {
      id = new Uint8Array(5);
      new DataView(id.buffer).setUint32(1, this.#nextId);
      this.#nextId = (this.#nextId + 1) >>> 0;
    }
    const key = bytesKey(id);
    if (this.#peers.has(key)) return false;
    pipe.routingId = id;
    this.#peers.set(key, pipe);
    return true;
  }

  protected override detached(pipe: Pipe): void {
    const key = bytesKey(pipe.routingId);
    if (this.#peers.get(key) !== pipe) return;
    this.#peers.delete(key);
    if (this.notifyDisconnect && !this.closed) this.enqueue(pipe, [pipe.routingId, EMPTY]);
  }

  protected override filter(pipe: Pipe, message: Message): Message {
    message.unshift(pipe.routingId);
    return message;
  }

  protected override trySend(message: Message): boolean {
    const pipe = this.#peers.get(bytesKey(message[0]!));
    if (!pipe) {
      if (this.mandatory) throw new ZmqError("EHOSTUNREACH", "no peer has that routing id");
      return true;
    }
    if (!pipe.writable) return !this.mandatory;
    if (message.length > 1) pipe.write(message.slice(1));
    return true;
  }
}
