/**
 * The Slave Driver (manual 11.3.5, WIRE.md): speaks to the build slaves on the slave queue (a
 * ROUTER, default tcp://*:5555), hands each idle slave a build from the Architect's queue for its
 * ABI, has the File Juggler fetch and verify the wheels, and logs each build through the Oracle
 * only once its files are verified and published, so the index never links a missing file.
 *
 * Nothing a slave says is believed unchecked: a build's files must be wheels of the build's own
 * project, version and ABI (their names, then their METADATA once they arrive), and none may be a
 * file another version published. Anything else refuses the build, and nothing of it is written:
 * a build refused for its files is logged as failed, with why, and the slave carries on; one
 * whose files would not arrive, or that the master could not publish, gets DIE. Build ABIs are
 * the operator's: a slave of another ABI is told SLEEP. What slaves can make the master keep is
 * bounded: at most {@linkcode MAX_SLAVES} are known at once, a slave's timeout is cut to
 * {@linkcode MAX_SLAVE_TIMEOUT}, and a slave whose connection closes is forgotten at once, its
 * build going back to the queue (a connection that answers no PING for a minute is closed:
 * `slaveHeartbeat`), unless it is the {@linkcode MAX_LOST}th slave lost building it: a build that
 * kills its slave is logged as failed rather than handed to every slave in turn.
 *
 * An IDLE with nothing to build is held (up to {@linkcode IDLE_HOLD_MS}) rather than answered
 * SLEEP at once, so a release that arrives meanwhile is dispatched within moments. The queue the
 * Architect sends is kept here and a finished build taken out of it at once; the Architect is
 * asked for it again only when that can bring work (a build made ABI-specific wheels, which
 * other ABIs then build too; a full queue half used up). Every reply is echoed to the monitors
 * (SLAVE on the status queue; HELLO with the slave's data on joining).
 *
 * @module
 */

import { formatSize } from "../../shared/size.ts";
import type { CborValue } from "../../shared/cbor.ts";
import { Duration } from "../../shared/duration.ts";
import { encodeHex } from "../../shared/hash.ts";
import { errorMessage, ThrottledWarning } from "../../shared/log.ts";
import {
  architectControl,
  bigBrother,
  decodeMessage,
  encodeMessage,
  encodeNamedMessage,
  fileJugglerFs,
  isTrustedAddress,
  keptText,
  MAX_BUILD_MESSAGE,
  MAX_CONNECTIONS,
  MAX_UNFINISHED_BYTES,
  MAX_UNREAD_BYTES,
  type Message,
  monitorStats,
  NO_DATA,
  ProtocolError,
  QUEUE_LENGTH,
  reverse,
  salvageBuilt,
  slaveDriver,
  slaveDriverControl,
  slaveHeartbeat,
  theArchitect,
} from "../../shared/protocols.ts";
import { BuildState, FileState, SlaveState } from "../../shared/states.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { Pull, Push, Router } from "../../shared/zmq/mod.ts";
import { curveServerOptions } from "../../shared/curve_setup.ts";
import type { Counter, Metrics } from "../../shared/metrics.ts";
import { BuildIntake, type Intake, NoRoom, Refused } from "../intake.ts";
import { OracleClient } from "../oracle_client.ts";
import { RpcClient } from "../rpc.ts";
import { eachDecoded, eachMessageByPeer, isClosed } from "../../shared/receive.ts";
import { ARCHITECT_CONTROL, INTERNAL_STATUS, runTask, type TaskContext } from "../task.ts";

const fromArchitect = reverse(theArchitect);
const toArchitect = reverse(architectControl);
const toStats = reverse(bigBrother);

/** The queue's sizes go to Big Brother at most this often. */
const QUEUE_NEWS_MS = 250;

/** How long an IDLE with nothing to build waits for work before the answer is SLEEP. */
export const IDLE_HOLD_MS = 10_000;
/** How long a finished build is kept out of the queue (the Architect may not have seen it). */
const RECENT_MS = 120_000;
/**
 * The most slaves known at once; a HELLO beyond them is dropped (and logged). Each is a
 * connection to the slave queue, forgotten when it closes, and the queue keeps at most
 * `MAX_CONNECTIONS.slaves` of them, shared fairly between the hosts they come from; twice that
 * leaves room for connections closed whose news has not reached the Slave Driver yet, so that
 * a slave taking the place of one crowded out is not told nothing.
 */
