/**
 * Sending a file to the master's File Juggler (WIRE.md "File transfer"): the sender's DEALER
 * says `HELLO <id>`, answers every `FETCH <offset> <length>` with `CHUNK <offset> <bytes>` read
 * from the file, and stops at `DONE`. If the master is silent for 5 seconds, HELLO again (the
 * master then asks again for what it is missing). The master's numbers are checked: a FETCH
 * outside the file is ignored. Used by piw-slave (its slave id) and piw-import (id 0).
 *
 * @module
 */

import { type Dealer, ZmqError } from "../shared/zmq/mod.ts";

/** How long the sender waits for the master before saying HELLO again. */
export const SILENCE_MS = 5_000;
/** The largest chunk the master may ask for. */
const MAX_CHUNK = 1024 * 1024;

const decoder = new TextDecoder();

/** Raised when a transfer cannot go on (the file cannot be read, or the master is gone). */
export class TransferError extends Error {
  override name = "TransferError";
}

/** Options of {@linkcode sendFile}. */
export interface SendOptions {
  /** Give up after this long without hearing from the master (default: never). */
  giveUpMs?: number;
  /** Called after each chunk with the bytes sent so far (for progress bars). */
  progress?: (sent: number, size: number) => void;
  /** Aborts the transfer. */
  signal?: AbortSignal;
}

/**
 * Sends the file at `path` as slave `slaveId` over `dealer` (connected to the master's file
 * queue, with no receive timeout of its own), until the master says DONE.
 */
export async function sendFile(
  dealer: Dealer,
  slaveId: number,
  path: string,
  options: SendOptions = {},
): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    let sent = 0;
    let silentSince = Date.now();
    await dealer.send(["HELLO", String(slaveId)]);
    for (;;) {
      options.signal?.throwIfAborted();
      const frames = await receiveWithin(dealer, SILENCE_MS, options.signal);
      if (frames === null) {
        if (options.giveUpMs !== undefined && Date.now() - silentSince > options.giveUpMs) {
          throw new TransferError(`the master has been silent for ${options.giveUpMs} ms`);
        }
        await dealer.send(["HELLO", String(slaveId)]);
        continue;
      }
      silentSince = Date.now();
      const command = decoder.decode(frames[0] ?? new Uint8Array());
      if (command === "DONE") return;
      if (command !== "FETCH" || frames.length !== 3) continue;
      const offsetText = decoder.decode(frames[1]);
      const offset = Number(offsetText);
      const length = Number(decoder.decode(frames[2]));
      if (
        !/^\d+$/.test(offsetText) || !Number.isSafeInteger(length) || length <= 0 ||
        length > MAX_CHUNK || offset + length > size
      ) {
        continue;
      }
      const chunk = new Uint8Array(length);
      await file.seek(offset, Deno.SeekMode.Start);
      let read = 0;
      while (read < length) {
        const n = await file.read(chunk.subarray(read));
        if (n === null) throw new TransferError(`${path} is shorter than it was`);
        read += n;
      }
      await dealer.send(["CHUNK", frames[1]!, chunk]);
      sent += length;
      options.progress?.(Math.min(sent, size), size);
    }
  } finally {
    file.close();
  }
}

/** The next message, or null after `ms` of silence. */
async function receiveWithin(
  dealer: Dealer,
  ms: number,
  signal?: AbortSignal,
): Promise<Uint8Array[] | null> {
  const previous = dealer.options.receiveTimeout;
  dealer.options.receiveTimeout = ms;
  try {
    signal?.throwIfAborted();
    return await dealer.receive();
  } catch (e) {
    if (e instanceof ZmqError && e.code === "EAGAIN") return null;
    throw e;
  } finally {
    dealer.options.receiveTimeout = previous;
  }
}
