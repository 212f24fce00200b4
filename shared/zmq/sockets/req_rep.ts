/**
 * REQ and REP (RFC 28). A REQ sends a request to one peer in turn, prefixed with an empty
 * delimiter frame, and then accepts only that peer's reply (strict alternation: sending twice,
 * or receiving before sending, is EFSM). A REP receives requests fair-queued, keeps each one's
 * envelope (everything up to the delimiter) and sends the reply back along it.
 *
 * @module
 */

import { ZmqError } from "../errors.ts";
import type { SocketOptions } from "../options.ts";
import { EMPTY, type Message, type Pipe } from "../pipe.ts";
import { Duplex, type MessageLike } from "../socket.ts";

/** A REQ socket. */
export class Request extends Duplex {
  #state: "idle" | "sending" | "waiting" = "idle";
  #replyFrom: Pipe | undefined;

  /** Makes a REQ socket. */
  constructor(options: SocketOptions = {}) {
    super("REQ", options);
  }

  /** Sends a request (EFSM while a reply is awaited). */
  override send(message: MessageLike): Promise<void> {
    if (this.#state !== "idle") {
      return Promise.reject(new ZmqError("EFSM", "a REQ socket must receive a reply first"));
    }
    this.#state = "sending";
    return this.sendMessage(message).catch((e) => {
      if (this.#state === "sending") this.#state = "idle";
      throw e;
    });
  }

  /** Receives the reply (EFSM if no request was sent). */
  override receive(): Promise<Message> {
    if (this.#state === "idle") {
      return Promise.reject(new ZmqError("EFSM", "a REQ socket must send a request first"));
    }
    return super.receive();
  }

  protected override trySend(message: Message): boolean {
    const pipe = this.lb.pick();
    if (!pipe) return false;
    this.#replyFrom = pipe;
    this.#state = "waiting";
    pipe.write([EMPTY, ...message]);
    return true;
  }

  /** Only the reply of the peer asked, with its delimiter, is kept (without the delimiter). */
  protected override filter(pipe: Pipe, message: Message): Message | undefined {
    if (pipe !== this.#replyFrom || message.length < 2 || message[0]!.length > 0) return undefined;
    message.shift();
    return message;
  }

  protected override tryReceive(): Message | undefined {
    const message = this.fq.take();
    if (message) {
      this.#state = "idle";
      this.#replyFrom = undefined;
    }
    return message;
  }
}

/** A REP socket. */
export class Reply extends Duplex {
  #state: "idle" | "receiving" | "replying" = "idle";
  #replyTo: { pipe: Pipe; envelope: Message } | undefined;

  /** Makes a REP socket. */
  constructor(options: SocketOptions = {}) {
    super("REP", options);
  }

  /** Receives a request, without its envelope (EFSM until the last one is replied to). */
  override receive(): Promise<Message> {
    if (this.#state !== "idle") {
      return Promise.reject(new ZmqError("EFSM", "a REP socket must reply before receiving"));
    }
    this.#state = "receiving";
    return super.receive().catch((e) => {
      this.#state = "idle";
      throw e;
    });
  }

  /** Sends the reply to the last request (EFSM if there is none); never waits. */
  override send(message: MessageLike): Promise<void> {
    if (this.#state !== "replying") {
      return Promise.reject(new ZmqError("EFSM", "a REP socket must receive a request first"));
    }
    return this.sendMessage(message);
  }

  /** A request must carry an envelope ending in an empty delimiter, followed by a body. */
  protected override filter(_pipe: Pipe, message: Message): Message | undefined {
    const delimiter = message.findIndex((frame) => frame.length === 0);
    return delimiter >= 0 && delimiter < message.length - 1 ? message : undefined;
  }

  protected override tryReceive(): Message | undefined {
    const message = this.fq.take();
    if (!message) return undefined;
    const body = message.findIndex((frame) => frame.length === 0) + 1;
    this.#replyTo = { pipe: this.fq.last!, envelope: message.slice(0, body) };
    this.#state = "replying";
    return message.slice(body);
  }

  /** The reply goes to the requester if it is still there and can take it, else it is dropped. */
  protected override trySend(message: Message): boolean {
    const { pipe, envelope } = this.#replyTo!;
    this.#replyTo = undefined;
    this.#state = "idle";
    if (pipe.writable) pipe.write([...envelope, ...message]);
    return true;
  }
}
