/**
 * A monitor's two queues to the master: the status queue (SUB, everything subscribed) it
 * follows and the control queue (PUSH) it sends HELLO, PAUSE, RESUME, KILL and QUIT on.
 *
 * Each time the status queue connects (the master started, or came back after going away) the
 * link says so, so that the monitor can forget the old master's slaves, and sends HELLO: the
 * Slave Driver then replays every slave and Big Brother re-sends STATS. HELLO is repeated every
 * {@linkcode HELLO_RETRY_MS} until a STATS arrives, in case the master handled it before our
 * subscription reached its PUB socket. Messages that do not decode are reported, never thrown.
 *
 * @module
 */

import {
  encodeMessage,
  masterControl,
  MAX_STATUS_MESSAGE,
  monitorStats,
  reverse,
  STATUS_EXTENSION,
} from "../shared/protocols.ts";
import { eachDecoded, isClosed } from "../shared/receive.ts";
import type { Pipe } from "../shared/zmq/pipe.ts";
import { isZmqError, Push, Subscriber } from "../shared/zmq/mod.ts";
import type { StatusMessage } from "./farm_state.ts";

/** How long a control message may wait for the master to take it. */
export const CONTROL_TIMEOUT_MS = 2_000;
/** How often HELLO is repeated while connected and no STATS came back. */
export const HELLO_RETRY_MS = 5_000;

const fromMaster = reverse(monitorStats);
const toMaster = reverse(masterControl);

/** A control message a monitor sends. */
export type Control =
  | { msg: "HELLO" | "PAUSE" | "RESUME" | "QUIT" }
  | { msg: "KILL"; slaveId: number };

/** Something that takes control messages (the master, through its link). */
export interface Controller {
  /** Sends a control message; rejects when the master does not take it. */
  send(control: Control): Promise<void>;
}

/** What the link tells its owner. */
export interface LinkEvents {
  /** A status message arrived. */
  message(m: StatusMessage): void;
  /** The status queue connected to a master (true) or lost it (false). */
  connection(connected: boolean): void;
  /** Something went wrong that the monitor carries on from (a bad message, a failed send). */
  warning(text: string): void;
}

/**
 * A SUB socket that says when its peers come and go, and asks our masters for what they say
 * beyond the deployed protocol (MASTER).
 */
class WatchedSubscriber extends Subscriber {
  onPeers: (count: number) => void = () => {};

  constructor() {
    super({
      metadata: { [STATUS_EXTENSION.property]: STATUS_EXTENSION.value },
      maxMessageSize: MAX_STATUS_MESSAGE,
      // a Python master relays a slave's HELLO of any size, and replays it to each monitor that
      // connects: closing the connection had it sent again ten times a second
      skipOversized: true,
    });
  }

  protected override attached(pipe: Pipe): boolean {
    const ok = super.attached(pipe);
    // the socket adds the pipe once this returns
    if (ok) queueMicrotask(() => this.onPeers(this.pipes.size));
    return ok;
  }

  protected override detached(pipe: Pipe): void {
    super.detached(pipe);
    this.onPeers(this.pipes.size);
  }
}

/** The status and control queues of one master. */
export class MasterLink implements Controller {
  readonly #status = new WatchedSubscriber();
  readonly #control = new Push({ linger: 0, sendTimeout: CONTROL_TIMEOUT_MS });
  #connected = false;
  #statsSinceHello = false;
  #retry: ReturnType<typeof setInterval> | undefined;
  #receiving: Promise<void> | undefined;

  /** Connects to the master's queues (in the background, retrying until it is there). */
  constructor(
    readonly statusQueue: string,
    readonly controlQueue: string,
    readonly events: LinkEvents,
  ) {
    this.#status.subscribe();
    this.#status.onPeers = (count) => this.#peers(count);
    this.#status.connect(statusQueue);
    this.#control.connect(controlQueue);
    this.#receiving = this.#receive();
  }

  /** Whether the status queue is connected to a master. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Sends a control message; rejects when the master does not take it in time. */
  async send(control: Control): Promise<void> {
    const frame = control.msg === "KILL"
      ? encodeMessage(toMaster, "KILL", control.slaveId)
      : encodeMessage(toMaster, control.msg);
    await this.#control.send(frame);
  }

  /** Closes both queues. */
  async close(): Promise<void> {
    clearInterval(this.#retry);
    await Promise.all([this.#status.close(), this.#control.close()]);
    await this.#receiving;
  }

  #peers(count: number): void {
    const connected = count > 0;
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.events.connection(connected);
    clearInterval(this.#retry);
    this.#retry = undefined;
    if (connected) {
      this.#hello();
      this.#retry = setInterval(() => {
        if (!this.#statsSinceHello) this.#hello();
      }, HELLO_RETRY_MS);
    }
  }

  #hello(): void {
    this.#statsSinceHello = false;
    this.send({ msg: "HELLO" }).catch((e) => {
      if (!isClosed(e)) this.events.warning(`cannot say HELLO to the master: ${describe(e)}`);
    });
  }

  #receive(): Promise<void> {
    return eachDecoded(this.#status, fromMaster, this.events, (m) => {
      if (m.msg === "STATS") this.#statsSinceHello = true;
      this.events.message(m);
    });
  }
}

function describe(e: unknown): string {
  if (isZmqError(e, "EAGAIN")) return "it is not listening";
  return e instanceof Error ? e.message : String(e);
}
