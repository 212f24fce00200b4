/**
 * Receive loops (the master's tasks, the monitors): until its socket is closed (the task is
 * quitting), take each message; for the queues that carry one protocol message per frame, decode it and
 * log (and skip) what does not decode, so that bad input never stops a task.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import {
  type CheckOptions,
  decodeMessage,
  type Message,
  type MessageMap,
  type Protocol,
  ProtocolError,
} from "./protocols.ts";
import { isZmqError } from "./zmq/mod.ts";

/** Whether an error just means the socket was closed (the task is ending). */
export function isClosed(e: unknown): boolean {
  return isZmqError(e, "ETERM");
}

/** Something messages can be received from. */
export interface Receiver {
  /** Resolves to the frames of the next message. */
  receive(): Promise<Uint8Array[]>;
}

/** Calls `handle` with the frames of each message until the socket is closed. */
export async function eachMessage(
  socket: Receiver,
  handle: (frames: Uint8Array[]) => Promise<void> | void,
): Promise<void> {
  for (;;) {
    let frames: Uint8Array[];
    try {
      frames = await socket.receive();
    } catch (e) {
      if (isClosed(e)) return;
      throw e;
    }
    await handle(frames);
  }
}

/**
 * Calls `handle` with each message of `protocol` (one frame each) until the socket is closed;
 * a message that does not decode is logged and skipped. `options.trusted` for a queue only our
 * own code sends on, over inproc:// (see `isTrustedAddress`).
 */
export function eachDecoded<R extends MessageMap>(
  socket: Receiver,
  protocol: Protocol<R, MessageMap>,
  log: Pick<Logger, "warning">,
  handle: (message: Message<R>, frame: Uint8Array) => Promise<void> | void,
  options: CheckOptions = {},
): Promise<void> {
  return eachMessage(socket, async (frames) => {
    const frame = frames[0] ?? new Uint8Array(0);
    let message: Message<R>;
    try {
      if (frames.length !== 1) {
        throw new ProtocolError(`${protocol.name}: expected one frame, got ${frames.length}`);
      }
      message = decodeMessage(protocol, frame, options);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      log.warning(e.message);
      return;
    }
    await handle(message, frame);
  });
}

/** How {@linkcode eachMessageByPeer} bounds what one peer can make it hold. */
export interface ByPeerOptions {
  /** The most messages of one peer being handled or waiting at once (default 4). */
  maxPending?: number;
  /** Told of each message dropped because its peer had `maxPending` already. */
  onDropped?(peer: string): void;
}

/**
 * Calls `handle` with the frames of each message until the socket is closed: the messages of
 * one peer (named by `peerOf`) one at a time in the order they came, those of different peers
 * side by side, so that a peer whose message waits (on the database, on a file) holds up no
 * other. A request-reply peer has one message outstanding; one that sends more without waiting
 * has at most `maxPending` held for it, and the rest dropped. Resolves once the socket is closed
 * and every message taken was handled; rejects with the first error a handler throws.
 */
export async function eachMessageByPeer(
  socket: Receiver,
  peerOf: (frames: Uint8Array[]) => string,
  handle: (frames: Uint8Array[]) => Promise<void> | void,
  options: ByPeerOptions = {},
): Promise<void> {
  const maxPending = options.maxPending ?? 4;
  const peers = new Map<string, { tail: Promise<void>; pending: number }>();
  const failed = Promise.withResolvers<never>();
  const receiving = eachMessage(socket, (frames) => {
    const peer = peerOf(frames);
    let queue = peers.get(peer);
    if (!queue) peers.set(peer, queue = { tail: Promise.resolve(), pending: 0 });
    if (queue.pending >= maxPending) return options.onDropped?.(peer);
    const q = queue;
    q.pending++;
    q.tail = q.tail.then(() => handle(frames)).catch(failed.reject).finally(() => {
      if (--q.pending === 0 && peers.get(peer) === q) peers.delete(peer);
    });
  });
  await Promise.race([receiving, failed.promise]);
  await Promise.race([Promise.all([...peers.values()].map((q) => q.tail)), failed.promise]);
}
