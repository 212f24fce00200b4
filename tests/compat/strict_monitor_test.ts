/**
 * The real piw-master (subprocess, real PostgreSQL), busy for a minute, watched by a monitor
 * that is not ours: `tests/fixtures/python_strict_monitor.py`, written in Python from
 * PIWHEELS-0.16.md §7 with Debian's python3-zmq (libzmq) and python3-cbor2, which checks every
 * status message as deployed monitors do (only STATS with exactly its twelve keys, and SLAVE).
 * Five test slaves on two build ABIs build releases the fake PyPI keeps publishing; the monitor
 * pauses and resumes the master, asks for HELLO, kills a slave, a new one joins and all leave
 * with BYE: it rejects nothing, and learns every slave's label and ABI from HELLO messages.
 */

import { assert, assertEquals } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, type MasterRun, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { PythonPeer } from "../process.ts";
import { connect } from "../../shared/db/driver.ts";
import { encodeNamedMessage, reverse, slaveDriver } from "../../shared/protocols.ts";

/** How long the master is kept busy. */
const BUSY_MS = 60_000;
/** A slave told SLEEP asks again this much later (a deployed one waits 5 to 15 s). */
const NAP_MS = 300;

/** What python_strict_monitor.py reports. */
interface Report {
  counts: Record<string, number>;
  messages: Record<string, number>;
  rejections: string[];
  rejected: number;
  oddities: string[];
  odd: number;
  slaves: Record<string, { label: string; abi: string }>;
  last: Record<string, [string, unknown]>;
}

/** A test slave that builds whatever it is given until told to stop (or DIE), then says BYE. */
class BusySlave {
  readonly slave: TestSlave;
  built = 0;
  stopping = false;
  /** Why its loop ended early, if it failed. */
  failure: Error | undefined;
  finished: Promise<string> = Promise.resolve("not started");

  constructor(master: MasterRun, readonly abi: string, readonly label: string) {
    this.slave = new TestSlave(master.slaveQueue, master.fileQueue, abi, label);
  }

  /** HELLO (resolving once ACKed), then the build loop in the background. */
  async join(onBuilt: (abi: string) => Promise<void>): Promise<void> {
    const ack = await this.slave.hello();
    assertEquals(ack.msg, "ACK");
    this.finished = this.#work(onBuilt).catch((e) => {
      this.failure = e instanceof Error ? e : new Error(String(e));
      return `failed: ${this.failure.message}`;
    });
  }

  async #work(onBuilt: (abi: string) => Promise<void>): Promise<string> {
    while (!this.stopping) {
      const reply = await this.slave.request("IDLE");
      if (reply.msg === "BUILD") {
        const [pkg, version] = reply.data;
        const wheel = makeWheel(pkg, version, {
          py: this.abi,
          abi: this.abi,
          platform: "linux_x86_64",
        });
        const done = await this.slave.deliver([wheel]).catch((e) => {
          throw new Error(`${this.label}: delivering ${wheel.filename}: ${e}`);
        });
        if (done.msg !== "DONE") throw new Error(`${this.label}: ${pkg} got ${done.msg}`);
        this.built++;
        await onBuilt(this.abi);
      } else if (reply.msg === "SLEEP") {
        await new Promise((r) => setTimeout(r, NAP_MS));
      } else if (reply.msg === "DIE") {
        await this.slave.close();
        return "DIE";
      } else {
        throw new Error(`${this.label}: IDLE got ${reply.msg}`);
      }
    }
    // BYE has no reply
    await this.slave.req.send(encodeNamedMessage(reverse(slaveDriver), "BYE"));
    await this.slave.close();
    return "BYE";
  }
}

/** The Slave Driver's log lines on PAUSE and RESUME. */
const PAUSED = /slave_driver: paused$/gm;
const RESUMED = /slave_driver: resumed$/gm;

/** How many lines of the master's log match `pattern` (a global, multiline pattern). */
function logged(master: MasterRun, pattern: RegExp): number {
  return master.stderr.match(pattern)?.length ?? 0;
}