export const MAX_SLAVES = 2 * MAX_CONNECTIONS.slaves;
/** The longest build timeout a slave may name: a longer one is cut to this. */
export const MAX_SLAVE_TIMEOUT = Duration.of({ hours: 24 });
/** How many times a file that fails to verify is asked for again before the build is refused. */
const MAX_ATTEMPTS = 3;
/** At most this many distinct ABIs that are not build ABIs are each logged once. */
const MAX_UNKNOWN_ABIS_LOGGED = 100;
/** Dropped HELLOs are logged at most this often. */
const DROPPED_LOG_MS = 60_000;
/**
 * How many times the slaves building one release may be lost (gone away, timed out, started
 * again, or said goodbye) before it is logged as failed: a build that kills its slave would
 * otherwise be handed to every slave in turn, for ever.
 */
export const MAX_LOST = 3;
/** The most releases whose lost builds are counted (the oldest count goes first). */
const MAX_LOST_KEPT = 10_000;

type SlaveMessage = Message<typeof slaveDriver.recv>;
type ReplyName = keyof typeof slaveDriver.send & string;

interface Slave {
  state: SlaveState;
  /** The ROUTER routing id of the slave's REQ socket. */
  address: Uint8Array;
  /** What was handed out: package and version. */
  task: [string, string] | null;
  /** When it was handed out (`performance.now()`). */
  handedOut: number;
  /** An IDLE being held: when it is answered SLEEP. */
  held: ReturnType<typeof setTimeout> | undefined;
  /** When the last reply was sent (a replay to the monitors says so, not "now"). */
  replied: Timestamp;
  /** The last reply's data (or no data), as the monitors were told it. */
  repliedData: CborValue;
  /** The successful build being taken in, once its files were checked. */
  intake: Intake | null;
  /** Failed verifications of the file being sent. */
  attempts: number;
}

class Driver {
  readonly slaves = new Map<string, Slave>();
  readonly byId = new Map<number, Slave>();
  /** The build queue per build ABI; null until the Architect first sent it. */
  queue: Map<string, [string, string][]> | null = null;
  /** The ABIs whose queue came full (more is pending in the database than it holds). */
  readonly truncated = new Set<string>();
  /** Whether a REFRESH was asked for and its QUEUE has not come yet. */
  refreshing = false;
  /**
   * Whether anything subscribes to the status queue (the main thread says MONITORS): without,
   * the slaves' states are not published (each would cost an encoding and two thread hops).
   */
  monitors = false;
  readonly active = new Set<string>();
  /**
   * Builds finished lately, kept out of the queue until the Architect has surely seen them: when
   * each may go back, in the order they finished (so the oldest is first).
   */
  readonly recent = new Map<string, number>();
  /** How many times the slaves building a release were lost, by build key (oldest first). */
  readonly lost = new Map<string, number>();
  /** ABIs slaves asked for that are not build ABIs, each logged once. */
  readonly unknownAbis = new Set<string>();
  /** Builds logged since the last summary (one line a minute, not one a build). */
  logged = { built: 0, failed: 0 };
  /** Bytes free under the output path, as last asked (null until known). */
  free: number | null = null;
  /** Says, once a minute at most, that HELLOs are dropped. */
  readonly droppedHellos: ThrottledWarning;
  nextId = 1;
  /** Builds logged, by result (a metric). */
  buildsLogged: Counter | undefined;

  constructor(
    readonly ctx: TaskContext,
    readonly router: Router,
    readonly intake: BuildIntake,
    readonly status: Push,
    readonly architect: Push,
    readonly stats: Push,
  ) {
    this.droppedHellos = new ThrottledWarning(ctx.log, DROPPED_LOG_MS);
  }

  /** A STATBQ to Big Brother is due. */
  #queueNews: ReturnType<typeof setTimeout> | undefined;

