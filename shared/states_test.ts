import { assert, assertEquals } from "../tests/assert.ts";
import { Duration } from "./duration.ts";
import { buildMessage, fileMessage } from "./protocols.ts";
import { range } from "./ranges.ts";
import {
  activityOf,
  BuildState,
  DownloadState,
  FileState,
  SlaveState,
  TransferState,
} from "./states.ts";
import { Timestamp } from "./timestamp.ts";

function wheel(name: string, size: number): FileState {
  return new FileState(name, size, "a".repeat(64), "foo", "1.0", "cp311", "cp311", "linux_armv7l", {
    apt: ["libc6"],
  });
}

Deno.test("states: FileState and BuildState convert to and from their messages", () => {
  const f = wheel("foo-1.0-cp311-cp311-linux_armv7l.whl", 10);
  assertEquals(FileState.fromMessage(fileMessage.parse(f.asMessage())), f);
  const b = new BuildState(3, "foo", "1.0", "cp311", true, Duration.of({ seconds: 5 }), "out", [
    f,
    wheel("foo-1.0-py3-none-any.whl", 5),
  ]);
  const back = BuildState.fromMessage(buildMessage.parse(b.asMessage()));
  assertEquals(back, b);
  assertEquals(b.nextFile, "foo-1.0-cp311-cp311-linux_armv7l.whl");
  b.files.get("foo-1.0-cp311-cp311-linux_armv7l.whl")!.verified({
    requires_python: null,
    metadata_sha256: null,
  });
  assertEquals(b.nextFile, "foo-1.0-py3-none-any.whl");
  b.files.get("foo-1.0-py3-none-any.whl")!.verified({
    requires_python: null,
    metadata_sha256: null,
  });
  assert(b.transfersDone);
  b.logged(42);
  assertEquals(b.buildId, 42);
});

/** A slave (an armv7l Pi) that said HELLO at `t0` with this timeout. */
function helloAt(t0: Timestamp, timeout: Duration): SlaveState {
  return SlaveState.fromHello(1, new Uint8Array([1]), [
    timeout,
    "311",
    "cp311",
    "linux_armv7l",
    "pi",
  ], t0);
}

Deno.test("states: a slave with a short timeout has 30 s more to say its build timed out", () => {
  const t0 = Timestamp.parse("2024-01-01T00:00:00Z");
  const s = helloAt(t0, Duration.of({ seconds: 20 }));
  assert(!s.expired(t0.plus(Duration.of({ seconds: 49 }))));
  assert(s.expired(t0.plus(Duration.of({ seconds: 51 }))));
});

Deno.test("states: SlaveState tracks activity and expiry", () => {
  const t0 = Timestamp.parse("2024-01-01T00:00:00Z");
  const s = helloAt(t0, Duration.of({ minutes: 5 }));
  assertEquals(s.activity, "idle");
  s.received("IDLE", t0);
  s.sent("BUILD");
  assertEquals(s.activity, "building");
  s.sent("SEND");
  assertEquals(s.activity, "sending");
  s.sent("DONE");
  assertEquals(s.activity, "cleaning");
  // a tenth more than its timeout (5 min 30 s), as v0.16's master
  assert(!s.expired(t0.plus(Duration.of({ minutes: 5, seconds: 29 }))));
  assert(s.expired(t0.plus(Duration.of({ minutes: 5, seconds: 31 }))));
  s.sent("DIE");
  assertEquals(s.activity, "gone");
  assertEquals(activityOf("BYE", "BUILD"), "gone");
  assertEquals(activityOf("IDLE", "SLEEP"), "sleeping");
  assertEquals(s.helloMessage()[4], "pi");
});

Deno.test("states: TransferState fetches chunks within credit and re-asks after a silence", () => {
  const chunk = 65536; // as the deployed master asks, 10 in flight
  const size = chunk * 12 + 100;
  const t = new TransferState(1, wheel("x.whl", size), chunk, 10);
  const asked = [];
  for (let r = t.fetch(); r; r = t.fetch()) asked.push(r);
  assertEquals(asked.length, 10);
  assertEquals(asked[0], range(0, chunk));
  // chunks 1..9 arrive, chunk 0 is lost
  for (const r of asked.slice(1)) assert(t.chunk(r.start, r.stop - r.start));
  const more = [];
  for (let r = t.fetch(); r; r = t.fetch()) more.push(r);
  assertEquals(more.map((r) => r.start / chunk), [10, 11, 12]);
  assertEquals(more[2], range(chunk * 12, size));
  for (const r of more) t.chunk(r.start, r.stop - r.start);
  assert(!t.done);
  assertEquals(t.fetch(), null, "everything missing has been asked for");
  t.resetCredit();
  assertEquals(t.fetch(), range(0, chunk));
  t.chunk(0, chunk);
  assert(t.done);
  assertEquals(t.received, size);
  assertEquals(t.fetch(), null);
});

