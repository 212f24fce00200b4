/**
 * The database at PyPI scale: 500k packages, 5M versions, 3 build ABIs and 1M builds made with
 * generate_series in a scratch PostgreSQL database, then
 *
 * - GETQUEUE (the first 1000 pending builds of each ABI), milliseconds per call, and the same
 *   answer computed from the rule (the builds_pending view) without the queue table, once;
 * - GETSTATS, milliseconds per call;
 * - ingesting PyPI changelog events (NEWPKG then NEWVER of a new package), events per second,
 *   against that database and against a fresh PGlite one.
 *
 * Run: deno task bench:db [--scale=0.1] [--keep]   (needs PIWHEELS_TEST_SUPERDSN, as the
 * tests do; the scratch database is dropped at the end unless --keep)
 *
 * Of the 5M versions, 200k have a pure-Python wheel built on cp39, 200k were built on all three
 * ABIs (one build in ten failed), and 200k have an ABI-specific wheel built on cp39 only (so
 * they wait for cp311 and cp313): 1M builds. Release times are spread over ten years in an
 * order unrelated to the names.
 */

import { parseArgs } from "node:util";
import { MasterDb } from "../../master/db.ts";
import { connect, type Database } from "../../shared/db/driver.ts";
import { applyPlan, preparePlan } from "../../shared/db/schema.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { scratchDatabase } from "../db.ts";

const { values } = parseArgs({
  options: { scale: { type: "string", default: "1" }, keep: { type: "boolean", default: false } },
});
const scale = Number(values.scale);
const PACKAGES = Math.round(500_000 * scale);
const VERSIONS = PACKAGES * 10; // n = package * 10 + version number

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  console.log(`${what}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

/** Milliseconds per call: the median of `runs` calls after `warmup` unmeasured ones. */
async function perCall(what: string, fn: () => Promise<unknown>, runs = 50, warmup = 5) {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(runs / 2)]!;
  console.log(
    `${what}: median ${median.toFixed(2)} ms per call (min ${times[0]!.toFixed(2)}, ` +
      `max ${times.at(-1)!.toFixed(2)}, ${runs} calls)`,
  );
}

/** Events per second over `count` changelog events (a new package, then its first version). */
async function ingest(what: string, db: MasterDb, count: number) {
  const tag = crypto.randomUUID().slice(0, 8);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await db.addPackage(`new-${tag}-${i}`);
    await db.addVersion(`new-${tag}-${i}`, "1.0", Timestamp.now());
  }
  const seconds = (performance.now() - start) / 1000;
  console.log(`${what}: ${Math.round(count / seconds)} events/s (${count} events)`);
}

async function generate(admin: Database) {
  await admin.exec("SET session_replication_role = replica"); // bulk load: no triggers, no FK checks
  await timed(`${PACKAGES} packages`, () =>
    admin.exec(`INSERT INTO packages (package)
                SELECT 'pkg' || p FROM generate_series(0, ${PACKAGES - 1}) AS p`));
  await timed(
    `${VERSIONS} versions`,
    () =>
      admin.exec(`INSERT INTO versions (package, version, released)
                SELECT 'pkg' || n / 10, n % 10 || '.0',
                       timestamptz '2015-01-01 00:00:00Z'
                         + make_interval(secs => (n * 7919) % 315360000)
                FROM generate_series(0, ${VERSIONS - 1}::bigint) AS n`),
  );
  await timed(
    "builds",
    () =>
      admin.exec(`INSERT INTO builds (build_id, package, version, built_by, built_at, duration,
                                    status, abi_tag)
                SELECT n * 3 + k, 'pkg' || n / 10, n % 10 || '.0', 1 + k,
                       now() - make_interval(secs => n % 31536000),
                       make_interval(secs => 10 + n % 600),
                       n % 25 <> 1 OR (n / 25 + k) % 10 <> 0,
                       (ARRAY['cp39', 'cp311', 'cp313'])[k + 1]
                FROM generate_series(0, ${VERSIONS - 1}::bigint) AS n, generate_series(0, 2) AS k
                WHERE n % 25 = 1 OR (n % 25 IN (0, 2) AND k = 0)`),
  );
  await timed(
    "files of the successful builds",
    () =>
      admin.exec(`INSERT INTO files (filename, build_id, filesize, filehash, package_tag,
                                   package_version_tag, py_version_tag, abi_tag, platform_tag)
                SELECT
                  CASE WHEN n % 25 = 0 THEN format('pkg%s-%s.0-py3-none-any.whl', n / 10, n % 10)
                       ELSE format('pkg%s-%s.0-%s-%s-linux_armv7l.whl', n / 10, n % 10, b.abi_tag,
                                   b.abi_tag) END,
                  b.build_id, 1000 + n % 100000, md5(n::text) || md5(b.build_id::text),
                  'pkg' || n / 10, n % 10 || '.0',
                  CASE WHEN n % 25 = 0 THEN 'py3' ELSE b.abi_tag END,
                  CASE WHEN n % 25 = 0 THEN 'none' ELSE b.abi_tag END,
                  CASE WHEN n % 25 = 0 THEN 'any' ELSE 'linux_armv7l' END
                FROM builds AS b CROSS JOIN LATERAL (SELECT b.build_id / 3 AS n) AS v
                WHERE b.status`),
  );
  await admin.exec(
    "SELECT setval(pg_get_serial_sequence('builds', 'build_id'), max(build_id)) FROM builds",
  );
  await admin.exec("SET session_replication_role = origin");
  await timed("ANALYZE", () => admin.exec("ANALYZE"));
  await timed(
    "adding the 3 build ABIs (computes the whole queue)",
    () => admin.exec("INSERT INTO build_abis (abi_tag) VALUES ('cp39'), ('cp311'), ('cp313')"),
  );
  await admin.exec("ANALYZE build_queue");
  const [counts] = await admin.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM packages) AS packages, (SELECT count(*) FROM versions) AS versions,
            (SELECT count(*) FROM builds) AS builds, (SELECT count(*) FROM files) AS files,
            (SELECT count(*) FROM build_queue) AS queued`,
  );
  console.log("dataset:", counts);
}

