/**
 * The monitors' model of the farm, written once for piw-monitor, piw-sense and their
 * `--once --json`: the slaves the master knows (from SLAVE messages on the status queue), the
 * master's statistics (from STATS), what our own masters say beyond them (MASTER: paused, the
 * queue per ABI), and when the master was last heard from.
 *
 * A SLAVE message is `[slave_id, timestamp, message, data]` where `message` is the reply the
 * Slave Driver sent, or HELLO with the slave's HELLO data when it joined (deployed masters and
 * ours; ACK in our earlier releases); BYE and DIE mean the slave is gone. Slave ids are unique
 * within one run of the master, so a HELLO for a slave already known is a replay (a monitor
 * said HELLO) and keeps what is known; a reply repeated with the same data keeps the time its
 * state began. A slave that is gone (BYE; DIE, when killed, out of sequence or timed out; a
 * Python master's fake BYE on a time-out) is kept, shown as gone, for
 * {@linkcode GONE_LINGER_MS}, then forgotten. {@linkcode FarmState.reset} starts over for a new
 * master.
 *
 * A master says something at least every STATS period ({@linkcode FarmState.statsEveryMs}: from
 * MASTER, or {@linkcode DEFAULT_STATS_EVERY_MS} from a master that never sends it); silence for
 * longer than {@linkcode FarmState.silenceLimitMs} means it has stopped answering, even while its
 * queue is still connected (a master that hangs, or is stopped).
 *
 * @module
 */

import type { CborValue } from "../shared/cbor.ts";
import { Duration } from "../shared/duration.ts";
import {
  type MasterStatus,
  type Message,
  monitorStats,
  NO_DATA,
  packageName,
  safeFilename,
  slaveHello,
  type StatsMessage,
  versionString,
} from "../shared/protocols.ts";
import { activityOf, type SlaveActivity } from "../shared/states.ts";
import { Timestamp } from "../shared/timestamp.ts";

/** A message of the status queue, decoded. */
export type StatusMessage = Message<typeof monitorStats.send>;

/** The statistics as received. */
export type FarmStats = StatsMessage;

/** How long a gone slave stays listed (shown as gone) before it is forgotten. */
export const GONE_LINGER_MS = 10_000;

/**
 * How often a master that does not say (a Python master: no MASTER) is taken to send STATS.
 * piwheels 0.16's Big Brother sends them every 30 s; 60 s leaves room for a busy one.
 */
export const DEFAULT_STATS_EVERY_MS = 60_000;

/** The STATS period a master may claim is taken within these bounds (1 s to 1 h). */
const STATS_EVERY_BOUNDS = [1_000, 3_600_000] as const;

/** The least margin over the STATS period before silence counts as the master not answering. */
export const SILENCE_MARGIN_MS = 10_000;

/** The SLAVE messages that say a slave joined (HELLO; ACK from our earlier masters). */
const JOINED = new Set(["HELLO", "ACK"]);

/** What the monitors know of one build slave. */
export interface SlaveRecord {
  /** The master's id for the slave. */
  readonly slaveId: number;
  /** Its label (host name); `slave <id>` until its HELLO data is known. */
  label: string;
  /** The ABI it builds for; `?` until known. */
  abi: string;
  /** Its Python version tag; `?` until known. */
  pyVersion: string;
  /** Its platform tag; `?` until known. */
  platform: string;
  /** Its build timeout; null until known. */
  timeout: Duration | null;
  /** The last reply the master sent it (or BYE when it said goodbye). */
  reply: string;
  /** What it is doing. */
  activity: SlaveActivity;
  /** The package and version it was told to build, while building. */
  build: [string, string] | null;
  /** The file it was asked to send, while sending. */
  file: string | null;
  /** When its current activity began (the master's clock). */
  since: Timestamp;
  /** When the master last said anything about it (the master's clock). */
  lastSeen: Timestamp;
  /** When this monitor learned it was gone (its own clock, ms), for forgetting it later. */
  goneAt: number | null;
}

/** The farm status as `--once --json` prints it. */
export interface FarmDocument {
  /**
   * The master: whether connected, how long since its last message (seconds), and, from our
   * own masters (null otherwise), whether it is paused, its build queue per ABI, how often it
   * sends STATS (seconds) and its version.
   */
  master: {
    connected: boolean;
    last_message_age: number | null;
    paused: boolean | null;
    builds_pending_abi: Record<string, number> | null;
    stats_every: number | null;
    version: string | null;
  };
  /** The statistics (durations as seconds), or null when none arrived. */
  stats: Record<string, unknown> | null;
  /** The slaves, sorted by ABI then label. */
  slaves: {
    slave_id: number;
    label: string;
    abi: string;
    py_version: string;
    platform: string;
    state: SlaveActivity;
    package: string | null;
    version: string | null;
    file: string | null;
    state_age: number;
    last_seen_age: number;
    timeout: number | null;
  }[];
}