  /** Tells Big Brother the queue's sizes per ABI soon (at most once a QUEUE_NEWS_MS). */
  queueChanged(): void {
    if (this.#queueNews !== undefined || this.ctx.signal.aborted) return;
    this.#queueNews = setTimeout(() => {
      this.#queueNews = undefined;
      const sizes = Object.fromEntries(
        [...(this.queue ?? [])].map(([abi, list]) => [abi, list.length]),
      );
      this.stats.send(encodeMessage(toStats, "STATBQ", sizes)).catch(() => {});
    }, QUEUE_NEWS_MS);
  }

  buildKey(pkg: string, version: string, abi: string): string {
    return `${pkg}\0${version}\0${abi}`;
  }

  /**
   * Publishes a slave's state change to the monitors, while there are any (see
   * {@linkcode Driver.monitors}), or always when `replaying`.
   */
  async publish(
    slave: Slave,
    msg: string,
    data: CborValue,
    when: Timestamp = Timestamp.now(),
    replaying = false,
  ): Promise<void> {
    if (!this.monitors && !replaying) return;
    const frame = encodeMessage(monitorStats, "SLAVE", [slave.state.slaveId, when, msg, data]);
    await this.status.send(frame).catch(() => {});
  }

  async reply(slave: Slave, msg: ReplyName, data?: unknown): Promise<void> {
    const payload = encodeNamedMessage(slaveDriver, msg, data);
    slave.state.sent(msg);
    slave.replied = Timestamp.now();
    try {
      await this.router.send([slave.address, new Uint8Array(0), payload]);
    } catch (e) {
      if (!isClosed(e)) {
        this.ctx.log.warning(`slave ${slave.state.slaveId}: cannot reply: ${errorMessage(e)}`);
      }
    }
    // On joining, deployed monitors are told HELLO with the slave's HELLO data (not ACK)
    slave.repliedData = data === undefined ? NO_DATA : data as CborValue;
    if (msg === "ACK") {
      await this.publish(slave, "HELLO", slave.state.helloMessage(), slave.replied);
    } else {
      await this.publish(slave, msg, slave.repliedData, slave.replied);
    }
    if (msg === "DIE") {
      // it is forgotten now, so its BYE (or its connection closing) would go unseen: monitors
      // are told it left, or a deployed one keeps its row for good
      await this.publish(slave, "BYE", NO_DATA);
      this.forget(slave);
    }
  }

  /** Forgets a slave: its build goes back to the queue and its files are dropped. */
  forget(slave: Slave): void {
    clearTimeout(slave.held);
    slave.held = undefined;
    if (slave.intake) this.intake.abort(slave.state.slaveId);
    if (slave.task) this.active.delete(this.buildKey(...slave.task, slave.state.nativeAbi));
    this.slaves.delete(encodeHex(slave.address));
    this.byId.delete(slave.state.slaveId);
  }

  /** A slave's connection closed: it is gone, whatever it was doing. */
  async left(address: Uint8Array): Promise<void> {
    const slave = this.slaves.get(encodeHex(address));
    if (!slave) return;
    const doing = slave.task && slave.state.reply !== "DONE"
      ? `; ${slave.task.join(" ")} goes back to the queue`
      : "";
    this.ctx.log.info(`slave ${slave.state.slaveId} (${slave.state.label}) went away${doing}`);
    await this.publish(slave, "BYE", NO_DATA);
    this.forget(slave);
    await this.lose(slave, "went away");
    if (slave.task) await this.wake();
  }

  /**
   * Counts a forgotten slave's build as lost, if it was building one; the
   * {@linkcode MAX_LOST}th loss of one release logs it as failed (why, in its output), so that
   * it is not handed out again until an operator asks (`piw-remove` of the version).
   */
  async lose(slave: Slave, how: string): Promise<void> {
    // only while building: once BUILT, what fails is the transfer, which a file queue out of
    // reach fails for every build alike
    if (!slave.task || slave.state.reply !== "BUILD") return;
    const [pkg, version] = slave.task;
    const key = this.buildKey(pkg, version, slave.state.nativeAbi);
    const times = (this.lost.get(key) ?? 0) + 1;
    this.lost.delete(key);
    if (times < MAX_LOST) {
      this.lost.set(key, times);
      for (const old of this.lost.keys()) {
        if (this.lost.size <= MAX_LOST_KEPT) break;
        this.lost.delete(old);
      }
      return;
    }
    const why = `the slaves building ${pkg} ${version} for ${slave.state.nativeAbi} were lost ` +
      `${times} times (the last, slave ${slave.state.slaveId} (${slave.state.label}), ${how}): ` +
      "logged as failed";
    this.ctx.log.warning(why);
    // out of the queue while it is logged: a slave asking meanwhile got it
    this.recent.delete(key);
    this.recent.set(key, performance.now() + RECENT_MS);
    const build = new BuildState(
      slave.state.slaveId,
      pkg,
      version,
      slave.state.nativeAbi,
      false,
      Duration.fromMillis(Math.max(0, performance.now() - slave.handedOut)),
      `piw-master: ${why}.\n`,
    );
    try {
      await this.intake.publish(null, build);
    } catch (e) {
      this.ctx.log.error(`cannot log the failed build of ${pkg} ${version}: ${errorMessage(e)}`);
      this.lost.set(key, times - 1); // the next loss tries again
      return;
    }
    this.logged.failed++;
    this.buildsLogged?.inc({ result: "failure" });
    this.finished(build);
  }

  /** Takes a new queue from the Architect, saying when the build ABIs change. */
  async newQueue(queue: Map<string, [string, string][]>): Promise<void> {
    const before = this.queue ? [...this.queue.keys()].sort().join(", ") : null;
    const after = [...queue.keys()].sort().join(", ");
    if (before !== after) {
      if (after) this.ctx.log.info(`build ABIs: ${after}`);
      else this.ctx.log.warning("no build ABIs: add one with piw-abi add TAG (e.g. cp311)");
      this.unknownAbis.clear();
    }
    this.queue = queue;
    this.refreshing = false;
    this.truncated.clear();
    for (const [abi, list] of queue) if (list.length >= QUEUE_LENGTH) this.truncated.add(abi);
    this.queueChanged();
    await this.wake();
  }

  /** Asks the Architect for the queue again (once until it comes). */
  refresh(): void {
    if (this.refreshing) return;
    this.refreshing = true;
    this.architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => this.refreshing = false);
  }

  /**
   * Takes a finished build out of the queue: out of its ABI's, or out of every ABI's when its
   * wheels install on any. A build that made ABI-specific wheels may give the other ABIs work
   * (the rule offers a version to one ABI until then), and a full queue half used up may hide
   * more: either asks the Architect again.
   */
  finished(build: BuildState): void {
    const anywhere = build.status && [...build.files.values()].every((f) => f.abiTag === "none");
    for (const [abi, list] of this.queue ?? []) {
      if (abi !== build.abiTag && !anywhere) continue;
      const i = list.findIndex(([p, v]) => p === build.package_ && v === build.version);
      if (i >= 0) list.splice(i, 1);
      if (this.truncated.has(abi) && list.length < QUEUE_LENGTH / 2) this.refresh();
    }
    this.queueChanged();
    if (build.status && !anywhere) this.refresh();
  }

  /** The next build for an ABI that nobody is doing, or null. */
  nextBuild(abi: string): [string, string] | null {
    const now = performance.now();
    for (const [k, until] of this.recent) {
      if (until >= now) break;
      this.recent.delete(k);
    }
    for (const [pkg, version] of this.queue?.get(abi) ?? []) {
      const k = this.buildKey(pkg, version, abi);
      if (!this.active.has(k) && !this.recent.has(k)) return [pkg, version];
    }
    return null;
  }

  /** Whether the slave's ABI is a build ABI; the first time one is not, that is logged. */
  buildsFor(slave: Slave): boolean {
    const abi = slave.state.nativeAbi;
    if (this.queue === null || this.queue.has(abi)) return true;
    if (!this.unknownAbis.has(abi) && this.unknownAbis.size < MAX_UNKNOWN_ABIS_LOGGED) {
      this.unknownAbis.add(abi);
      this.ctx.log.warning(
        `slave ${slave.state.slaveId} (${slave.state.label}) builds for ${abi}, which is not a ` +
          "build ABI: it is told to sleep (piw-abi add it to build for it)",
      );
    }
    return false;
  }

  /** Whether the output has less room than `--min-free`: no build is handed out then. */
  get lowOnSpace(): boolean {
    return this.free !== null && this.free < this.ctx.options.minFree;
  }

  /**
   * Asks how much room the output has left; says when it falls under `--min-free`, and when it
   * rises past it again, serves the held IDLEs.
   */
  async checkSpace(): Promise<void> {
    const reply = await this.intake.fs.call("STATFS").catch(() => null);
    if (reply?.msg !== "OK") return;
    const [wasKnown, wasLow] = [this.free !== null, this.lowOnSpace];
    this.free = (reply.data as [number, number])[1];
    const room = `${formatSize(this.free)} free under ${this.ctx.options.outputPath}`;
    if (!wasKnown) {
      this.ctx.log.debug(`${room} (--min-free ${formatSize(this.ctx.options.minFree)})`);
    }
    if (this.lowOnSpace && !wasLow) {
      this.ctx.log.warning(
        `${room}, under --min-free ${formatSize(this.ctx.options.minFree)}: ` +
          "no build is handed out until there is more",
      );
    } else if (wasLow && !this.lowOnSpace) {
      this.ctx.log.info(`${room}: builds are handed out again`);
      await this.wake();
    }
  }

  /** Answers a held or new IDLE: DIE, SLEEP, a BUILD, or nothing yet (held). */
  async idle(slave: Slave, holding: boolean): Promise<void> {
    if (slave.state.killed) return await this.reply(slave, "DIE");
    const build = this.ctx.paused || this.lowOnSpace || !this.buildsFor(slave)
      ? null
      : this.nextBuild(slave.state.nativeAbi);
    if (build) {
      clearTimeout(slave.held);
      slave.held = undefined;
      slave.task = build;
      slave.handedOut = performance.now();
      this.active.add(this.buildKey(...build, slave.state.nativeAbi));
      this.ctx.log.debug(
        `slave ${slave.state.slaveId} (${slave.state.label}): build ${build[0]} ${build[1]}`,
      );
      return await this.reply(slave, "BUILD", build);
    }
    const buildAbi = this.queue?.has(slave.state.nativeAbi) ?? true;
    if (!holding || this.ctx.paused || this.lowOnSpace || !buildAbi) {
      clearTimeout(slave.held);
      slave.held = undefined;
      return await this.reply(slave, "SLEEP");
    }
    // Held already (woken with nothing for it): the first deadline stands.
    slave.held ??= setTimeout(() => {
      slave.held = undefined;
      this.idle(slave, false);
    }, IDLE_HOLD_MS);
  }

  /** Serves the held IDLEs (new work arrived, or the master resumed or paused). */
  async wake(): Promise<void> {
    for (const slave of [...this.slaves.values()]) {
      if (slave.held !== undefined) await this.idle(slave, !this.ctx.paused);
    }
  }

  async hello(address: Uint8Array, data: Extract<SlaveMessage, { msg: "HELLO" }>["data"]) {
    const key = encodeHex(address);
    const known = this.slaves.get(key);
    if (known) {
      this.forget(known);
      await this.lose(known, "started again");
    } else if (this.slaves.size >= MAX_SLAVES) {
      this.droppedHellos.warn((missed) =>
        `${MAX_SLAVES} slaves are known already: dropped ${missed + 1} HELLO(s)`
      );
      return;
    }
    const [timeout, ...rest] = data;
    const state = SlaveState.fromHello(this.nextId++, address, [
      timeout.compare(MAX_SLAVE_TIMEOUT) > 0 ? MAX_SLAVE_TIMEOUT : timeout,
      ...rest,
    ]);
    const slave: Slave = {
      state,
      address,
      task: null,
      handedOut: 0,
      held: undefined,
      replied: state.firstSeen,
      repliedData: NO_DATA,
      intake: null,
      attempts: 0,
    };
    this.slaves.set(key, slave);
    this.byId.set(state.slaveId, slave);
    state.received("HELLO");
    this.ctx.log.info(
      `slave ${state.slaveId} (${state.label}) joined: ${state.nativePyVersion} ${state.nativeAbi} ${state.nativePlatform}` +
        (state.timeout === timeout ? "" : ` (its timeout ${timeout} cut to ${state.timeout})`),
    );
    return await this.reply(slave, "ACK", [state.slaveId, this.ctx.options.pypiSimple]);
  }

  async handle(address: Uint8Array, m: SlaveMessage): Promise<void> {
    if (m.msg === "HELLO") return await this.hello(address, m.data);
    const slave = this.slaves.get(encodeHex(address));
    if (!slave) {
      this.ctx.log.debug(`ignoring ${m.msg} from an unknown slave`);
      return;
    }
    const expected: Record<string, (string | null)[]> = {
      IDLE: ["ACK", "SLEEP", "DONE"],
      BUILT: ["BUILD"],
      SENT: ["SEND"],
      BYE: [],
    };
    slave.state.received(m.msg);
    if (m.msg === "BYE") {
      this.ctx.log.info(`slave ${slave.state.slaveId} (${slave.state.label}) said goodbye`);
      await this.publish(slave, "BYE", NO_DATA);
      this.forget(slave);
      // a deployed slave says BYE on any exception, one its build caused included
      await this.lose(slave, "said goodbye");
      if (slave.task) await this.wake();
      return;
    }
    if (!expected[m.msg]!.includes(slave.state.reply)) {
      this.ctx.log.warning(
        `slave ${slave.state.slaveId}: ${m.msg} after ${slave.state.reply} is out of sequence: DIE`,
      );
      return await this.reply(slave, "DIE");
    }
    try {
      switch (m.msg) {
        case "IDLE":
          slave.state.build = null;
          slave.intake = null;
          if (slave.task) {
            this.active.delete(this.buildKey(...slave.task, slave.state.nativeAbi));
            slave.task = null;
          }
          return await this.idle(slave, true);
        case "BUILT":
          return await this.built(slave, m.data);
        case "SENT":
          return await this.sent(slave);
      }
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      await this.refused(slave, e);
    }
  }

  /**
   * Refuses a slave's build, and drops what it sent before the slave hears. When the build's
   * own files are at fault, any slave's build of it would be refused the same (a setup.py that
   * names another project or version does it), so it is logged as a failed build whose output
   * ends with why, and the slave carries on (DONE): telling it DIE would stop every slave of the
   * ABI in turn, as deployed slaves exit on DIE. A peer can have any build logged as failed by
   * saying so, and this gives it nothing more. Otherwise (a file that kept failing to arrive,
   * the master's own trouble) the slave is told DIE and the build goes to another.
   */
  async refused(slave: Slave, e: Refused): Promise<void> {
    const [pkg, version] = slave.task!;
    const built = slave.state.build;
    const failed = e.ownFault && built !== null;
    this.ctx.log.warning(
      `slave ${slave.state.slaveId} (${slave.state.label}): refused its build of ${pkg} ` +
        `${version}: ${e.message}${failed ? ": logged as failed" : ""}`,
    );
    if (slave.intake) await this.intake.abort(slave.state.slaveId);
    slave.intake = null;
    if (!failed) return await this.reply(slave, "DIE");
    // why may quote what the slave sent (a NUL, which the database refuses in text)
    const why = keptText.parse(e.message);
    const output = `${built.output}\n\npiwheels: the master refused this build: ${why}\n`;
    const build = new BuildState(
      built.slaveId,
      pkg,
      version,
      built.abiTag,
      false,
      built.duration,
      output,
    );
    slave.state.build = build;
    await this.commit(slave, build);
  }

  /**
   * A BUILT of the slave's build that the protocol refuses (a file whose name or tags no
   * column holds): the build's own doing, since any slave's build of it says the same, so it is
   * refused as its own fault (logged as failed, with why) rather than the slave told DIE, which
   * stopped every slave given it in turn.
   */
  async unreadableBuilt(
    slave: Slave,
    why: string,
    { duration, output }: { duration: Duration; output: string },
  ): Promise<void> {
    const [pkg, version] = slave.task!;
    const { state } = slave;
    state.received("BUILT");
    state.build = new BuildState(
      state.slaveId,
      pkg,
      version,
      state.nativeAbi,
      false,
      this.took(slave, duration),
      output,
    );
    await this.refused(slave, new Refused(`its BUILT cannot be taken: ${why}`, true));
  }

  /**
   * How long a slave's build took: what it says, but no longer than since it was handed out. A
   * slave that said 285 years (any duration was taken) made the sum of every build's time more
   * than a duration holds, and the statistics failed from then on.
   */
  took(slave: Slave, said: Duration): Duration {
    const since = Duration.fromMillis(Math.max(0, Math.ceil(performance.now() - slave.handedOut)));
    return said.compare(since) > 0 ? since : said;
  }

  async built(slave: Slave, data: Extract<SlaveMessage, { msg: "BUILT" }>["data"]): Promise<void> {
    const [status, said, output, files] = data;
    const duration = this.took(slave, said);
    const [pkg, version] = slave.task!;
    // a failed build's files are not looked at (nor recorded)
    const states = status ? files.map((f) => FileState.fromMessage(f)) : [];
    const build = new BuildState(
      slave.state.slaveId,
      pkg,
      version,
      slave.state.nativeAbi,
      states.length > 0,
      duration,
      output,
      states,
    );
    slave.state.build = build;
    try {
      slave.intake = build.status ? await this.intake.begin(slave.state.slaveId, build) : null;
    } catch (e) {
      if (!(e instanceof NoRoom)) throw e;
      // put off, not refused: the version is built again once there is room (a refusal would
      // answer DIE, and deployed slaves exit on DIE)
      slave.state.build = null;
      this.ctx.log.warning(
        `slave ${slave.state.slaveId} (${slave.state.label}): put off its build of ${pkg} ` +
          `${version}: ${e.message}`,
      );
      this.recent.set(
        this.buildKey(pkg, version, slave.state.nativeAbi),
        performance.now() + RECENT_MS,
      );
      return await this.reply(slave, "DONE");
    }
    slave.attempts = 0;
    this.ctx.log.debug(
      `slave ${slave.state.slaveId}: ${pkg} ${version} ${
        build.status ? "built" : "failed"
      } in ${duration}`,
    );
    if (!slave.intake) return await this.commit(slave, build);
    await this.reply(slave, "SEND", await this.intake.expect(slave.intake));
  }

  async sent(slave: Slave): Promise<void> {
    const intake = slave.intake!;
    const again = await this.intake.verify(intake);
    if (again !== null) {
      if (++slave.attempts >= MAX_ATTEMPTS) {
        throw new Refused(`${again} (${MAX_ATTEMPTS} attempts)`, false);
      }
      this.ctx.log.warning(`slave ${slave.state.slaveId}: ${again}: sending again`);
    } else {
      slave.attempts = 0;
    }
    if (!intake.build.transfersDone) {
      return await this.reply(slave, "SEND", await this.intake.expect(intake));
    }
    await this.commit(slave, intake.build);
  }

  /**
   * Publishes the build (files in place, then logged, log and pages written) and lets the slave
   * clean up.
   */
  async commit(slave: Slave, build: BuildState): Promise<void> {
    let buildId: number;
    try {
      buildId = await this.intake.publish(slave.intake, build);
    } catch (e) {
      if (e instanceof Refused) throw e;
      this.ctx.log.error(
        `cannot check or log the build of ${build.package_} ${build.version}: ${errorMessage(e)}`,
      );
      return await this.reply(slave, "DIE");
    }
    slave.intake = null;
    // its output (up to 64 MiB) is the database's now: a slave that never says IDLE again
    // must not keep it here until its timeout
    slave.state.build = null;
    this.ctx.log.debug(`logged build ${buildId}: ${build.package_} ${build.version}`);
    this.logged[build.status ? "built" : "failed"]++;
    this.buildsLogged?.inc({ result: build.status ? "success" : "failure" });
    const key = this.buildKey(build.package_, build.version, build.abiTag);
    this.recent.delete(key); // to the back, where the latest to go back are
    this.recent.set(key, performance.now() + RECENT_MS);
    this.finished(build);
    await this.reply(slave, "DONE");
  }

  /** Defines the Slave Driver's metrics: builds logged, slaves by what they were last told. */
  instrument(metrics: Metrics): void {
    this.buildsLogged = metrics.counter(
      "piwheels_builds_total",
      "Builds the slaves reported, logged since the master started, by result",
    );
    const slaves = metrics.gauge(
      "piwheels_slaves",
      "Build slaves known, by state: building, sending (a file) or idle",
    );
    metrics.onCollect(() => {
      const by: Record<string, number> = { building: 0, sending: 0, idle: 0 };
      for (const slave of this.slaves.values()) {
        const reply = slave.state.reply;
        by[reply === "BUILD" ? "building" : reply === "SEND" ? "sending" : "idle"]!++;
      }
      for (const [state, n] of Object.entries(by)) slaves.set(n, { state });
    });
  }

  /** Says how many builds were logged in the last minute, if any. */
  summary(): void {
    const { built, failed } = this.logged;
    if (built + failed === 0) return;
    this.ctx.log.info(`logged ${built + failed} build(s) in the last minute (${failed} failed)`);
    this.logged = { built: 0, failed: 0 };
  }

  /** Forgets slaves silent for longer than their timeout. */
  async expire(): Promise<void> {
    const now = Timestamp.now();
    for (const slave of [...this.slaves.values()]) {
      // one forgotten meanwhile (gone away, started again) was counted there
      if (this.slaves.get(encodeHex(slave.address)) !== slave) continue;
      if (slave.held === undefined && slave.state.expired(now)) {
        this.ctx.log.warning(`slave ${slave.state.slaveId} (${slave.state.label}) timed out`);
        await this.publish(slave, "BYE", NO_DATA);
        this.forget(slave);
        await this.lose(slave, "timed out");
      }
    }
  }

  /**
   * Replays every slave's state to the monitors (a monitor said HELLO), each message with the
   * time it was first sent, so that a monitor started later knows how long each state has lasted.
   */
  async replay(): Promise<void> {
    for (const slave of this.slaves.values()) {
      const hello = slave.state.helloMessage();
      await this.publish(slave, "HELLO", hello, slave.state.firstSeen, true);
      const reply = slave.state.reply;
      if (reply && reply !== "ACK") {
        await this.publish(slave, reply, slave.repliedData, slave.replied, true);
      }
    }
  }
}