async function main() {
  console.log(`scale ${scale}: ${PACKAGES} packages, ${VERSIONS} versions`);
  const scratch = await scratchDatabase();
  const admin = await connect(scratch.superDsn);
  try {
    await applyPlan(admin, await preparePlan(admin, scratch.user));
    await timed("dataset generated in", () => generate(admin));
    const db = await MasterDb.open(scratch.userDsn);
    try {
      const queue = await db.buildQueue();
      console.log("queue heads:", [...queue].map(([abi, list]) => `${abi} ${list.length}`));
      await perCall("GETQUEUE (1000 per ABI, from build_queue)", () => db.buildQueue());
      await timed("the same from the rule (builds_pending), once", () =>
        admin.query(
          `SELECT a.abi_tag, q.package, q.version FROM build_abis AS a
           CROSS JOIN LATERAL (SELECT package, version FROM builds_pending AS p
                               WHERE p.abi_tag = a.abi_tag
                               ORDER BY released DESC, package, version LIMIT 1000) AS q`,
        ));
      await perCall("GETSTATS", () => db.statistics(), 5, 1);
      await ingest("ingestion, PostgreSQL 15 at scale", db, 2000);
    } finally {
      await db.close();
    }
  } finally {
    await admin.close();
    if (values.keep) console.log(`kept ${scratch.superDsn}`);
    else await scratch[Symbol.asyncDispose]();
  }
  const dir = await Deno.makeTempDir({ prefix: "piwbench_pglite_" });
  try {
    const db = await MasterDb.open(`pglite://${dir}/db`);
    try {
      await ingest("ingestion, PGlite (empty database)", db, 2000);
    } finally {
      await db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

await main();