/** The monitors' model of the farm. */
export class FarmState {
  /** The slaves, by id. */
  readonly slaves: Map<number, SlaveRecord> = new Map();
  /** The latest statistics, or null. */
  stats: FarmStats | null = null;
  /** What our own master last said beyond the statistics (MASTER), or null. */
  master: MasterStatus | null = null;
  /** When the last status message arrived (this monitor's clock, ms), or null. */
  lastMessage: number | null = null;
  /**
   * When the master last showed signs of life (this monitor's clock, ms): its last message, or
   * the status queue connecting; the model's creation before either.
   */
  heardAt: number = Date.now();
  /** Whether the status queue is connected to a master. */
  connected = false;
  /** How many status messages have been applied (for redraw decisions and benchmarks). */
  version = 0;

  /** A model that forgets gone slaves `goneLingerMs` after learning they went. */
  constructor(readonly goneLingerMs: number = GONE_LINGER_MS) {}

  /** Forgets everything the master said (a new master, or the same one restarted). */
  reset(): void {
    this.slaves.clear();
    this.stats = null;
    this.master = null;
    this.lastMessage = null;
    this.version++;
  }

  /** Notes whether the status queue is connected (at `now`, ms). */
  setConnected(connected: boolean, now: number = Date.now()): void {
    if (connected !== this.connected) this.version++;
    if (connected && !this.connected) this.heardAt = now;
    this.connected = connected;
  }

  /** Whether the master is paused: null when it does not say (no MASTER yet, or never). */
  get paused(): boolean | null {
    return this.master?.paused ?? null;
  }

  /**
   * How often the master sends STATS (ms): as its MASTER says (within 1 s and 1 h), else
   * {@linkcode DEFAULT_STATS_EVERY_MS}.
   */
  statsEveryMs(): number {
    const said = this.master?.stats_every.totalMillis();
    if (said === undefined) return DEFAULT_STATS_EVERY_MS;
    return Math.min(STATS_EVERY_BOUNDS[1], Math.max(STATS_EVERY_BOUNDS[0], said));
  }

  /**
   * How long the master may be silent before it counts as not answering (ms): its STATS period
   * plus a quarter of it, at least {@linkcode SILENCE_MARGIN_MS} more (75 s for 60 s, 20 s for
   * the 10 s of `--dev-mode`).
   */
  silenceLimitMs(): number {
    const every = this.statsEveryMs();
    return every + Math.max(SILENCE_MARGIN_MS, every / 4);
  }

  /** How long the master has been silent at `now` (ms). */
  silenceMs(now: number = Date.now()): number {
    return Math.max(0, now - this.heardAt);
  }

  /** Whether the master has been silent for longer than {@linkcode silenceLimitMs} at `now`. */
  quiet(now: number = Date.now()): boolean {
    return this.silenceMs(now) > this.silenceLimitMs();
  }

  /** Applies one status message received at `now` (ms, this monitor's clock). */
  apply(m: StatusMessage, now: number = Date.now()): void {
    this.lastMessage = now;
    this.heardAt = now;
    this.version++;
    if (m.msg === "STATS") {
      this.stats = m.data;
      return;
    }
    if (m.msg === "MASTER") {
      this.master = m.data;
      return;
    }
    const [slaveId, when, reply, data] = m.data;
    let slave = this.slaves.get(slaveId);
    if (JOINED.has(reply)) {
      const hello = slaveHello.safeParse(data);
      if (slave && !JOINED.has(slave.reply)) return; // a replay: what is known stands
      slave ??= this.#add(slaveId, when);
      if (hello.success) {
        const [timeout, pyVersion, abi, platform, label] = hello.data;
        Object.assign(slave, { timeout, pyVersion, abi, platform, label });
      }
    }
    slave ??= this.#add(slaveId, when);
    // a slave told DIE is gone, and the master says BYE then too: why it went stays shown
    if (reply === "BYE" && slave.activity === "gone") {
      slave.lastSeen = when;
      return;
    }
    const build = reply === "BUILD" ? pair(data) : null;
    const file = reply === "SEND" && safeFilename.safeParse(data).success ? data as string : null;
    const same = slave.reply === reply && sameBuild(slave.build, build) && slave.file === file;
    if (!same) slave.since = when;
    slave.reply = reply;
    slave.build = build;
    slave.file = file;
    slave.lastSeen = when;
    slave.activity = activityOf(reply === "BYE" ? reply : null, reply);
    if (slave.activity === "gone") slave.goneAt ??= now;
  }

