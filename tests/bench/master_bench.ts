/**
 * The master's overhead, measured against the real piw-master (subprocess, shipped flags) on
 * PostgreSQL with simulated slaves whose builds are instant (tiny wheels):
 *
 * - builds completed per minute with 2 and with 50 slaves, end to end (dispatch, BUILT,
 *   transfer, verification, LOGBUILD, page writes);
 * - release-to-dispatch latency (PyPI publishes → a waiting slave gets BUILD; and from Cloud
 *   Gazer seeing the release, read from the master's log file) and last-chunk-to-index latency
 *   (the file queue's DONE → the wheel is in `/simple/<pkg>/index.html`);
 * - a full rewrite of every page for 10,000 seeded packages;
 * - the master's resident memory idle and under the 50-slave load.
 *
 * Run: PIWHEELS_TEST_SUPERDSN=… deno run -A tests/bench/master_bench.ts
 *
 * @module
 */

import { connect } from "../../shared/db/driver.ts";
import { Duration } from "../../shared/duration.ts";
import { decodeMessage, encodeMessage, mrChase, reverse } from "../../shared/protocols.ts";
import { Request } from "../../shared/zmq/mod.ts";
import { type MasterRun, piwheelsDatabase, startFarm, startMaster } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { median } from "./median.ts";

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 600_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `slaves` simulated slaves build `releases` releases; returns builds/minute and peak RSS. */
async function throughput(
  slaves: number,
  releases: number,
): Promise<{ perMinute: number; rss: number; idleRss: number }> {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  const fleet = Array.from(
    { length: slaves },
    (_, i) => new TestSlave(master.slaveQueue, master.fileQueue, "cp311", `bench-${i}`),
  );
  for (const s of fleet) await s.hello();
  for (let i = 0; i < releases; i++) await pypi.release(`bench-pkg-${i}`, "1.0");
  await master.waitForLog(new RegExp(`up to serial ${pypi.serial}`), 120_000);
  await new Promise((r) => setTimeout(r, 2000));
  const idleRss = rssMiB(master.process.pid);
  let done = 0;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(master.process.pid))), 250);
  const start = performance.now();
  await Promise.all(fleet.map(async (s) => {
    for (;;) {
      const reply = await s.request("IDLE");
      if (reply.msg !== "BUILD") break;
      const [pkg, version] = reply.data;
      if ((await s.deliver([makeWheel(pkg, version)])).msg !== "DONE") throw new Error("no DONE");
      done++;
      if (done >= releases) break;
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  clearInterval(sampler);
  for (const s of fleet) await s.close();
  await master.stop();
  return { perMinute: (done / elapsed) * 60, rss: peak, idleRss };
}

/** Release-to-dispatch and last-chunk-to-index latencies, `rounds` times each. */
async function latencies(rounds: number) {
  const dir = await Deno.makeTempDir();
  const logFile = `${dir}/master.log`;
  await using farm = await startFarm({
    args: ["-l", logFile],
  });
  const { pypi, master } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "latency");
  await slave.hello();
  const publishToBuild: number[] = [];
  const seenToBuild: number[] = [];
  const chunkToIndex: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const name = `latency-${i}`;
    const asking = slave.request("IDLE");
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 1000));
    const t0 = performance.now();
    await pypi.release(name, "1.0");
    const reply = await asking;
    publishToBuild.push(performance.now() - t0);
    if (reply.msg !== "BUILD") {
      throw new Error(
        `round ${i}: expected BUILD, got ${reply.msg}; the master logged:\n${master.stderr}`,
      );
    }
    const log = await Deno.readTextFile(logFile);
    const seen = [...log.matchAll(new RegExp("^\\[(\\S+)\\] cloud_gazer INFO: applied", "gm"))].at(
      -1,
    )!;
    const dispatched = new RegExp(
      `^\\[([^\\]]+)\\] slave_driver INFO: slave \\d+ \\(latency\\): build ${name} `,
      "m",
    ).exec(log)!;
    seenToBuild.push(Date.parse(dispatched[1]!) - Date.parse(seen[1]!));
    const wheel = makeWheel(name, "1.0");
    const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
    const send = await slave.request("BUILT", [true, Duration.ZERO, "", files]);
    if (send.msg !== "SEND") throw new Error(`expected SEND, got ${send.msg}`);
    await slave.transfer(wheel.bytes);
    const t1 = performance.now();
    const sent = slave.request("SENT");
    const page = `${master.output}/simple/${name}/index.html`;
    await waitFor(async () =>
      (await Deno.readTextFile(page).catch(() => "")).includes(wheel.filename)
    );
    chunkToIndex.push(performance.now() - t1);
    if ((await sent).msg !== "DONE") throw new Error("no DONE");
  }
  await master.stop();
  await Deno.remove(dir, { recursive: true });
  return { publishToBuild, seenToBuild, chunkToIndex };
}