Deno.test("compat: a strict Python monitor rejects nothing from a master busy for a minute", async () => {
  await using farm = await startFarm({ abis: ["cp311", "cp39"] });
  const { pypi, master } = farm;
  let released = 0;
  const release = () => pypi.release(`busy-pkg-${++released}`, "1.0");
  for (let i = 0; i < 6; i++) await release();
  // each build for cp311 makes PyPI publish another release: there is always work
  const onBuilt = async (abi: string) => {
    if (abi === "cp311") await release();
  };

  // one slave joins before the monitor: that one it can learn of only from HELLO's replay
  const early = new BusySlave(master, "cp311", "busy-early");
  await early.join(onBuilt);
  const monitor = new PythonPeer("python_strict_monitor.py", [
    master.statusQueue,
    master.controlQueue,
  ]);
  const slaves = [early];
  try {
    for (
      const [abi, label] of [["cp311", "busy-311"], ["cp39", "busy-39-a"], ["cp39", "busy-39-b"]]
    ) {
      const slave = new BusySlave(master, abi!, label!);
      await slave.join(onBuilt);
      slaves.push(slave);
    }
    const built = () => {
      const failed = slaves.find((s) => s.failure);
      if (failed) throw failed.failure;
      return slaves.reduce((n, s) => n + s.built, 0);
    };
    const push = async (msg: string, data?: number) =>
      assertEquals(
        await monitor.call(data === undefined ? { op: "push", msg } : { op: "push", msg, data }),
        { ok: true },
      );

    const start = Date.now();
    let cycles = 0;
    while (Date.now() - start < BUSY_MS) {
      cycles++;
      // PAUSE: the master says so; HELLO meanwhile; RESUME; then builds go on
      await push("PAUSE");
      await eventually("paused", () => Promise.resolve(logged(master, PAUSED) === cycles));
      await push("HELLO");
      await push("RESUME");
      await eventually("resumed", () => Promise.resolve(logged(master, RESUMED) === cycles));
      const before = built();
      await eventually("builds after RESUME", () => Promise.resolve(built() >= before + 3), 60_000);
      if (cycles === 3) {
        // the early slave is killed (DIE at its next IDLE) and another joins
        await push("KILL", early.slave.slaveId);
        assertEquals(await early.finished, "DIE");
        const late = new BusySlave(master, "cp39", "busy-late");
        await late.join(onBuilt);
        slaves.push(late);
      }
    }

    for (const slave of slaves) slave.stopping = true;
    const ends = await Promise.all(slaves.map((s) => s.finished));
    assertEquals(ends, ["DIE", "BYE", "BYE", "BYE", "BYE"]);
    // every BYE reached the monitor (the master tells it after the slave left)
    await eventually("the BYEs reached the monitor", async () => {
      const seen = await monitor.call<Report>({ op: "report" });
      return (seen.messages.BYE ?? 0) >= 4;
    });
    await push("HELLO");
    const report = await monitor.call<Report>({ op: "close" });

    assertEquals(report.rejections, [], `${report.rejected} rejected`);
    assertEquals(report.rejected, 0);
    // the master said STATS as it does every 10 s (dev mode), and SLAVE for every reply
    assert((report.counts.STATS ?? 0) >= 2, JSON.stringify(report.counts));
    for (const msg of ["HELLO", "SLEEP", "BUILD", "SEND", "DONE", "DIE", "BYE"]) {
      assert((report.messages[msg] ?? 0) > 0, `no SLAVE ${msg}: ${JSON.stringify(report)}`);
    }
    // it learnt every slave's label and ABI from HELLO (the early one from the replay)
    for (const s of slaves) {
      assertEquals(report.slaves[String(s.slave.slaveId)], { label: s.label, abi: s.abi });
    }
    for (const abi of ["cp311", "cp39"]) {
      assert(slaves.some((s) => s.abi === abi && s.built > 0), `nothing built for ${abi}`);
    }
    console.log(
      `${cycles} PAUSE/RESUME cycles, ${built()} builds, ${report.counts.STATS} STATS, ` +
        `${report.counts.SLAVE} SLAVE: ${JSON.stringify(report.messages)}; ${report.odd} unlike ` +
        `a deployed master's: ${JSON.stringify(report.oddities)}`,
    );
  } catch (e) {
    const warnings = master.stderr.split("\n").filter((l) => /: (warning|error):/.test(l));
    throw new Error(`${e instanceof Error ? e.message : e}\nthe master:\n${warnings.join("\n")}`);
  } finally {
    for (const slave of slaves) slave.stopping = true;
    await Promise.allSettled(slaves.map((s) => s.finished));
    await Promise.allSettled(slaves.map((s) => s.slave.close()));
    await monitor.finish();
  }
});

Deno.test("compat: a HELLO replay while a build is being logged tells SEND with the file's name, as a deployed master does", async () => {
  await using farm = await startFarm();
  const { pypi, db, master } = farm;
  const monitor = new PythonPeer("python_strict_monitor.py", [
    master.statusQueue,
    master.controlQueue,
  ]);
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "replayed");
  const lock = await connect(db.superDsn, { applicationName: "piwheels tests: builds locked" });
  let unlock = () => {};
  let holding: Promise<void> = Promise.resolve();
  let delivered: Promise<unknown> = Promise.resolve();
  const report = () => monitor.call<Report>({ op: "report" });
  try {
    assertEquals((await slave.hello()).msg, "ACK");
    const id = String(slave.slaveId);
    // the monitor is listening once it has learnt of the slave (HELLO replays it)
    await eventually("the monitor hears the master", async () => {
      if ((await report()).slaves[id]) return true;
      await monitor.call({ op: "push", msg: "HELLO" });
      return false;
    });
    await pypi.release("replayed-pkg", "1.0");
    assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["replayed-pkg", "1.0"] });

    // logging the build waits while the test holds a lock on builds
    const unlocked = new Promise<void>((resolve) => unlock = resolve);
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => locked = resolve);
    holding = lock.transaction(async (tx) => {
      await tx.exec("LOCK TABLE builds IN SHARE MODE");
      locked();
      await unlocked;
    });
    await isLocked;
    const wheel = makeWheel("replayed-pkg", "1.0", {
      py: "cp311",
      abi: "cp311",
      platform: "linux_x86_64",
    });
    delivered = slave.deliver([wheel]);
    await eventually("the master logs the build, and waits for the lock", async () => {
      const [row] = await queryDb<{ n: number }>(
        db.superDsn,
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return row!.n > 0;
    });
    // the file arrived and was verified: the slave's last reply is still SEND <filename>
    const sends = (await report()).messages.SEND ?? 0;
    assertEquals(sends, 1);
    await monitor.call({ op: "push", msg: "HELLO" });
    await eventually("the replay", async () => ((await report()).messages.SEND ?? 0) > sends);
    const seen = await report();
    assertEquals(seen.last[id], ["SEND", wheel.filename], JSON.stringify(seen.oddities));
  } finally {
    unlock();
    await holding.catch(() => {});
    await delivered.catch(() => {});
    await lock.close();
    await monitor.call({ op: "close" }).catch(() => {});
    await monitor.finish();
  }
});
