/**
 * Request and reply between tasks over ROUTER sockets: {@linkcode RpcClient} keeps many requests
 * in flight on one DEALER, matched by an id frame; {@linkcode serveRequests} answers on a ROUTER
 * whatever the envelope (a REQ peer's `[identity, ""]`, our DEALER's `[identity, id, ""]`, or
 * the longer ones Seraph forwards), replying with the same envelope.
 *
 * @module
 */

import { errorMessage, type Logger } from "../shared/log.ts";
import {
  type BareName,
  type DataIn,
  type DataName,
  decodeMessage,
  encodeNamedMessage,
  isTrustedAddress,
  type Message,
  type MessageMap,
  type Protocol,
  ProtocolError,
  reverse,
} from "../shared/protocols.ts";
import { Dealer, type Duplex } from "../shared/zmq/mod.ts";
import { eachMessage, isClosed } from "../shared/receive.ts";

const EMPTY = new Uint8Array(0);

/** Raised by {@linkcode RpcClient.call} when the client is closed before a reply. */
export class RpcClosedError extends Error {
  override name = "RpcClosedError";
}

/** Splits `[...envelope, "", payload]`; null when there is no delimiter or not one payload. */
export function splitEnvelope(frames: Uint8Array[]): [Uint8Array[], Uint8Array] | null {
  const delimiter = frames.findIndex((f) => f.length === 0);
  if (delimiter < 0 || delimiter !== frames.length - 2) return null;
  return [frames.slice(0, delimiter), frames[delimiter + 1]!];
}

/**
 * A client of a request/reply protocol (given from the server's side, as the protocols are).
 * Requests may overlap; each reply is matched to its request by id.
 */
export class RpcClient<R extends MessageMap, S extends MessageMap> {
  readonly #socket: Dealer;
  readonly #pending = new Map<number, (reply: Message<S> | Error) => void>();
  readonly #protocol: Protocol<R, S>;
  /** Whether the server is our own code over inproc:// (no schema checks either way). */
  readonly #trusted: boolean;
  #next = 1;
  readonly #loop: Promise<void>;

  /** Connects to the server at `address`. */
  constructor(address: string, protocol: Protocol<R, S>, readonly log?: Logger) {
    this.#protocol = protocol;
    this.#trusted = isTrustedAddress(address);
    this.#socket = new Dealer({ linger: 0 });
    this.#socket.connect(address);
    this.#loop = this.#receive();
  }

  async #receive(): Promise<void> {
    const client = reverse(this.#protocol);
    await eachMessage(this.#socket, (frames) => {
      const split = splitEnvelope(frames);
      const idFrame = split?.[0][0];
      if (!split || split[0].length !== 1 || idFrame?.length !== 4) {
        return this.log?.warning(`${this.#protocol.name}: dropped a reply without a request id`);
      }
      const id = new DataView(idFrame.buffer, idFrame.byteOffset).getUint32(0);
      const resolve = this.#pending.get(id);
      if (!resolve) return;
      this.#pending.delete(id);
      try {
        resolve(decodeMessage(client, split[1], { trusted: this.#trusted }));
      } catch (e) {
        resolve(e as Error);
      }
    });
    const closed = new RpcClosedError(`${this.#protocol.name}: the client was closed`);
    for (const resolve of this.#pending.values()) resolve(closed);
    this.#pending.clear();
  }

  /** Sends a request and resolves to the reply (rejects on a malformed reply or close). */
  call<K extends BareName<R>>(msg: K): Promise<Message<S>>;
  call<K extends DataName<R>>(msg: K, data: DataIn<R, K>): Promise<Message<S>>;
  async call(msg: string, ...data: unknown[]): Promise<Message<S>> {
    const payload = encodeNamedMessage(reverse(this.#protocol), msg, data[0], {
      trusted: this.#trusted,
    });
    const id = this.#next;
    this.#next = (this.#next % 0xffffffff) + 1;
    const idFrame = new Uint8Array(4);
    new DataView(idFrame.buffer).setUint32(0, id);
    const reply = new Promise<Message<S> | Error>((resolve) => this.#pending.set(id, resolve));
    try {
      await this.#socket.send([idFrame, EMPTY, payload]);
    } catch (e) {
      this.#pending.delete(id);
      if (isClosed(e)) throw new RpcClosedError(`${this.#protocol.name}: the client was closed`);
      throw e;
    }
    const result = await reply;
    if (result instanceof Error) throw result;
    return result;
  }

  /** Closes the socket; requests still waiting reject with {@linkcode RpcClosedError}. */
  async close(): Promise<void> {
    await this.#socket.close();
    await this.#loop;
  }
}

/** A reply to send: a message name and its data (omitted for data-less messages). */
export type Reply<S extends MessageMap> =
  | { [K in BareName<S>]: [K] }[BareName<S>]
  | { [K in DataName<S>]: [K, DataIn<S, K>] }[DataName<S>];

/** How {@linkcode serveRequests} answers. */
export interface ServeOptions<R extends MessageMap, S extends MessageMap> {
  /** Answers one request. */
  handle(request: Message<R>, envelope: Uint8Array[]): Promise<Reply<S> | null> | Reply<S> | null;
  /** The reply to a request that failed to decode or whose handler threw (null: none). */
  onError?(error: Error): Reply<S> | null;
  /** Handle requests concurrently (default) or one at a time. */
  concurrent?: boolean;
  /** The clients are our own code over inproc:// (see `isTrustedAddress`): no schema checks. */
  trusted?: boolean;
  /** Where problems are logged. */
  log: Logger;
  /**
   * Told that a client left (a ROUTER made with `notifyDisconnect` reports `[routing id, '']`),
   * in turn with the requests when they are handled one at a time.
   */
  left?(envelope: Uint8Array[]): Promise<void> | void;
}

/**
 * Answers requests on a ROUTER (or a DEALER behind Seraph) until it is closed. Malformed envelopes are dropped; a request
 * that fails to decode, or whose handler throws, gets `onError`'s reply.
 */
export async function serveRequests<R extends MessageMap, S extends MessageMap>(
  socket: Duplex,
  protocol: Protocol<R, S>,
  options: ServeOptions<R, S>,
): Promise<void> {
  const answer = async (envelope: Uint8Array[], payload: Uint8Array) => {
    let reply: Reply<S> | null;
    try {
      reply = await options.handle(
        decodeMessage(protocol, payload, { trusted: options.trusted }),
        envelope,
      );
    } catch (e) {
      if (!(e instanceof ProtocolError)) options.log.error(`${protocol.name}: ${errorMessage(e)}`);
      else options.log.warning(e.message);
      reply = options.onError?.(e as Error) ?? null;
    }
    if (reply === null) return;
    try {
      await socket.send([
        ...envelope,
        EMPTY,
        encodeNamedMessage(protocol, reply[0], reply[1], { trusted: options.trusted }),
      ]);
    } catch (e) {
      if (!isClosed(e)) options.log.error(`${protocol.name}: cannot reply: ${errorMessage(e)}`);
    }
  };
  const inFlight = new Set<Promise<void>>();
  await eachMessage(socket, async (frames) => {
    if (options.left && frames.length === 2 && frames[1]!.length === 0) {
      return await options.left(frames.slice(0, 1));
    }
    const split = splitEnvelope(frames);
    if (!split) {
      return options.log.warning(`${protocol.name}: dropped a message without a request envelope`);
    }
    if (options.concurrent === false) return await answer(...split);
    const p = answer(...split).finally(() => inFlight.delete(p));
    inFlight.add(p);
  });
  await Promise.allSettled(inFlight);
}
