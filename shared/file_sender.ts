/**
 * Sending a file to the master's File Juggler (WIRE.md "File transfer", manual 11.5.5): a
 * DEALER says `HELLO <slave_id>` on the file queue, answers each `FETCH <offset> <length>` with
 * `CHUNK <offset as received> <bytes>` until `DONE`, and says HELLO again after 5 s of
 * silence. piw-slave sends as its slave id, piw-import as slave 0.
 *
 * Each file gets its own DEALER, so that nothing left over from one transfer (a FETCH asked
 * twice, a second DONE) can be taken for part of the next.
 *
 * @module
 */

import { decimalFrame } from "./file_queue.ts";
import { errorMessage } from "./log.ts";
import { readAt } from "./read_at.ts";
import { Dealer, isZmqError } from "./zmq/mod.ts";
import { clientOptions, type CurveClient } from "./curve_setup.ts";

/** The file queue's default address: the master's, on this machine (manual chapter 2). */
export const DEFAULT_FILE_QUEUE = "tcp://localhost:5556";
/** Silence after which HELLO is said again (WIRE.md). */
const HELLO_AGAIN_MS = 5_000;
/** How long a message may wait to be taken: the master's file queue is not there otherwise. */
const SEND_TIMEOUT_MS = 10_000;
/** Silence after which the transfer is given up, by default (the manual's 60 s). */
const GIVE_UP_MS = 60_000;
/** The most a FETCH may ask for at once (the master asks for 64 KiB). */
const MAX_CHUNK = 4 * 1024 * 1024;
/**
 * The most CHUNKs waiting to be taken (the master has at most 8 FETCHes out): a master that asks
 * and does not read holds up the sender (and then fails it) rather than growing it.
 */
const MAX_QUEUED = 16;
/** The longest message the master may send (FETCH and DONE are a few bytes). */
const MAX_MESSAGE = 1024;

const decoder = new TextDecoder();

/**
 * Raised when the master stops asking for the file or asks for something impossible, or when the
 * file cannot be read or sent (whatever goes wrong, the transfer is what failed).
 */
export class TransferError extends Error {
  override name = "TransferError";
}

/** Options of {@linkcode sendFile}. */
export interface SendOptions {
  /** Called after each chunk with the number of distinct bytes sent so far. */
  onProgress?: (sent: number) => void;
  /** Give up after the master has asked for nothing this long (default 60 s). */
  giveUpMs?: number;
  /** Stops the transfer at once, whatever it waits for (it rejects with the signal's reason). */
  signal?: AbortSignal;
  /** CURVE settings, for a master whose file queue speaks CURVE. */
  curve?: CurveClient | undefined;
}

/**
 * Sends the file at `path` to the file queue at `address` as slave `slaveId`. Resolves once
 * the master says DONE.
 */
export async function sendFile(
  address: string,
  slaveId: number,
  path: string,
  options: SendOptions = {},
): Promise<void> {
  const { onProgress = () => {}, giveUpMs = GIVE_UP_MS, signal, curve } = options;
  const file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  const dealer = new Dealer({
    receiveTimeout: HELLO_AGAIN_MS,
    sendTimeout: SEND_TIMEOUT_MS,
    sendHighWaterMark: MAX_QUEUED,
    maxMessageSize: MAX_MESSAGE,
    linger: 0,
    ...clientOptions(curve),
  });
  const sentAt = new Map<number, number>();
  let sent = 0;
  // closing the socket ends a send or receive that waits (ETERM): a stop need not wait for it
  const stop = () => void dealer.close();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    signal?.throwIfAborted();
    dealer.connect(address);
    const hello = () =>
      dealer.send(["HELLO", String(slaveId)]).catch((e) => {
        if (!isZmqError(e, "EAGAIN")) throw e;
        throw new TransferError(`cannot reach the master's file queue at ${address}`);
      });
    await hello();
    let silentSince = Date.now();
    for (;;) {
      signal?.throwIfAborted();
      let frames: Uint8Array[];
      try {
        frames = await dealer.receive();
      } catch (e) {
        if (!isZmqError(e, "EAGAIN")) throw e;
        if (Date.now() - silentSince >= giveUpMs) {
          throw new TransferError(
            `the master asked for nothing on ${address} for ${giveUpMs / 1000} s`,
          );
        }
        await hello();
        continue;
      }
      silentSince = Date.now();
      const [command, offsetFrame, lengthFrame] = frames;
      const what = command ? decoder.decode(command) : "";
      if (what === "DONE") return;
      if (what !== "FETCH" || frames.length !== 3) {
        throw new TransferError(`unexpected ${what || "empty message"} on the file queue`);
      }
      const offset = decimalFrame(offsetFrame);
      const length = decimalFrame(lengthFrame);
      if (offset === null || length === null || length > MAX_CHUNK || offset + length > size) {
        const asked = `${decoder.decode(offsetFrame)}+${decoder.decode(lengthFrame)}`;
        throw new TransferError(`the master asked for bytes ${asked} of ${size}`);
      }
      const chunk = readAt(
        file,
        offset,
        length,
        (got) =>
          new TransferError(`${path} ended at byte ${offset + got}, before ${offset + length}`),
      );
      await dealer.send(["CHUNK", offsetFrame!, chunk]);
      if (!sentAt.has(offset)) {
        sentAt.set(offset, length);
        sent += length;
        onProgress(sent);
      }
    }
  } catch (e) {
    signal?.throwIfAborted();
    if (e instanceof TransferError) throw e;
    // the master went away mid-transfer (a send waits in vain), or the file cannot be read
    throw new TransferError(`cannot send ${path} to ${address}: ${errorMessage(e)}`, { cause: e });
  } finally {
    signal?.removeEventListener("abort", stop);
    file.close();
    await dealer.close();
  }
}
