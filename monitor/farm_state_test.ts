import { assert, assertEquals } from "../tests/assert.ts";
import { Duration } from "../shared/duration.ts";
import { NO_DATA, type StatsMessage } from "../shared/protocols.ts";
import { Timestamp } from "../shared/timestamp.ts";
import {
  age,
  FarmState,
  GONE_LINGER_MS,
  MAX_SLAVES_SHOWN,
  type StatusMessage,
} from "./farm_state.ts";

const T0 = Timestamp.parse("2026-01-02T03:04:05Z");
const at = (seconds: number) => T0.plus(Duration.fromSeconds(seconds));
const ms = (seconds: number) => at(seconds).toEpochSeconds() * 1000;

function slave(id: number, seconds: number, reply: string, data: unknown): StatusMessage {
  return { msg: "SLAVE", data: [id, at(seconds), reply, data] } as StatusMessage;
}

function hello(id: number, seconds: number, abi: string, label: string): StatusMessage {
  return slave(id, seconds, "HELLO", [
    Duration.of({ hours: 3 }),
    "311",
    abi,
    "linux_armv7l",
    label,
  ]);
}

const STATS: StatsMessage = {
  packages_built: 1,
  builds_count: 2,
  builds_last_hour: 3,
  builds_success: 1,
  builds_time: Duration.of({ minutes: 2 }),
  builds_size: 100,
  builds_pending: 12,
  files_count: 1,
  disk_free: 25,
  disk_size: 100,
  downloads_last_month: 5,
  downloads_all: 6,
};

Deno.test("farm state: each reply the Slave Driver sent is what the slave is doing", () => {
  const farm = new FarmState();
  farm.apply(hello(1, 0, "cp311", "pi1"), ms(0));
  assertEquals(farm.slaves.get(1)?.activity, "idle");
  assertEquals(farm.slaves.get(1)?.label, "pi1");
  const steps: [string, unknown, string][] = [
    ["BUILD", ["numpy", "1.0"], "building"],
    ["SEND", "numpy-1.0-cp311-cp311-linux_armv7l.whl", "sending"],
    ["DONE", NO_DATA, "cleaning"],
    ["SLEEP", NO_DATA, "sleeping"],
    ["DIE", NO_DATA, "gone"],
  ];
  steps.forEach(([reply, data, activity], i) => {
    farm.apply(slave(1, i + 1, reply, data), ms(i + 1));
    assertEquals(farm.slaves.get(1)?.activity, activity, reply);
    assertEquals(farm.slaves.get(1)?.since, at(i + 1), reply);
  });
  farm.apply(hello(2, 10, "cp311", "pi2"), ms(10));
  farm.apply(slave(2, 11, "BYE", NO_DATA), ms(11));
  assertEquals(farm.slaves.get(2)?.activity, "gone", "a slave that said BYE is gone");
});

Deno.test("farm state: a replay (HELLO from a monitor) keeps how long each state has lasted", () => {
  const farm = new FarmState();
  farm.apply(hello(1, 0, "cp311", "pi1"), ms(0));
  farm.apply(slave(1, 5, "BUILD", ["numpy", "1.0"]), ms(5));
  farm.apply(hello(1, 0, "cp311", "pi1"), ms(20));
  farm.apply(slave(1, 5, "BUILD", ["numpy", "1.0"]), ms(20));
  const record = farm.slaves.get(1)!;
  assertEquals([record.activity, record.since, record.build], [
    "building",
    at(5),
    ["numpy", "1.0"],
  ]);
  farm.apply(slave(1, 30, "BUILD", ["scipy", "2.0"]), ms(30));
  assertEquals(farm.slaves.get(1)?.since, at(30), "a new build starts a new state");
});

Deno.test("farm state: slaves sort by ABI then label; gone ones are forgotten later", () => {
  const farm = new FarmState(5_000);
  farm.apply(hello(1, 0, "cp39", "a"), ms(0));
  farm.apply(hello(2, 0, "cp311", "zz"), ms(0));
  farm.apply(hello(3, 0, "cp311", "b"), ms(0));
  farm.apply(slave(4, 0, "SLEEP", NO_DATA), ms(0)); // HELLO data never seen
  farm.apply(hello(5, 0, "cp311", "slave10"), ms(0));
  farm.apply(hello(6, 0, "cp311", "slave9"), ms(0));
  assertEquals(farm.sorted().map((s) => s.label), [
    "slave 4",
    "a",
    "b",
    "slave9",
    "slave10",
    "zz",
  ]);
  farm.apply(slave(3, 1, "DIE", NO_DATA), ms(1));
  farm.prune(ms(5.9));
  assertEquals(farm.slaves.has(3), true, "still shown as gone");
  farm.prune(ms(6));
  assertEquals(farm.slaves.has(3), false);
  farm.reset();
  assertEquals(farm.slaves.size, 0);
});

