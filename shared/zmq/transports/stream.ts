/**
 * The endpoints of the stream transports (tcp:// and ipc://): a listener that runs a ZMTP
 * connection per accepted stream, and a connector that keeps one connection up, reconnecting
 * after `reconnectInterval` (with jitter, doubling up to `reconnectMaxInterval` when set).
 *
 * A listener keeps at most `maxConnections`, shared fairly between the places its peers connect
 * from ({@linkcode peerGroup}: an IPv4 address, an IPv6 /64): when it is full, a newcomer from
 * a place holding fewer connections than the place holding most takes the oldest connection of
 * that place, so that one host holding every connection open cannot keep the others out. The
 * bytes of unfinished messages its connections hold together are bounded the same way
 * (`maxUnfinishedBytes`): one that would take more closes the largest holder of the place
 * holding most. A CURVE server takes at most {@linkcode CURVE_BURST} connections from one place
 * at once, then {@linkcode CURVE_PER_SECOND} a second: each costs it two X25519 operations of
 * pure JavaScript (about 1.8 ms), which any peer could ask for without end.
 *
 * @module
 */

import { errorMessage } from "../../log.ts";
import { ZmqError } from "../errors.ts";
import { sleep } from "../../sleep.ts";
import { Connection, Faults, type ReceiveBudget } from "../connection.ts";
import { log, type PipeOwner } from "../pipe.ts";