/** Seeds `count` packages with one built version each, then times REBUILD PKGBOTH of all. */
async function fullRewrite(count: number): Promise<{ seconds: number; seedSeconds: number }> {
  await using pypi = new FakePyPI();
  await using db = await piwheelsDatabase();
  const t0 = performance.now();
  const sql = await connect(db.superDsn);
  await sql.exec(`
    INSERT INTO build_abis (abi_tag) VALUES ('cp311');
    INSERT INTO packages (package, description)
      SELECT 'seed-' || i, 'Seeded package number ' || i FROM generate_series(1, ${count}) AS i;
    INSERT INTO versions (package, version, released)
      SELECT 'seed-' || i, '1.' || v, now() - (v || ' days')::interval
      FROM generate_series(1, ${count}) AS i, generate_series(0, 2) AS v;
    INSERT INTO builds (package, version, built_by, duration, status, abi_tag)
      SELECT 'seed-' || i, '1.' || v, 1, '42 seconds', true, 'cp311'
      FROM generate_series(1, ${count}) AS i, generate_series(0, 2) AS v;
    INSERT INTO files (filename, build_id, filesize, filehash, package_tag, package_version_tag,
                       py_version_tag, abi_tag, platform_tag)
      SELECT replace(b.package, '-', '_') || '-' || b.version || '-cp311-cp311-linux_armv7l.whl',
             b.build_id, 12345, md5(b.package || b.version) || md5(b.version || b.package),
             replace(b.package, '-', '_'), b.version, 'cp311', 'cp311', 'linux_armv7l'
      FROM builds AS b;
  `);
  await sql.close();
  const seedSeconds = (performance.now() - t0) / 1000;
  await using master = await startMaster({ pypiXmlrpc: pypi.xmlrpcUrl, dsn: db.userDsn });
  const req = new Request({ receiveTimeout: 600_000 });
  req.connect(master.importQueue);
  const start = performance.now();
  await req.send(encodeMessage(reverse(mrChase), "REBUILD", ["PKGBOTH", null]));
  const reply = decodeMessage(reverse(mrChase), (await req.receive())[0]!);
  if (reply.msg !== "DONE") throw new Error(`REBUILD: ${reply.msg}`);
  const last = `${master.output}/project/seed-${count}/index.html`;
  await waitFor(async () => await countPages(master, count) >= count);
  await Deno.stat(last);
  const seconds = (performance.now() - start) / 1000;
  await req.close();
  await master.stop();
  return { seconds, seedSeconds };
}

async function countPages(master: MasterRun, _count: number): Promise<number> {
  let n = 0;
  const dir = `${master.output}/project`;
  if (!(await Deno.stat(dir).catch(() => null))) return 0;
  for await (const e of Deno.readDir(dir)) {
    try {
      await Deno.stat(`${master.output}/project/${e.name}/json/index.json`);
      n++;
    } catch {
      // not yet
    }
  }
  return n;
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);
console.log("piw-master benchmark (PostgreSQL 15, instant builds of tiny wheels)\n");
const two = await throughput(2, 200);
console.log(
  `builds/minute with  2 slaves: ${fmt(two.perMinute)} (idle RSS ${fmt(two.idleRss)} MiB)`,
);
const fifty = await throughput(50, 1000);
console.log(
  `builds/minute with 50 slaves: ${fmt(fifty.perMinute)} (peak RSS ${fmt(fifty.rss)} MiB, idle ${
    fmt(fifty.idleRss)
  } MiB)`,
);
const lat = await latencies(15);
console.log(
  `release on PyPI → BUILD:          median ${fmt(median(lat.publishToBuild))} ms, max ${
    fmt(Math.max(...lat.publishToBuild))
  } ms (includes the 2 s poll of --dev-mode)`,
);
console.log(
  `Cloud Gazer saw it → BUILD:       median ${fmt(median(lat.seenToBuild))} ms, max ${
    fmt(Math.max(...lat.seenToBuild))
  } ms`,
);
console.log(
  `last chunk → in the simple index: median ${fmt(median(lat.chunkToIndex))} ms, max ${
    fmt(Math.max(...lat.chunkToIndex))
  } ms`,
);
const rewrite = await fullRewrite(10_000);
console.log(
  `full rewrite of 10,000 packages (30,000 versions and wheels): ${
    fmt(rewrite.seconds, 1)
  } s (seeding took ${fmt(rewrite.seedSeconds, 1)} s)`,
);