  /**
   * Forgets one slave to make room for another: the one gone the longest, or else the one heard
   * from the longest ago (a master, or whoever poses as its status queue, can name any number).
   */
  #evict(): void {
    const first = (a: SlaveRecord, b: SlaveRecord) =>
      (a.goneAt === null) === (b.goneAt === null)
        ? a.lastSeen.micros < b.lastSeen.micros
        : a.goneAt !== null;
    let oldest: SlaveRecord | undefined;
    for (const s of this.slaves.values()) if (!oldest || first(s, oldest)) oldest = s;
    if (oldest) this.slaves.delete(oldest.slaveId);
  }

  /** Forgets the slaves that have been gone for long enough. */
  prune(now: number = Date.now()): void {
    for (const [id, slave] of this.slaves) {
      if (slave.goneAt !== null && now - slave.goneAt >= this.goneLingerMs) {
        this.slaves.delete(id);
        this.version++;
      }
    }
  }

  /** The slaves sorted by ABI, then label, then id; numbers in order (cp39 before cp311). */
  sorted(): SlaveRecord[] {
    return [...this.slaves.values()].sort((a, b) =>
      naturalOrder(a.abi, b.abi) || naturalOrder(a.label, b.label) || a.slaveId - b.slaveId
    );
  }

  /** The build queue's size per ABI (from our master's MASTER), when known. */
  pendingByAbi(): Map<string, number> {
    return new Map(Object.entries(this.master?.builds_pending_abi ?? {}));
  }

  /** The farm status as one JSON-ready document, ages measured at `now`. */
  document(now: number = Date.now()): FarmDocument {
    const at = Timestamp.fromEpochSeconds(now / 1000);
    return {
      master: {
        connected: this.connected,
        last_message_age: this.lastMessage === null ? null : (now - this.lastMessage) / 1000,
        paused: this.paused,
        builds_pending_abi: this.master?.builds_pending_abi ?? null,
        stats_every: this.master?.stats_every.totalSeconds() ?? null,
        version: this.master?.version ?? null,
      },
      stats: this.stats === null ? null : Object.fromEntries(
        Object.entries(this.stats).map(([k, v]) => [k, plain(v)]),
      ),
      slaves: this.sorted().map((s) => ({
        slave_id: s.slaveId,
        label: s.label,
        abi: s.abi,
        py_version: s.pyVersion,
        platform: s.platform,
        state: s.activity,
        package: s.build?.[0] ?? null,
        version: s.build?.[1] ?? null,
        file: s.file,
        state_age: age(s.since, at),
        last_seen_age: age(s.lastSeen, at),
        timeout: s.timeout?.totalSeconds() ?? null,
      })),
    };
  }

  #add(slaveId: number, when: Timestamp): SlaveRecord {
    if (this.slaves.size >= MAX_SLAVES_SHOWN) this.#evict();
    const slave: SlaveRecord = {
      slaveId,
      label: `slave ${slaveId}`,
      abi: "?",
      pyVersion: "?",
      platform: "?",
      timeout: null,
      reply: "",
      activity: "idle",
      build: null,
      file: null,
      since: when,
      lastSeen: when,
      goneAt: null,
    };
    this.slaves.set(slaveId, slave);
    return slave;
  }
}

/**
 * Seconds from `from` to `to`, never negative (the master's clock may run ahead). Any two
 * instants have one: a Duration holds only a safe number of microseconds, and a timestamp in
 * 1700 said by a peer threw from every frame drawn, which stopped the monitor.
 */
export function age(from: Timestamp, to: Timestamp): number {
  return Math.max(0, (to.micros - from.micros) / 1_000_000);
}

/**
 * The most slaves shown at once: more than any real farm has, so that one is shown whole (our
 * master keeps at most 2,000 connections to its slave queue).
 */
export const MAX_SLAVES_SHOWN = 2000;

const NATURAL = new Intl.Collator("en", { numeric: true });

/** Text order with numbers compared as numbers: cp39 before cp311, slave9 before slave10. */
export function naturalOrder(a: string, b: string): number {
  return NATURAL.compare(a, b);
}

/** A BUILD's package and version, when they are what a master may send (bounded text). */
function pair(data: CborValue): [string, string] | null {
  return Array.isArray(data) && packageName.safeParse(data[0]).success &&
      versionString.safeParse(data[1]).success
    ? [data[0] as string, data[1] as string]
    : null;
}

function sameBuild(a: [string, string] | null, b: [string, string] | null): boolean {
  return a?.[0] === b?.[0] && a?.[1] === b?.[1];
}

/** A statistics value as JSON: durations in seconds, timestamps as text. */
function plain(value: unknown): unknown {
  if (value instanceof Duration) return value.totalSeconds();
  if (value instanceof Timestamp) return value.toString();
  if (value === NO_DATA) return null;
  return value;
}
