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