Deno.test("farm state: statistics and MASTER; the document has plain JSON values", () => {
  const farm = new FarmState();
  farm.setConnected(true);
  farm.apply({ msg: "STATS", data: STATS }, 0);
  farm.apply({
    msg: "MASTER",
    data: {
      paused: true,
      builds_pending_abi: { cp311: 10, cp39: 2 },
      stats_every: Duration.of({ seconds: 60 }),
      version: "0.2.0",
    },
  }, 0);
  farm.apply(hello(7, 0, "cp311", "pi7"), ms(0));
  farm.apply(slave(7, 60, "BUILD", ["numpy", "1.0"]), ms(60));
  assertEquals([...farm.pendingByAbi()], [["cp311", 10], ["cp39", 2]]);
  const doc = JSON.parse(JSON.stringify(farm.document(ms(90))));
  assertEquals(doc.master.connected, true);
  assertEquals(doc.stats.builds_time, 120);
  assertEquals(doc.master.paused, true);
  assertEquals(doc.master.builds_pending_abi, { cp311: 10, cp39: 2 });
  assertEquals(doc.slaves, [{
    slave_id: 7,
    label: "pi7",
    abi: "cp311",
    py_version: "311",
    platform: "linux_armv7l",
    state: "building",
    package: "numpy",
    version: "1.0",
    file: null,
    state_age: 30,
    last_seen_age: 30,
    timeout: 10800,
  }]);
});

function masterSays(paused: boolean, statsEvery: Duration, abis = { cp311: 1 }): StatusMessage {
  return {
    msg: "MASTER",
    data: { paused, builds_pending_abi: abis, stats_every: statsEvery, version: "0.2.0" },
  };
}

Deno.test("farm state: a slave joins by HELLO (or ACK) with its HELLO data; SLEEP alone adds a stranger", () => {
  const farm = new FarmState();
  farm.apply(hello(1, 0, "cp39", "pi1"), ms(0));
  farm.apply(
    slave(2, 0, "ACK", [Duration.of({ hours: 1 }), "39", "cp39", "linux_armv7l", "pi2"]),
    ms(0),
  );
  farm.apply(slave(3, 0, "SLEEP", NO_DATA), ms(0));
  farm.apply(slave(4, 0, "HELLO", ["not", "hello", "data"]), ms(0));
  const seen = [...farm.slaves.values()].map((s) => [
    s.slaveId,
    s.label,
    s.abi,
    s.pyVersion,
    s.timeout?.totalSeconds() ?? null,
    s.activity,
  ]);
  assertEquals(seen, [
    [1, "pi1", "cp39", "311", 10800, "idle"],
    [2, "pi2", "cp39", "39", 3600, "idle"],
    [3, "slave 3", "?", "?", null, "sleeping"],
    [4, "slave 4", "?", "?", null, "idle"],
  ]);
});

Deno.test("farm state: a gone slave is gone at once and forgotten GONE_LINGER_MS (10 s) later", () => {
  assertEquals(GONE_LINGER_MS, 10_000);
  const farm = new FarmState();
  farm.apply(hello(1, 0, "cp311", "bye"), ms(0));
  farm.apply(hello(2, 0, "cp311", "killed"), ms(0));
  farm.apply(hello(3, 0, "cp311", "stays"), ms(0));
  farm.apply(slave(1, 1, "BYE", NO_DATA), ms(1));
  farm.apply(slave(2, 3, "DIE", NO_DATA), ms(3)); // killed, or timed out
  farm.apply(slave(2, 4, "BYE", NO_DATA), ms(4)); // the master says so: why stays shown
  assertEquals(farm.sorted().map((s) => [s.label, s.activity, s.reply, s.goneAt]), [
    ["bye", "gone", "BYE", ms(1)],
    ["killed", "gone", "DIE", ms(3)],
    ["stays", "idle", "HELLO", null],
  ]);
  farm.prune(ms(1) + GONE_LINGER_MS - 1);
  assertEquals(farm.slaves.size, 3, "both still shown as gone");
  farm.prune(ms(1) + GONE_LINGER_MS);
  assertEquals([...farm.slaves.keys()], [2, 3]);
  farm.prune(ms(3) + GONE_LINGER_MS);
  assertEquals([...farm.slaves.keys()], [3]);
});

