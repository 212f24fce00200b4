/**
 * The endpoints of the stream transports (tcp:// and ipc://): a listener that runs a ZMTP
 * connection per accepted stream, and a connector that keeps one connection up, reconnecting
 * after `reconnectInterval` (with jitter, doubling up to `reconnectMaxInterval` when set).
 *
 * @module
 */

import { errorMessage } from "../../log.ts";
import { sleep } from "../../sleep.ts";
import { Connection, Faults } from "../connection.ts";
import { log, type PipeOwner } from "../pipe.ts";

/** A bound or connected endpoint of a socket. */
export interface EndpointHandle {
  /** The endpoint as bound or connected (for a bind: with the actual port). */
  readonly address: string;
  /** Closes the endpoint and its connections, lingering as `Pipe.close` does. */
  close(linger: number): Promise<void>;
}

/** Accepts connections on a listener. */
export class StreamListener implements EndpointHandle {
  readonly #connections = new Set<Connection>();
  /** Its peers' failures, so that one repeated on every retry is not logged each time. */
  readonly #faults = new Faults("listener");
  readonly #closing = new AbortController();
  readonly #accepting: Promise<void>;

  /** Starts accepting on `listener`, bound at `address`. */
  constructor(
    readonly owner: PipeOwner,
    readonly listener: Deno.Listener,
    readonly address: string,
  ) {
    this.#accepting = this.#accept();
  }

  /** Stops accepting and closes every connection accepted here. */
  async close(linger: number): Promise<void> {
    this.#closing.abort();
    this.listener.close();
    await this.#accepting;
    await Promise.all([...this.#connections].map((c) => c.close(linger)));
  }

  async #accept(): Promise<void> {
    while (!this.#closing.signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await this.listener.accept();
      } catch (e) {
        if (this.#closing.signal.aborted) return;
        log.warning(`${this.address}: accept failed: ${errorMessage(e)}`);
        await sleep(100, this.#closing.signal);
        continue;
      }
      const max = this.owner.options.maxConnections;
      if (max >= 0 && this.#connections.size >= max) {
        // held open, each would hold a file descriptor the whole process shares
        if (this.#faults.fresh("too many connections")) {
          log.warning(`${this.address}: ${max} connections are open: closing new ones`);
        }
        try {
          conn.close();
        } catch {
          // gone already
        }
        continue;
      }
      const connection = new Connection(
        this.owner,
        conn,
        `${this.address} ← ${peerName(conn)}`,
        this.#faults,
      );
      this.#connections.add(connection);
      connection.done.then(() => this.#connections.delete(connection));
    }
  }
}

/** Keeps a connection to `address` up. */
export class StreamConnector implements EndpointHandle {
  readonly #closing = new AbortController();
  /** Its connections' failures, so that a failure repeated on every retry is logged once. */
  readonly #faults = new Faults("connector");
  readonly #running: Promise<void>;
  #connection: Connection | undefined;

  /** Starts connecting with `dial`, which opens a stream (and honours the abort signal). */
  constructor(
    readonly owner: PipeOwner,
    readonly dial: (signal: AbortSignal) => Promise<Deno.Conn>,
    readonly address: string,
  ) {
    this.#running = this.#run();
  }

  /** Stops reconnecting and closes the connection. */
  async close(linger: number): Promise<void> {
    this.#closing.abort();
    await this.#connection?.close(linger);
    await this.#running;
  }

  async #run(): Promise<void> {
    const { reconnectInterval, reconnectMaxInterval } = this.owner.options;
    const signal = this.#closing.signal;
    let wait = reconnectInterval;
    while (!signal.aborted) {
      try {
        const conn = await this.dial(signal);
        if (signal.aborted) {
          conn.close();
          return;
        }
        const connection = new Connection(this.owner, conn, this.address, this.#faults);
        this.#connection = connection;
        await connection.done;
        this.#connection = undefined;
        if (connection.peerType) wait = reconnectInterval;
      } catch (e) {
        if (signal.aborted) return;
        log.debug(`${this.address}: connect failed: ${errorMessage(e)}`);
      }
      if (reconnectInterval < 0 || signal.aborted) return;
      await sleep(wait + Math.floor(Math.random() * (wait + 1)), signal);
      if (reconnectMaxInterval > wait) wait = Math.min(wait * 2, reconnectMaxInterval);
    }
  }
}

function peerName(conn: Deno.Conn): string {
  const addr = conn.remoteAddr;
  return addr.transport === "tcp" ? `${addr.hostname}:${addr.port}` : "a unix socket peer";
}