Deno.test("states: TransferState by default asks 1 MiB at a time, 8 in flight; a small file at once", () => {
  const big = new TransferState(1, wheel("big.whl", 30 * 1024 * 1024));
  const asked = [];
  for (let r = big.fetch(); r; r = big.fetch()) asked.push(r);
  assertEquals(asked.length, 8);
  assertEquals(asked.at(-1), range(7 * 1024 * 1024, 8 * 1024 * 1024));
  const small = new TransferState(1, wheel("small.whl", 5000));
  assertEquals([small.fetch(), small.fetch()], [range(0, 5000), null]);
});

Deno.test("states: TransferState takes only answers to open FETCHes, each byte once", () => {
  const t = new TransferState(1, wheel("x.whl", 1000), 400, 2);
  assert(!t.chunk(0, 400), "nothing was asked yet");
  assertEquals(t.fetch(), range(0, 400));
  assertEquals(t.fetch(), range(400, 800));
  assert(!t.chunk(-1, 10));
  assert(!t.chunk(995, 5), "inside the file, but never asked for");
  assert(!t.chunk(2 ** 60, 1));
  assert(!t.chunk(10, 100), "inside an open FETCH, but not where it starts");
  assert(!t.chunk(0, 401), "longer than asked");
  assert(!t.chunk(0, 0));
  assertEquals(t.received, 0);
  assert(t.chunk(0, 400));
  assert(!t.chunk(0, 400), "answered already");
  assert(t.chunk(400, 150), "a short answer");
  assert(t.chunk(550, 250), "the rest of it, still open");
  assertEquals(t.received, 800);
  assertEquals(t.fetch(), range(800, 1000));
  // a silence: the open FETCH is asked again, and either answer counts, but only once
  t.resetCredit();
  assertEquals(t.fetch(), range(800, 1000));
  assert(t.chunk(800, 200));
  assert(!t.chunk(800, 200));
  assert(t.done);
  assertEquals(t.received, 1000);
});

Deno.test("states: TransferState asked again with other bounds never takes a byte twice", () => {
  const t = new TransferState(1, wheel("x.whl", 1000), 400, 4);
  const first = [t.fetch(), t.fetch(), t.fetch()];
  assertEquals(first, [range(0, 400), range(400, 800), range(800, 1000)]);
  assert(t.chunk(400, 100)); // a short answer: 500..800 stays open
  t.resetCredit();
  const again = [t.fetch(), t.fetch(), t.fetch()];
  assertEquals(again, [range(0, 400), range(500, 900), range(900, 1000)]);
  assert(t.chunk(500, 400));
  assert(!t.chunk(800, 200), "the first asking's answer, over bytes the second's brought");
  assert(t.chunk(900, 100));
  assert(t.chunk(0, 400));
  assert(t.done);
  assertEquals(t.received, 1000);
});

Deno.test("states: TransferState keeps as many FETCHes open as it asked at once, however asked", () => {
  // a peer that says HELLO (all asked again) and answers one byte of the first FETCH, over and
  // over: each asking's ranges shift by a byte, and the open ones used to pile up (270,000 after
  // 30,000 rounds, each CHUNK then going through all of them)
  const t = new TransferState(1, wheel("x.whl", 2 ** 31));
  let most = 0;
  for (let round = 0; round < 3000; round++) {
    t.resetCredit();
    const first = t.fetch()!;
    while (t.fetch());
    assert(t.chunk(first.start, 1));
    most = Math.max(most, t.open);
  }
  assertEquals(t.received, 3000);
  assert(most <= TransferState.PIPELINE_SIZE + 1, `${most} FETCHes open`);
});

Deno.test("states: TransferState of an empty file is done at once", () => {
  const empty = new TransferState(1, wheel("empty.whl", 0));
  assert(empty.done);
  assertEquals(empty.fetch(), null);
});

Deno.test("states: log records convert to and from their messages", () => {
  const d = new DownloadState("foo.whl", "1.2.3.4", Timestamp.parse("2024-01-01T00:00:00Z"));
  d.agent.pyVersion = "3.11.2";
  const m = d.asMessage();
  assertEquals(m.length, 13);
  assertEquals(m[9], "3.11.2");
  assertEquals(DownloadState.fromMessage(m as Parameters<typeof DownloadState.fromMessage>[0]), d);
});