Deno.test("farm state: MASTER says paused and the STATS period; silence beyond it is noticed", () => {
  const farm = new FarmState();
  farm.setConnected(true, ms(0));
  assertEquals([farm.paused, farm.statsEveryMs(), farm.silenceLimitMs()], [null, 60_000, 75_000]);
  assertEquals(farm.quiet(ms(75)), false, "silence counts from the connection");
  assertEquals(farm.quiet(ms(75.001)), true);
  farm.apply(masterSays(true, Duration.of({ seconds: 10 })), ms(100));
  assertEquals([farm.paused, farm.statsEveryMs(), farm.silenceLimitMs()], [true, 10_000, 20_000]);
  assertEquals([farm.silenceMs(ms(120)), farm.quiet(ms(120)), farm.quiet(ms(121))], [
    20_000,
    false,
    true,
  ]);
  farm.apply({ msg: "STATS", data: STATS }, ms(130));
  assertEquals([farm.silenceMs(ms(130)), farm.quiet(ms(130))], [0, false]);
  farm.apply(masterSays(false, Duration.of({ minutes: 10 })), ms(131));
  assertEquals([farm.paused, farm.silenceLimitMs()], [false, 750_000]);
  // what a master claims is bounded: 1 s to 1 h
  farm.apply(masterSays(false, Duration.ZERO), ms(140));
  assertEquals(farm.silenceLimitMs(), 11_000);
  farm.apply(masterSays(false, Duration.of({ days: 30 })), ms(150));
  assertEquals(farm.silenceLimitMs(), 4_500_000);
  const doc = farm.document(ms(150));
  assertEquals(doc.master.stats_every, 30 * 86400, "the document says what the master said");
  assertEquals(doc.master.version, "0.2.0");
  farm.reset();
  assertEquals([farm.paused, farm.statsEveryMs()], [null, 60_000], "a new master must say again");
});

Deno.test("farm state: a master that never sends MASTER (Python) leaves the extras unknown", () => {
  const farm = new FarmState();
  farm.setConnected(true, ms(0));
  farm.apply({ msg: "STATS", data: STATS }, ms(0));
  assertEquals(farm.paused, null);
  assertEquals(farm.pendingByAbi().size, 0);
  assertEquals(farm.document(ms(1)).master, {
    connected: true,
    last_message_age: 1,
    paused: null,
    builds_pending_abi: null,
    stats_every: null,
    version: null,
  });
});

Deno.test("farm state: a slave's timestamp from 1700 is an age like any other", () => {
  // a Duration holds only a safe number of microseconds: the age of a SLAVE a peer dated 1700
  // threw from every frame either monitor drew, which stopped it
  const farm = new FarmState();
  const ancient = Timestamp.parse("1700-01-01T00:00:00Z");
  farm.apply(
    { msg: "SLAVE", data: [1, ancient, "BUILD", ["numpy", "1.0"]] } as StatusMessage,
    ms(0),
  );
  const [doc] = farm.document(ms(0)).slaves;
  assertEquals(doc?.state, "building");
  assertEquals(doc?.state_age, (T0.micros - ancient.micros) / 1e6);
  assertEquals(age(T0, ancient), 0, "an instant to come has no age");
});

Deno.test("farm state: what is kept of a slave is bounded, whatever the status queue says", () => {
  // names of any length were kept and drawn on every frame (1 MiB took piw-sense 1.2 s a frame)
  const farm = new FarmState();
  farm.apply(hello(1, 0, "cp311", "pi1"), ms(0));
  farm.apply(slave(1, 1, "BUILD", ["x".repeat(1 << 20), "1.0"]), ms(1));
  assertEquals([farm.slaves.get(1)?.activity, farm.slaves.get(1)?.build], ["building", null]);
  farm.apply(slave(1, 2, "SEND", `${"x".repeat(1 << 20)}-1.0-py3-none-any.whl`), ms(2));
  assertEquals([farm.slaves.get(1)?.activity, farm.slaves.get(1)?.file], ["sending", null]);
  farm.apply(slave(1, 3, "BUILD", ["numpy", "1.0"]), ms(3));
  assertEquals(farm.slaves.get(1)?.build, ["numpy", "1.0"]);
  // and how many: those gone first, then those heard from the longest ago make room
  farm.apply(slave(2, 4, "DIE", NO_DATA), ms(4));
  for (let id = 3; id < MAX_SLAVES_SHOWN + 500; id++) {
    farm.apply(hello(id, id, "cp311", ""), ms(id));
  }
  assertEquals(farm.slaves.size, MAX_SLAVES_SHOWN);
  assert(!farm.slaves.has(2), "the gone slave went first");
  assert(!farm.slaves.has(1) && farm.slaves.has(MAX_SLAVES_SHOWN + 499), "then the oldest");
});
