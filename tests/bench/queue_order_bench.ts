/**
 * Builds in the order users need them, measured against the real piw-master (subprocess,
 * shipped flags, `--dev-mode`) on PostgreSQL with simulated slaves (each build takes
 * `--build-ms`, then a tiny wheel is delivered): a burst of 10,000 releases of projects nobody
 * downloads arrives on the fake PyPI faster than the slaves build (as after an outage, or a
 * flood of uploads), so that a backlog of thousands of pending versions builds up, and 20
 * releases of projects people download (downloads in the last month) arrive among them, at
 * random places. For each of the 20: the time from its release on PyPI to its wheel being in
 * its simple page (and, of that, to a slave being told to build it). Median and maximum, before
 * and after:
 *
 * - before: the same farm with no download history, so that every project's popularity is 0
 *   and the queue is ordered as it was before popularity (newest release first);
 * - after: the 20 projects have downloads (popularity 7 to 10), so their releases go first.
 *
 * Names are random for both kinds, so that the order by name between releases of the same
 * second favours neither. Release data lookups are off (`--release-data none`): this measures
 * the queue's order, not the JSON API.
 *
 * Run: PIWHEELS_TEST_SUPERDSN=… deno run -A tests/bench/queue_order_bench.ts [--backlog 10000]
 *      [--popular 20] [--slaves 4] [--seconds 200] [--build-ms 200]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect } from "../../shared/db/driver.ts";
import { piwheelsDatabase, startMaster } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { median } from "./median.ts";

const { values } = parseArgs({
  options: {
    backlog: { type: "string", default: "10000" },
    popular: { type: "string", default: "20" },
    slaves: { type: "string", default: "4" },
    seconds: { type: "string", default: "200" },
    "build-ms": { type: "string", default: "200" },
  },
});
const BACKLOG = Number(values.backlog);
const POPULAR = Number(values.popular);
const SLAVES = Number(values.slaves);
const BURST_MS = Number(values.seconds) * 1000;
const BUILD_MS = Number(values["build-ms"]);
/** Not a real sdist: the simulated slaves never fetch it. */
const SDIST = new TextEncoder().encode("not an sdist");

function randomName(): string {
  return `p-${crypto.randomUUID().slice(0, 13).replace("-", "")}`;
}

interface Run {
  /** Seconds from release to listed, for each popular release. */
  waits: number[];
  /** Seconds from release to a slave being told to build it. */
  toBuild: number[];
  /** Seconds from its wheel being delivered (DONE) to being listed. */
  toListed: number[];
  /** Builds done while measuring. */
  builds: number;
  /** How long the run took, seconds. */
  seconds: number;
  /** The slaves' exchanges that failed (each slave started again). */
  failures: string[];
}

/** One run; `downloads` says whether the popular projects have their download history. */
async function run(downloads: boolean): Promise<Run> {
  await using pypi = new FakePyPI();
  await using db = await piwheelsDatabase();
  const popular = Array.from({ length: POPULAR }, randomName);
  const sql = await connect(db.superDsn);
  await sql.query(
    "INSERT INTO packages (package) SELECT unnest($1::varchar[])",
    [popular],
  );
  if (downloads) {
    await sql.exec("INSERT INTO user_agents (agent_id, agent) VALUES (1, '{}')");
    // 150 to 1100 downloads in the last month each: popularity 7 to 10
    await sql.query(
      `INSERT INTO downloads (filename, package, accessed_by, accessed_at, agent_id)
       SELECT 'old.whl', p.name, 'host', now() - interval '3 days', 1
       FROM unnest($1::varchar[]) WITH ORDINALITY AS p (name, n),
            LATERAL generate_series(1, 100 + 50 * p.n::int)`,
      [popular],
    );
  }
  await sql.close();
  await using master = await startMaster({
    pypiXmlrpc: pypi.xmlrpcUrl,
    dsn: db.userDsn,
    verbose: false,
    args: ["--release-data", "none"],
  });

  // the slaves build whatever they are given, at once, until told to stop; one whose exchange
  // fails (no answer in time) starts again with HELLO, as a real slave does, and is counted
  let stop = false;
  let builds = 0;
  const released = new Map<string, number>();
  const dispatched = new Map<string, number>();
  const delivered = new Map<string, number>();
  const failures: string[] = [];
  const building = Promise.all(Array.from({ length: SLAVES }, async (_, i) => {
    while (!stop) {
      const s = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", `bench-${i}`);
      try {
        await s.hello();
        while (!stop) {
          const reply = await s.request("IDLE");
          if (reply.msg !== "BUILD") continue;
          const [pkg, version] = reply.data;
          if (released.has(pkg)) dispatched.set(pkg, performance.now());
          await new Promise((r) => setTimeout(r, BUILD_MS));
          const done = await s.deliver([makeWheel(pkg, version)]);
          if (done.msg !== "DONE") throw new Error(`${pkg} ${version}: ${done.msg}, not DONE`);
          if (released.has(pkg)) delivered.set(pkg, performance.now());
          builds++;
        }
      } catch (e) {
        failures.push(`bench-${i}: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        await s.close();
      }
    }
  }));

  // the burst: the backlog and the popular releases, shuffled, spread over BURST_MS
  const releases = [...Array.from({ length: BACKLOG }, randomName), ...popular]
    .map((name) => ({ name, key: Math.random() }))
    .sort((a, b) => a.key - b.key)
    .map((r) => r.name);
  const listed = new Map<string, number>();
  const start = performance.now();
  const watching = (async () => {
    while (listed.size < POPULAR) {
      for (const [name] of released) {
        if (listed.has(name)) continue;
        const page = await Deno.readTextFile(`${master.output}/simple/${name}/index.html`)
          .catch(() => "");
        if (page.includes(".whl")) listed.set(name, performance.now());
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  for (const [i, name] of releases.entries()) {
    const due = start + (i * BURST_MS) / releases.length;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await pypi.release(name, "1.0", SDIST);
    if (popular.includes(name)) released.set(name, performance.now());
  }
  await watching;
  const seconds = (performance.now() - start) / 1000;
  stop = true;
  await building;
  await master.stop();
  const span = (to: Map<string, number>, from: Map<string, number>) =>
    popular.map((name) => (to.get(name)! - from.get(name)!) / 1000);
  return {
    waits: span(listed, released),
    toBuild: span(dispatched, released),
    toListed: span(listed, delivered),
    builds,
    seconds,
    failures,
  };
}

const fmt = (n: number) => n.toFixed(1);
console.log(
  `queue order: ${BACKLOG} releases nobody downloads and ${POPULAR} of downloaded projects, ` +
    `released over ${BURST_MS / 1000} s, ${SLAVES} simulated slaves building in ${BUILD_MS} ms ` +
    "(PostgreSQL 15, --dev-mode)",
);
for (const [label, downloads] of [["before (no popularity)", false], ["after", true]] as const) {
  const r = await run(downloads);
  console.log(
    `${label}: release → listed median ${fmt(median(r.waits))} s, max ${
      fmt(Math.max(...r.waits))
    } s, min ${fmt(Math.min(...r.waits))} s (${r.builds} builds in ${fmt(r.seconds)} s)`,
  );
  console.log(
    `  of which release → BUILD median ${fmt(median(r.toBuild))} s, max ${
      fmt(Math.max(...r.toBuild))
    } s; DONE → listed median ${fmt(median(r.toListed))} s, max ${fmt(Math.max(...r.toListed))} s`,
  );
  for (const f of r.failures) console.log(`  a slave started again: ${f}`);
}