/** How many connections a CURVE server takes from one place at once... */
export const CURVE_BURST = 50;
/** ...and then how many a second. */
export const CURVE_PER_SECOND = 10;
/** The places whose CURVE connections are counted: the oldest is forgotten beyond. */
const CURVE_PLACES = 10_000;

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
  /** The same connections by {@linkcode peerGroup}, oldest first. */
  readonly #groups = new Map<string, Set<Connection>>();
  /** CURVE: each place's allowance of connections (a token bucket), by its last use. */
  readonly #allowance = new Map<string, { tokens: number; at: number }>();
  /** The bytes of unfinished messages each connection holds (those holding any). */
  readonly #held = new Map<Connection, { group: string; bytes: number }>();
  #heldTotal = 0;
  /** Its peers' failures, so that one repeated on every retry is not logged each time. */
  readonly #faults = new Faults("listener");
  /** Its own warnings (full, crowded), apart: no peer's failures can take their places. */
  readonly #warned = new Faults("listener");
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
      const group = peerGroup(conn.remoteAddr);
      const max = this.owner.options.maxConnections;
      if (
        (this.owner.options.curve?.server && !this.#allowed(group)) ||
        (max >= 0 && this.#connections.size >= max && !this.#makeRoom(group, max))
      ) {
        try {
          conn.close();
        } catch {
          // gone already
        }
        continue;
      }
      const budget = this.owner.options.maxUnfinishedBytes >= 0
        ? this.#budget(group, () => connection)
        : undefined;
      const connection: Connection = new Connection(
        this.owner,
        conn,
        `${this.address} ← ${peerName(conn)}`,
        this.#faults,
        budget,
      );
      this.#connections.add(connection);
      const members = this.#groups.get(group) ?? new Set();
      members.add(connection);
      this.#groups.set(group, members);
      connection.done.then(() => this.#forget(connection, group));
    }
  }

  /**
   * At `max` connections: closes the oldest connection of the group holding most if `group`
   * holds at least two fewer (after the swap it still holds no more than that group), and says
   * whether there is room now.
   */
  #makeRoom(group: string, max: number): boolean {
    const own = this.#groups.get(group)?.size ?? 0;
    let most: [string, Set<Connection>] | undefined;
    for (const entry of this.#groups) {
      if (!most || entry[1].size > most[1].size) most = entry;
    }
    if (!most || most[1].size < own + 2) {
      // held open, each would hold a file descriptor the whole process shares
      if (this.#warned.fresh("too many connections")) {
        log.warning(`${this.address}: ${max} connections are open: closing new ones`);
      }
      return false;
    }
    const [crowded, members] = most;
    const oldest = members.values().next().value!;
    if (this.#warned.fresh("crowded out")) {
      log.warning(
        `${this.address}: ${max} connections are open, ${members.size} of them from ` +
          `${crowded}: closing the oldest of those for one from ${group}`,
      );
    }
    this.#forget(oldest, crowded);
    void oldest.close(0);
    return true;
  }

  /** CURVE: whether `group` may have a connection more now (and counts it). */
  #allowed(group: string): boolean {
    const now = performance.now();
    let place = this.#allowance.get(group);
    if (place) {
      this.#allowance.delete(group); // to the back: the last used
      place.tokens = Math.min(
        CURVE_BURST,
        place.tokens + (now - place.at) * CURVE_PER_SECOND / 1000,
      );
      place.at = now;
    } else {
      place = { tokens: CURVE_BURST, at: now };
      for (const old of this.#allowance.keys()) {
        if (this.#allowance.size < CURVE_PLACES) break;
        this.#allowance.delete(old);
      }
    }
    this.#allowance.set(group, place);
    if (place.tokens < 1) {
      if (this.#warned.fresh("curve rate")) {
        log.warning(
          `${this.address}: CURVE connections from ${group} come faster than ` +
            `${CURVE_PER_SECOND} a second: closing new ones`,
        );
      }
      return false;
    }
    place.tokens--;
    return true;
  }

  /** The budget of a connection from `group` (the connection itself once it is made). */
  #budget(group: string, self: () => Connection): ReceiveBudget {
    const limit = this.owner.options.maxUnfinishedBytes;
    return {
      hold: (bytes) => {
        const me = self();
        this.#release(me);
        this.#held.set(me, { group, bytes });
        this.#heldTotal += bytes;
        while (this.#heldTotal > limit) {
          const victim = this.#largestHolder();
          const held = this.#held.get(victim)!;
          if (this.#warned.fresh("unfinished")) {
            log.warning(
              `${this.address}: unfinished messages would hold over ${limit} bytes: closing ` +
                `the connection holding most of them (${held.bytes} bytes) of the place ` +
                `holding most (${held.group})`,
            );
          }
          this.#release(victim);
          if (victim === me) {
            throw new ZmqError("EPROTO", "unfinished messages of this endpoint's peers too large");
          }
          victim.abort("its unfinished message was crowded out");
        }
      },
      release: () => this.#release(self()),
    };
  }

  #release(connection: Connection): void {
    const held = this.#held.get(connection);
    if (!held) return;
    this.#heldTotal -= held.bytes;
    this.#held.delete(connection);
  }

  /** The connection holding most bytes of the place holding most. */
  #largestHolder(): Connection {
    const byGroup = new Map<string, number>();
    for (const { group, bytes } of this.#held.values()) {
      byGroup.set(group, (byGroup.get(group) ?? 0) + bytes);
    }
    let group = "";
    let most = -1;
    for (const [g, bytes] of byGroup) if (bytes > most) [group, most] = [g, bytes];
    let victim: Connection | undefined;
    let largest = -1;
    for (const [c, held] of this.#held) {
      if (held.group === group && held.bytes > largest) [victim, largest] = [c, held.bytes];
    }
    return victim!;
  }

  #forget(connection: Connection, group: string): void {
    this.#connections.delete(connection);
    const members = this.#groups.get(group);
    if (members?.delete(connection) && members.size === 0) this.#groups.delete(group);
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

/**
 * Where a peer connects from, as the fair share of a full listener counts it: its IPv4 address
 * (an IPv4-mapped IPv6 address too), the first 64 bits of its IPv6 address (the least a site
 * is given, so a host cannot take more shares by taking more of its addresses), or one group
 * for every peer of a Unix socket.
 */
export function peerGroup(addr: Deno.Addr): string {
  if (addr.transport !== "tcp") return "a unix socket";
  const host = addr.hostname.toLowerCase().replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped) return mapped[1]!;
  if (!host.includes(":")) return host;
  const [head = "", tail = ""] = host.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = host.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

function peerName(conn: Deno.Conn): string {
  const addr = conn.remoteAddr;
  return addr.transport === "tcp" ? `${addr.hostname}:${addr.port}` : "a unix socket peer";
}
