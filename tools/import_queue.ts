/**
 * The admin tools' side of Mr. Chase (WIRE.md "Tools ⇄ MrChase", manual 11.5.2–11.5.4): a REQ
 * socket on the master's import queue, one request and its reply at a time. piw-import,
 * piw-rebuild and piw-remove speak through it.
 *
 * @module
 */

import {
  type BareName,
  type DataIn,
  type DataName,
  decodeMessage,
  encodeNamedMessage,
  type Message,
  mrChase,
  ProtocolError,
  reverse,
} from "../shared/protocols.ts";
import type { Command } from "commander";
import { Duration } from "../shared/duration.ts";
import { endpointValue, positiveDuration } from "../shared/option_values.ts";
import { isZmqError, Request } from "../shared/zmq/mod.ts";

/** The import queue's default address (manual chapters 7–9). */
export const DEFAULT_IMPORT_QUEUE = "ipc:///tmp/piw-import";
/** How long a request may wait for the master to take it: it is not listening otherwise. */
const SEND_TIMEOUT_MS = 5_000;
/**
 * How long a reply may take by default (`--timeout`): the master answers at once but for a
 * file it received, which it hashes first (a second or two for the largest wheels).
 */
export const DEFAULT_REPLY_TIMEOUT = Duration.of({ seconds: 60 });

/**
 * Adds `--import-queue` (default {@linkcode DEFAULT_IMPORT_QUEUE}) and `--timeout` (how long to
 * wait for each reply) to an admin tool's command.
 */
export function importQueueOptions(cmd: Command, tool: string): Command {
  return cmd
    .option(
      "--import-queue <ADDR>",
      `the address of the queue used by ${tool} (this should always be an ipc address)`,
      endpointValue("connect"),
      DEFAULT_IMPORT_QUEUE,
    )
    .option(
      "--timeout <DURATION>",
      "how long to wait for each reply from the master before giving up",
      positiveDuration,
      DEFAULT_REPLY_TIMEOUT,
    );
}

const tool = reverse(mrChase);
type Requests = typeof mrChase.recv;

/** What the master answered: SEND `filename`, ERROR `message` or DONE. */
export type ChaseReply = Message<typeof mrChase.send>;

/** What is wrong with a reply that should have been DONE (ERROR's message), or null. */
export function refusal(reply: ChaseReply): string | null {
  if (reply.msg === "DONE") return null;
  return reply.msg === "ERROR" ? reply.data : `the master answered ${reply.msg}, not DONE`;
}

/** Raised when the master cannot be reached or does not answer (or answers nonsense). */
export class ImportQueueError extends Error {
  override name = "ImportQueueError";
}

/** A connection to Mr. Chase. Close it with `await using` or `close()`. */
export class ImportQueue implements AsyncDisposable {
  readonly #req: Request;

  /**
   * Connects to the import queue at `address` (an ipc:// address, as the manual advises); each
   * reply is waited for up to `timeout`.
   */
  constructor(readonly address: string, readonly timeout: Duration = DEFAULT_REPLY_TIMEOUT) {
    this.#req = new Request({
      sendTimeout: SEND_TIMEOUT_MS,
      receiveTimeout: Math.max(1, Math.round(timeout.totalMillis())),
      linger: 0,
    });
    this.#req.connect(address);
  }

  /** Sends a request and resolves to the master's reply. */
  request<K extends BareName<Requests>>(msg: K): Promise<ChaseReply>;
  request<K extends DataName<Requests>>(msg: K, data: DataIn<Requests, K>): Promise<ChaseReply>;
  async request(msg: string, ...data: unknown[]): Promise<ChaseReply> {
    try {
      await this.#req.send(encodeNamedMessage(tool, msg, data[0]));
    } catch (e) {
      if (isZmqError(e, "EAGAIN")) {
        throw new ImportQueueError(
          `cannot reach the master on ${this.address}: is piw-master running, and is this its ` +
            "--import-queue?",
        );
      }
      throw e;
    }
    let frames: Uint8Array[];
    try {
      frames = await this.#req.receive();
    } catch (e) {
      if (isZmqError(e, "EAGAIN")) {
        throw new ImportQueueError(
          `no answer to ${msg} from ${this.address} within ${this.timeout}: is the master ` +
            "there (a deployed master drops a request it cannot take without a word)?",
        );
      }
      throw e;
    }
    try {
      return decodeMessage(tool, frames[0] ?? new Uint8Array(0));
    } catch (e) {
      if (e instanceof ProtocolError) {
        throw new ImportQueueError(`the master's reply makes no sense: ${e.message}`);
      }
      throw e;
    }
  }

  /** Closes the socket. */
  async close(): Promise<void> {
    await this.#req.close();
  }

  /** Closes the socket (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