let driver: Driver | undefined;

runTask(
  "slave_driver",
  async (ctx) => {
    const router = ctx.socket(
      new Router({
        linger: 0,
        maxMessageSize: MAX_BUILD_MESSAGE,
        maxConnections: MAX_CONNECTIONS.slaves,
        maxUnfinishedBytes: MAX_UNFINISHED_BYTES,
        maxUnreadBytes: MAX_UNREAD_BYTES,
        ...slaveHeartbeat(ctx.options.devMode),
        notifyDisconnect: true,
        ...await curveServerOptions(ctx.options, ctx.log),
      }),
    );
    await router.bind(ctx.options.slaveQueue);
    const builds = ctx.socket(new Pull());
    builds.connect(ctx.options.buildsQueue);
    const web = ctx.socket(new Push({ linger: 1000, sendTimeout: 5000 }));
    web.connect(ctx.options.webQueue);
    const status = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
    status.connect(INTERNAL_STATUS);
    const architect = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
    architect.connect(ARCHITECT_CONTROL);
    const stats = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
    stats.connect(ctx.options.statsQueue);
    const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
    const fs = new RpcClient(ctx.options.fsQueue, fileJugglerFs, ctx.log);
    // the room left is the figure the Driver keeps (asked for every few seconds)
    const intake = new BuildIntake(
      oracle,
      fs,
      web,
      ctx.log,
      ctx.options.minFree,
      (): number | null => d.free,
    );
    const d = new Driver(ctx, router, intake, status, architect, stats);
    driver = d;
    d.instrument(ctx.metrics);
    ctx.onPauseChange = () => void d.wake();
    ctx.every(ctx.options.devMode ? 1_000 : 10_000, () => d.expire());
    ctx.every(60_000, () => d.summary());
    ctx.every(ctx.options.devMode ? 1_000 : 5_000, () => d.checkSpace());
    ctx.ready();

    const fromBuilds = eachDecoded(builds, fromArchitect, ctx.log, async (m) => {
      await d.newQueue(new Map(Object.entries(m.data)));
    }, { trusted: isTrustedAddress(ctx.options.buildsQueue) });

    // A slave whose SENT waits on the database holds up no other slave's IDLE: each slave's
    // messages in order, different slaves' side by side
    let dropped = 0;
    // what anyone may send as fast as they like is logged once a second at most: one-frame
    // junk made a line each, 57,150 lines from 600 KB
    const junk = new ThrottledWarning(ctx.log, 1_000);
    const malformed = (why: string) =>
      junk.warn((missed) =>
        missed ? `${why} (and ${missed} more since the last line like it)` : why
      );
    const fromSlaves = eachMessageByPeer(
      router,
      ([address]) => encodeHex(address!),
      async (frames) => {
        const [address, delimiter, payload] = frames;
        if (frames.length === 2 && delimiter!.length === 0) return await d.left(address!);
        if (frames.length !== 3 || delimiter!.length !== 0) {
          return malformed("dropped a message that is not [identity, '', payload]");
        }
        const slave = () => d.slaves.get(encodeHex(address!));
        let handling: () => Promise<void>;
        let name: string;
        try {
          const m = decodeMessage(slaveDriver, payload!);
          [handling, name] = [() => d.handle(address!, m), m.msg];
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          const known = slave();
          if (!known) return malformed(e.message);
          const built = known.state.reply === "BUILD" ? salvageBuilt(payload!) : null;
          if (!built) {
            ctx.log.warning(e.message);
            return await d.reply(known, "DIE");
          }
          [handling, name] = [() => d.unreadableBuilt(known, e.message, built), "BUILT"];
        }
        try {
          await handling();
        } catch (e) {
          if (isClosed(e)) return;
          ctx.log.error(`handling ${name}: ${errorMessage(e)}`);
          const known = slave();
          if (known) await d.reply(known, "DIE");
        }
      },
      {
        onDropped: (peer) => {
          if (dropped++ % 1000 === 0) {
            ctx.log.warning(
              `dropped a message of a peer that sends without waiting for replies (${
                peer.slice(0, 16)
              }; ${dropped} so far)`,
            );
          }
        },
      },
    );

    await Promise.all([fromBuilds, fromSlaves]);
    for (const slave of d.slaves.values()) clearTimeout(slave.held);
    await Promise.all([oracle.close(), fs.close()]);
  },
  slaveDriverControl,
  async (m) => {
    if (!driver) return;
    if (m.msg === "KILL") {
      const slave = driver.byId.get(m.data);
      if (!slave) return driver.ctx.log.warning(`KILL: no slave ${m.data}`);
      slave.state.killed = true;
      driver.ctx.log.info(`slave ${m.data} will be told DIE at its next request`);
      if (slave.held !== undefined) await driver.idle(slave, false);
    } else if (m.msg === "HELLO") {
      await driver.replay();
    } else if (m.msg === "MONITORS") {
      driver.monitors = m.data;
    }
  },
);
