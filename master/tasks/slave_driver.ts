/**
 * The Slave Driver (manual 11.3.5, WIRE.md): speaks to the build slaves on the slave queue (a
 * ROUTER, default tcp://*:5555), hands each idle slave a build from the Architect's queue for its
 * ABI, has the File Juggler fetch and verify the wheels, and logs each build through the Oracle
 * only once its files are verified, so the index never links a missing file.
 *
 * An IDLE with nothing to build is held (up to {@linkcode IDLE_HOLD_MS}) rather than answered
 * SLEEP at once, so a release that arrives meanwhile is dispatched within moments. Every reply
 * is echoed to the monitors (SLAVE on the status queue).
 *
 * @module
 */

import type { CborValue } from "../../shared/cbor.ts";
import { encodeHex } from "../../shared/hash.ts";
import { errorMessage } from "../../shared/log.ts";
import {
  architectControl,
  decodeMessage,
  encodeMessage,
  encodeNamedMessage,
  fileJugglerFs,
  type Message,
  monitorStats,
  NO_DATA,
  ProtocolError,
  reverse,
  slaveDriver,
  slaveDriverControl,
  theArchitect,
  theScribe,
  verifiedFile,
} from "../../shared/protocols.ts";
import { BuildState, FileState, SlaveState } from "../../shared/states.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { Pull, Push, Router } from "../../shared/zmq/mod.ts";
import { OracleClient } from "../oracle_client.ts";
import { RpcClient } from "../rpc.ts";
import { eachDecoded, eachMessage, isClosed } from "../../shared/receive.ts";
import { ARCHITECT_CONTROL, INTERNAL_STATUS, runTask, type TaskContext } from "../task.ts";

const toArchitect = reverse(architectControl);
const toWeb = reverse(theScribe);
const fromArchitect = reverse(theArchitect);

/** How long an IDLE with nothing to build waits for work before the answer is SLEEP. */
export const IDLE_HOLD_MS = 10_000;
/** How long a finished build is kept out of the queue (the Architect may not have seen it). */
const RECENT_MS = 120_000;

type SlaveMessage = Message<typeof slaveDriver.recv>;
type ReplyName = keyof typeof slaveDriver.send & string;

interface Slave {
  state: SlaveState;
  /** The ROUTER routing id of the slave's REQ socket. */
  address: Uint8Array;
  /** What was handed out: package and version. */
  task: [string, string] | null;
  /** An IDLE being held: when it is answered SLEEP. */
  held: ReturnType<typeof setTimeout> | undefined;
  /** When the last reply was sent (a replay to the monitors says so, not "now"). */
  replied: Timestamp;
}

class Driver {
  readonly slaves = new Map<string, Slave>();
  readonly byId = new Map<number, Slave>();
  queue = new Map<string, [string, string][]>();
  readonly active = new Set<string>();
  readonly recent = new Map<string, number>();
  /** The build ABIs known to be registered. */
  readonly abis = new Set<string>();
  nextId = 1;

  constructor(
    readonly ctx: TaskContext,
    readonly router: Router,
    readonly oracle: OracleClient,
    readonly fs: RpcClient<typeof fileJugglerFs.recv, typeof fileJugglerFs.send>,
    readonly web: Push,
    readonly status: Push,
    readonly architect: Push,
  ) {}

  buildKey(pkg: string, version: string, abi: string): string {
    return `${pkg}\0${version}\0${abi}`;
  }

  async publish(
    slave: Slave,
    msg: string,
    data: CborValue,
    when: Timestamp = Timestamp.now(),
  ): Promise<void> {
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
    if (msg === "ACK") {
      await this.publish(slave, "HELLO", slave.state.helloMessage(), slave.replied);
    } else {await this.publish(
        slave,
        msg,
        data === undefined ? NO_DATA : data as CborValue,
        slave.replied,
      );}
    if (msg === "DIE") this.forget(slave);
  }

  forget(slave: Slave): void {
    clearTimeout(slave.held);
    slave.held = undefined;
    const build = slave.state.build;
    if (build?.status && !build.transfersDone) {
      this.fs.call("ABORT", slave.state.slaveId).catch(() => {});
    }
    if (slave.task) this.active.delete(this.buildKey(...slave.task, slave.state.nativeAbi));
    this.slaves.delete(encodeHex(slave.address));
    this.byId.delete(slave.state.slaveId);
  }

  refreshQueue(): void {
    this.architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
  }

