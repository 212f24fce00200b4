/**
 * How piw-logger hands records to the master's Lumberjack (a PUSH on the log queue, WIRE.md
 * "Logger → Lumberjack"), in one of two ways:
 *
 * - {@linkcode BlockingSender} (loading old logs): each record waits until the master takes
 *   it, so that none is lost; a master that is not there yet is waited for, with a warning.
 * - {@linkcode DroppingSender} (`--drop`, a piped logger): records wait in a bounded backlog for
 *   the master; one the master has not taken within {@linkcode DROP_AFTER_MS} of being read is
 *   dropped and counted. Reading waits only for room in the backlog, and never longer than that:
 *   a master that keeps up loses nothing however fast the lines come (dropping a record that
 *   found the backlog full at once lost 119,850 of 300,000 lines read from a file), and one that
 *   is not there frees the backlog within a second. Apache writes its log lines to the logger's
 *   stdin and would block on a full pipe, so a piped logger must keep reading whatever the
 *   master does, as piwheels' own waits at most a second a record. Whether it is dropping is
 *   said at most once every {@linkcode DROP_REPORT_MS}: a master that barely keeps up flips it
 *   with every record, and each line would go to the web server's error log.
 *
 * @module
 */

import type { Logger } from "../shared/log.ts";
import { isZmqError, Push } from "../shared/zmq/mod.ts";

/** With `--drop`, a record not taken by the master within this time is dropped. */
export const DROP_AFTER_MS = 1_000;
/** With `--drop`, a change between dropping records and not is said at most this often. */
export const DROP_REPORT_MS = 60_000;
/** With `--drop`, at most this many records wait for the master. */
export const MAX_BACKLOG = 10_000;
/** The backlog's sent records are let go of in batches of this many. */
const COMPACT_AT = 4096;
/** Without `--drop`, a record waiting this long has the logger say it is waiting. */
const WAIT_WARNING_MS = 10_000;
/** How long closing waits for the records already taken to be written out. */
const LINGER_MS = { blocking: 30_000, dropping: 1_000 };

/** Something records (encoded LOG* messages) are handed to. */
export interface LogSender {
  /** Records the master took. */
  readonly sent: number;
  /** Records dropped (always 0 for a blocking sender). */
  readonly dropped: number;
  /** Hands a record over; a blocking sender resolves once the master took it. */
  send(frame: Uint8Array): Promise<void> | void;
  /** Finishes with what is waiting (sent or, past its time, dropped) and closes. */
  close(): Promise<void>;
}

/** Waits for the master to take every record. */
export class BlockingSender implements LogSender {
  readonly #push: Push;
  sent = 0;
  readonly dropped = 0;

  /** Connects to the log queue at `address`. */
  constructor(readonly address: string, readonly log: Logger) {
    this.#push = new Push({ sendTimeout: WAIT_WARNING_MS, linger: LINGER_MS.blocking });
    this.#push.connect(address);
  }

  /** Sends a record, waiting as long as it takes. */
  async send(frame: Uint8Array): Promise<void> {
    for (let warned = false;; warned = true) {
      try {
        await this.#push.send(frame);
        this.sent++;
        if (warned) this.log.info("the master takes records again");
        return;
      } catch (e) {
        if (!isZmqError(e, "EAGAIN")) throw e;
        if (!warned) this.log.warning(`waiting for the master to take records on ${this.address}`);
      }
    }
  }

  /** Closes, writing out what the socket holds. */
  async close(): Promise<void> {
    await this.#push.close();
  }
}

/** Never makes the reader wait: drops what the master does not take in time. */
export class DroppingSender implements LogSender {
  readonly #push: Push;
  /** Records waiting, with the time each is dropped at; `#head` is the next one to send. */
  #backlog: { frame: Uint8Array; deadline: number }[] = [];
  #head = 0;
  #pumping: Promise<void> | null = null;
  /** Wakes a record waiting for room in the backlog. */
  #room: (() => void) | null = null;
  #dropping = false;
  /** Whether the last thing said was that records are dropped, and when it was said. */
  #said = { dropping: false, at: -Infinity };
  #report: ReturnType<typeof setTimeout> | undefined;
  sent = 0;
  dropped = 0;

  /**
   * Connects to the log queue at `address`; a change between dropping and not is said at most
   * every `reportEveryMs` (one that comes sooner is said when that time is up, if it holds).
   */
  constructor(
    readonly address: string,
    readonly log: Logger,
    readonly reportEveryMs: number = DROP_REPORT_MS,
  ) {
    this.#push = new Push({ linger: LINGER_MS.dropping });
    this.#push.connect(address);
  }

  /** Records are dropped now, or taken again: says so now, or when it may say it again. */
  #changed(dropping: boolean): void {
    this.#dropping = dropping;
    if (this.#report !== undefined) return;
    const wait = this.#said.at + this.reportEveryMs - Date.now();
    if (wait <= 0) return this.#say();
    this.#report = setTimeout(() => {
      this.#report = undefined;
      this.#say();
    }, wait);
    Deno.unrefTimer(this.#report);
  }

  #say(): void {
    if (this.#dropping === this.#said.dropping) return;
    this.#said = { dropping: this.#dropping, at: Date.now() };
    this.log.warning(
      this.#dropping
        ? `dropping records: the master on ${this.address} does not take them (${this.dropped} ` +
          "dropped so far)"
        : `the master takes records again (${this.dropped} dropped so far)`,
    );
  }

  /**
   * Queues a record; when the backlog is full, resolves once there is room for it, or drops it
   * when there is none within {@linkcode DROP_AFTER_MS}.
   */
  send(frame: Uint8Array): Promise<void> | void {
    if (this.#backlog.length - this.#head >= MAX_BACKLOG) return this.#whenRoom(frame);
    this.#backlog.push({ frame, deadline: Date.now() + DROP_AFTER_MS });
    this.#pumping ??= this.#pump().finally(() => (this.#pumping = null));
  }

  async #whenRoom(frame: Uint8Array): Promise<void> {
    const until = Date.now() + DROP_AFTER_MS;
    while (this.#backlog.length - this.#head >= MAX_BACKLOG) {
      const left = until - Date.now();
      if (left <= 0) return this.#drop();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#room = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.send(frame);
  }

  #drop(): void {
    this.dropped++;
    if (!this.#dropping) this.#changed(true);
  }

  async #pump(): Promise<void> {
    while (this.#head < this.#backlog.length) {
      const { frame, deadline } = this.#backlog[this.#head++]!;
      this.#room?.();
      this.#room = null;
      if (this.#head >= COMPACT_AT) {
        this.#backlog = this.#backlog.slice(this.#head);
        this.#head = 0;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#drop();
        continue;
      }
      this.#push.options.sendTimeout = left;
      try {
        await this.#push.send(frame);
      } catch (e) {
        // a timeout, or the socket closing under us: either way the record is lost
        if (!isZmqError(e, "EAGAIN")) {
          this.log.debug(`cannot send a record: ${(e as Error).message}`);
        }
        this.#drop();
        continue;
      }
      this.sent++;
      if (this.#dropping) this.#changed(false);
    }
    this.#backlog = [];
    this.#head = 0;
  }

  /** Sends (or drops) what is waiting, then closes. */
  async close(): Promise<void> {
    await this.#pumping;
    clearTimeout(this.#report);
    await this.#push.close();
  }
}