  /** The next build for an ABI that nobody is doing, or null. */
  nextBuild(abi: string): [string, string] | null {
    const now = Date.now();
    for (const [k, until] of this.recent) if (until < now) this.recent.delete(k);
    for (const [pkg, version] of this.queue.get(abi) ?? []) {
      const k = this.buildKey(pkg, version, abi);
      if (!this.active.has(k) && !this.recent.has(k)) return [pkg, version];
    }
    return null;
  }

  /** Answers a held or new IDLE: DIE, SLEEP, a BUILD, or nothing yet (held). */
  async idle(slave: Slave, holding: boolean): Promise<void> {
    if (slave.state.killed) return await this.reply(slave, "DIE");
    const build = this.ctx.paused ? null : this.nextBuild(slave.state.nativeAbi);
    if (build) {
      clearTimeout(slave.held);
      slave.held = undefined;
      slave.task = build;
      this.active.add(this.buildKey(...build, slave.state.nativeAbi));
      this.ctx.log.info(
        `slave ${slave.state.slaveId} (${slave.state.label}): build ${build[0]} ${build[1]}`,
      );
      return await this.reply(slave, "BUILD", build);
    }
    if (!holding || this.ctx.paused) {
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

  async handle(address: Uint8Array, m: SlaveMessage): Promise<void> {
    let slave = this.slaves.get(encodeHex(address));
    if (m.msg === "HELLO") {
      if (slave) this.forget(slave);
      const state = SlaveState.fromHello(this.nextId++, address, m.data);
      slave = { state, address, task: null, held: undefined, replied: state.firstSeen };
      this.slaves.set(encodeHex(address), slave);
      this.byId.set(state.slaveId, slave);
      state.received("HELLO");
      this.ctx.log.info(
        `slave ${state.slaveId} (${state.label}) joined: ${state.nativePyVersion} ${state.nativeAbi} ${state.nativePlatform}`,
      );
      if (!this.abis.has(state.nativeAbi)) {
        if (await this.oracle.addBuildAbi(state.nativeAbi)) {
          this.ctx.log.info(`${state.nativeAbi} is a build ABI now`);
          this.refreshQueue();
        }
        this.abis.add(state.nativeAbi);
      }
      return await this.reply(slave, "ACK", [state.slaveId, this.ctx.options.pypiSimple]);
    }
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
      return this.forget(slave);
    }
    if (!expected[m.msg]!.includes(slave.state.reply)) {
      this.ctx.log.warning(
        `slave ${slave.state.slaveId}: ${m.msg} after ${slave.state.reply} is out of sequence: DIE`,
      );
      return await this.reply(slave, "DIE");
    }
    switch (m.msg) {
      case "IDLE":
        slave.state.build = null;
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
  }

  async built(slave: Slave, data: Extract<SlaveMessage, { msg: "BUILT" }>["data"]): Promise<void> {
    const [status, duration, output, files] = data;
    const [pkg, version] = slave.task!;
    // (each a wheel by its name, none twice: the protocol's schema saw to that)
    const states = files.map((f) => FileState.fromMessage(f));
    const build = new BuildState(
      slave.state.slaveId,
      pkg,
      version,
      slave.state.nativeAbi,
      status && states.length > 0,
      duration,
      output,
      states,
    );
    slave.state.build = build;
    this.ctx.log.info(
      `slave ${slave.state.slaveId}: ${pkg} ${version} ${
        build.status ? "built" : "failed"
      } in ${duration}`,
    );
    if (!build.status) return await this.commit(slave, build);
    return await this.send(slave, build);
  }

  /** Asks the File Juggler to expect the next file, and the slave to send it. */
  async send(slave: Slave, build: BuildState): Promise<void> {
    const next = build.files.get(build.nextFile!)!;
    const reply = await this.fs.call("EXPECT", [slave.state.slaveId, next.asMessage()]);
    if (reply.msg === "ERROR") {
      this.ctx.log.error(`cannot receive ${next.filename}: ${reply.data}`);
      return await this.reply(slave, "DIE");
    }
    await this.reply(slave, "SEND", next.filename);
  }

  async sent(slave: Slave): Promise<void> {
    const build = slave.state.build!;
    const file = build.files.get(build.nextFile!)!;
    const reply = await this.fs.call("VERIFY", [slave.state.slaveId, build.package_]);
    if (reply.msg === "ERROR") {
      this.ctx.log.warning(
        `slave ${slave.state.slaveId}: ${file.filename}: ${reply.data}: sending again`,
      );
      return await this.send(slave, build);
    }
    file.verified(verifiedFile.parse(reply.data));
    if (!build.transfersDone) return await this.send(slave, build);
    await this.commit(slave, build);
  }

  /** Logs the build, writes its log and pages, and lets the slave clean up. */
  async commit(slave: Slave, build: BuildState): Promise<void> {
    let buildId: number;
    try {
      buildId = await this.oracle.logBuild(build);
    } catch (e) {
      this.ctx.log.error(
        `cannot log the build of ${build.package_} ${build.version}: ${errorMessage(e)}`,
      );
      return await this.reply(slave, "DIE");
    }
    build.logged(buildId);
    this.ctx.log.info(`logged build ${buildId}: ${build.package_} ${build.version}`);
    this.recent.set(
      this.buildKey(build.package_, build.version, build.abiTag),
      Date.now() + RECENT_MS,
    );
    await this.web.send(encodeMessage(toWeb, "LOG", [buildId, build.output])).catch(() => {});
    await this.web.send(encodeMessage(toWeb, build.status ? "PKGBOTH" : "PKGPROJ", build.package_))
      .catch(() => {});
    this.refreshQueue();
    await this.reply(slave, "DONE");
  }

  /** Forgets slaves silent for longer than their timeout. */
  async expire(): Promise<void> {
    const now = Timestamp.now();
    for (const slave of [...this.slaves.values()]) {
      if (slave.held === undefined && slave.state.expired(now)) {
        this.ctx.log.warning(`slave ${slave.state.slaveId} (${slave.state.label}) timed out`);
        await this.publish(slave, "DIE", NO_DATA);
        this.forget(slave);
      }
    }
  }

  /**
   * Replays every slave's state to the monitors (a monitor said HELLO), each message with the
   * time it was first sent, so that a monitor started later knows how long each state has lasted.
   */
  async replay(): Promise<void> {
    for (const slave of this.slaves.values()) {
      await this.publish(slave, "HELLO", slave.state.helloMessage(), slave.state.firstSeen);
      const reply = slave.state.reply;
      if (reply && reply !== "ACK") {
        const data: CborValue = reply === "BUILD" && slave.task
          ? slave.task
          : reply === "SEND" && slave.state.build?.nextFile
          ? slave.state.build.nextFile
          : NO_DATA;
        await this.publish(slave, reply, data, slave.replied);
      }
    }
  }
}

let driver: Driver | undefined;

runTask(
  async (ctx) => {
    const router = ctx.socket(new Router({ linger: 0, maxMessageSize: 64 * 1024 * 1024 }));
    await router.bind(ctx.options.slaveQueue);
    const builds = ctx.socket(new Pull());
    builds.connect(ctx.options.buildsQueue);
    const web = ctx.socket(new Push({ linger: 1000, sendTimeout: 5000 }));
    web.connect(ctx.options.webQueue);
    const status = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
    status.connect(INTERNAL_STATUS);
    const architect = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
    architect.connect(ARCHITECT_CONTROL);
    const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
    const fs = new RpcClient(ctx.options.fsQueue, fileJugglerFs, ctx.log);
    const d = new Driver(ctx, router, oracle, fs, web, status, architect);
    driver = d;
    ctx.onPauseChange = () => void d.wake();
    ctx.every(ctx.options.devMode ? 1_000 : 10_000, () => d.expire());
    ctx.ready();

    const fromBuilds = eachDecoded(builds, fromArchitect, ctx.log, async (m) => {
      d.queue = new Map(Object.entries(m.data));
      await d.wake();
    });

    const fromSlaves = eachMessage(router, async (frames) => {
      const [address, delimiter, payload] = frames;
      if (frames.length !== 3 || delimiter!.length !== 0) {
        return ctx.log.warning("dropped a message that is not [identity, '', payload]");
      }
      const slave = () => d.slaves.get(encodeHex(address!));
      let m: SlaveMessage;
      try {
        m = decodeMessage(slaveDriver, payload!);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        ctx.log.warning(e.message);
        const known = slave();
        if (known) await d.reply(known, "DIE");
        return;
      }
      try {
        await d.handle(address!, m);
      } catch (e) {
        if (isClosed(e)) return;
        ctx.log.error(`handling ${m.msg}: ${errorMessage(e)}`);
        const known = slave();
        if (known) await d.reply(known, "DIE");
      }
    });

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
    }
  },
);
