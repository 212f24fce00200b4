/**
 * The master under load, this working tree side by side with a baseline git revision (default:
 * `7c3ca3f`, where the performance work started), each run the same way in one session:
 *
 * - a master (the tree's own `piw-master` with its own flags, production mode) on a scratch
 *   PostgreSQL database seeded with 70,000 pending versions, off PyPI;
 * - `../shared/bench/loadsim.py` (simulated slaves with instant builds of tiny wheels) at N=2
 *   and N=50: builds/min, round trips, master and PostgreSQL CPU (the master's by thread: the
 *   main thread, each Worker, V8's helpers), master RSS; and, with
 *   `--events`, how long after its DONE a build's simple page was written;
 * - a 30 MiB wheel from loadsim (BUILT → DONE), with the ceiling of loadsim's own sending side
 *   measured in the same run (libzmq pulling from libzmq, `zmq_fetch_ceiling.py`);
 * - idle RSS, and a full rewrite of the pages of 10,000 packages.
 *
 * Variants take turns (baseline, current, current, baseline…) for `--runs` rounds, because this
 * machine's speed drifts; the table shows each figure's median and range, and current/baseline.
 *
 * With `--functions`, PostgreSQL's own account per build: time per function, transactions, rows
 * read, and the tables read by sequential scans (a cached plan gone wrong shows there).
 *
 * Run: PIWHEELS_TEST_SUPERDSN=… deno task bench:load [--baseline REV] [--runs N]
 *   [--warmup S] [--duration S] [--skip-rewrite] [--only current|baseline] [--functions]
 *   [--master-dir DIR] [--socket DIR]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect } from "../../shared/db/driver.ts";
import { decodeMessage, encodeMessage, mrChase, reverse } from "../../shared/protocols.ts";
import { Request } from "../../shared/zmq/mod.ts";
import { type Scratch, scratchDatabase } from "../db.ts";
import { freePort } from "../farm.ts";
import { Collected, PYTHON, reap, ROOT, run } from "../process.ts";
import { median } from "./median.ts";

const args = parseArgs({
  options: {
    baseline: { type: "string", default: "7c3ca3f" },
    runs: { type: "string", default: "2" },
    warmup: { type: "string", default: "20" },
    duration: { type: "string", default: "90" },
    seed: { type: "string", default: "70000" },
    loadsim: { type: "string", default: `${ROOT}/../shared/bench/loadsim.py` },
    only: { type: "string" },
    "skip-rewrite": { type: "boolean", default: false },
    "skip-big": { type: "boolean", default: false },
    // V8's sampling profiler in every isolate (each master task's Worker): isolate-*.log files
    // in this directory, for `node --prof-process`
    profile: { type: "string" },
    slaves: { type: "string", default: "2,50" },
    // PostgreSQL's time per function (track_functions = all) in each load window, per build
    functions: { type: "boolean", default: false },
    // where each master's directory (its output and sockets) goes: a tmpfs takes the disk out
    // of the figures (the checkout of the baseline stays in the temporary directory)
    "master-dir": { type: "string" },
    // the masters reach PostgreSQL through its Unix socket in this directory, as a farm's
    // master does by default (and as the Python original was measured), instead of TCP on
    // loopback: the server must then take passwords there (pg_hba.conf's
    // `local all all scram-sha-256` after the line for postgres, as `.ci/run` sets)
    socket: { type: "string" },
  },
});
const opts = args.values;

/** A tree of the repository to run a master from. */
interface Variant {
  name: string;
  root: string;
}

/** One measurement, by name. */
type Figures = Record<string, number>;

function rssMiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  } catch {
    return NaN;
  }
}

/** USER_HZ: the clock ticks a second in which `/proc/…/stat` counts CPU time. */
const TICKS = 100;

/**
 * A `/proc/…/stat` line read: the command name, and the fields after it (`fields[1]` the parent's
 * pid, `[11]`/`[12]` user and system ticks, `[13]`/`[14]` those of reaped children); null once
 * the process or thread has gone.
 */
function readStat(path: string): { comm: string; fields: string[] } | null {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(path);
  } catch {
    return null;
  }
  const end = stat.lastIndexOf(")");
  return { comm: stat.slice(stat.indexOf("(") + 1, end), fields: stat.slice(end + 2).split(" ") };
}

/**
 * CPU seconds of each thread of a process, summed by kind: the main thread (`main`), each Worker
 * (`worker-1`… in the order the master starts them: database, slaves, web), V8's helper threads
 * (`V8`: garbage collection and compilation) and the rest (`other`: Deno's blocking pool).
 * Threads that ended before the call are not counted.
 */
function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
    const stat = readStat(`/proc/${pid}/task/${entry.name}/stat`);
    if (!stat) continue;
    const { comm, fields } = stat;
    const kind = entry.name === String(pid)
      ? "main"
      : /^worker-\d+$/.test(comm)
      ? comm
      : comm.startsWith("V8 ")
      ? "V8"
      : "other";
    out[kind] = (out[kind] ?? 0) + (Number(fields[11]) + Number(fields[12])) / TICKS;
  }
  return out;
}

/**
 * CPU seconds of a process and its descendants (their reaped children included, so exited
 * backends still count), as loadsim counts them.
 */
function treeCpuSeconds(root: number): number {
  const table = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const f = readStat(`/proc/${entry.name}/stat`)?.fields;
    if (!f) continue;
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    table.set(Number(entry.name), { ppid: Number(f[1]), ticks });
  }
  let ticks = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    ticks += table.get(pid)?.ticks ?? 0;
    for (const [child, { ppid }] of table) if (ppid === pid) todo.push(child);
  }
  return ticks / TICKS;
}

function postmasterPid(): number {
  for (const entry of Deno.readDirSync("/var/run/postgresql")) {
    if (entry.name.endsWith(".pid")) {
      return Number(Deno.readTextFileSync(`/var/run/postgresql/${entry.name}`).split("\n")[0]);
    }
  }
  throw new Error("no PostgreSQL pid file in /var/run/postgresql");
}

/** A worktree of `rev` in a temporary directory, sharing this tree's node_modules. */
async function checkout(rev: string): Promise<Variant & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: `piw-baseline-${rev}-` });
  await Deno.remove(root);
  const add = await run("git", ["-C", ROOT, "worktree", "add", "--detach", root, rev]);
  if (add.code !== 0) throw new Error(`git worktree add: ${add.stderr}`);
  const copy = await run("cp", ["-al", `${ROOT}/node_modules`, `${root}/node_modules`]);
  if (copy.code !== 0) throw new Error(`cp node_modules: ${copy.stderr}`);
  return {
    name: `baseline ${rev}`,
    root,
    async [Symbol.asyncDispose]() {
      await run("git", ["-C", ROOT, "worktree", "remove", "--force", root]);
    },
  };
}

/** The tool's entry and flags as that tree declares them. */
async function toolOf(root: string, tool: string): Promise<string[]> {
  const { TOOLS } = await import(`${root}/shared/flags.ts`);
  const spec = TOOLS[tool] as { entry: string; flags: string[] };
  return [
    Deno.execPath(),
    "run",
    `--config=${root}/deno.json`,
    ...spec.flags,
    `${root}/${spec.entry}`,
  ];
}

/** The DSN a master is given: the scratch role's, over TCP or (`--socket`) the Unix socket. */
function masterDsn(db: Scratch): string {
  if (!opts.socket) return db.userDsn;
  const url = new URL(db.userDsn);
  // a host in the URL as well as `?host=` (which wins, as in libpq): 7c3ca3f hands the URL to
  // postgres.js, which cannot read one with a password and no host
  return `postgres://${url.username}:${url.password}@localhost${url.pathname}?host=${
    encodeURIComponent(opts.socket)
  }&port=${url.port || "5432"}`;
}

/** A scratch database with that tree's schema (its own piw-initdb), seeded. */
async function database(v: Variant, seed: (sql: string) => string): Promise<Scratch> {
  const db = await scratchDatabase();
  const [program, ...start] = await toolOf(v.root, "piw-initdb");
  const init = await run(program!, [...start, "-d", db.superDsn, "-u", db.user, "-y"]);
  if (init.code !== 0) throw new Error(`piw-initdb (${v.name}): ${init.stderr}`);
  const sql = await connect(db.superDsn);
  try {
    await sql.exec(seed(db.user));
  } finally {
    await sql.close();
  }
  return db;
}

/** SQL: a seeded database's wheel of each of its builds (a cp311 one, of a made-up hash). */
const WHEEL_OF_EVERY_BUILD = `
    INSERT INTO files (filename, build_id, filesize, filehash, package_tag, package_version_tag,
                       py_version_tag, abi_tag, platform_tag)
      SELECT replace(b.package, '-', '_') || '-' || b.version || '-cp311-cp311-linux_armv7l.whl',
             b.build_id, 12345, md5(b.package || b.version) || md5(b.version || b.package),
             replace(b.package, '-', '_'), b.version, 'cp311', 'cp311', 'linux_armv7l'
      FROM builds AS b;`;

/**
 * SQL: the seed's pages are taken as written, as a farm at work has them (from 0.6.0 on, each
 * row the seed added owed a rewrite of its package's pages, which a master writes at start).
 */
const PAGES_WRITTEN = "DELETE FROM rewrites_pending;";

/**
 * 70,000 pending versions (7,000 packages × 10), one build ABI; and a history, as a farm has:
 * 5 older versions of each package built (35,000 builds and wheels), so that the planner's
 * statistics describe tables of a farm at work rather than empty ones (an empty builds table,
 * analysed, makes every session keep sequential scans of it in its cached plans while it grows,
 * until autovacuum's next ANALYZE, a state no farm at work is in).
 */
function pendingVersions(count: number): () => string {
  const packages = Math.ceil(count / 10);
  return () => `
    INSERT INTO build_abis (abi_tag) VALUES ('cp311');
    INSERT INTO packages (package)
      SELECT 'load-' || lpad(p::text, 5, '0') FROM generate_series(1, ${packages}) AS p;
    INSERT INTO versions (package, version, released)
      SELECT 'load-' || lpad(p::text, 5, '0'), '1.' || v,
             now() - ((p * 10 + v) || ' seconds')::interval
      FROM generate_series(1, ${packages}) AS p, generate_series(0, 9) AS v;
    INSERT INTO versions (package, version, released)
      SELECT 'load-' || lpad(p::text, 5, '0'), '0.' || v, now() - (v || ' days')::interval - '1 year'::interval
      FROM generate_series(1, ${packages}) AS p, generate_series(1, 5) AS v;
    INSERT INTO builds (package, version, built_by, duration, status, abi_tag)
      SELECT package, version, 1, '42 seconds', true, 'cp311' FROM versions
      WHERE version LIKE '0.%';
    INSERT INTO output (build_id, output) SELECT build_id, 'built' FROM builds;
    ${WHEEL_OF_EVERY_BUILD}
    ${PAGES_WRITTEN}
    ANALYZE;`;
}

/** A running master of a tree. */
class Master implements AsyncDisposable {
  readonly dir: string;
  readonly slaveQueue = `tcp://127.0.0.1:${freePort()}`;
  readonly fileQueue = `tcp://127.0.0.1:${freePort()}`;
  process!: Deno.ChildProcess;
  log!: Collected;

  constructor(readonly v: Variant, readonly dsn: string) {
    this.dir = Deno.makeTempDirSync({ prefix: "piw-load-", dir: opts["master-dir"] });
  }

  get importQueue(): string {
    return `ipc://${this.dir}/import`;
  }

  get output(): string {
    return `${this.dir}/www`;
  }

  async start(): Promise<this> {
    const [program, run, ...start] = await toolOf(this.v.root, "piw-master");
    this.process = new Deno.Command(program!, {
      cwd: opts.profile ?? this.dir,
      args: [
        run!,
        ...(opts.profile ? ["--v8-flags=--prof"] : []),
        ...start,
        ...["-d", this.dsn, "-o", this.output],
        ...["--pypi-xmlrpc", "http://127.0.0.1:9/pypi", "--pypi-simple", "http://127.0.0.1:9/s"],
        ...["--slave-queue", this.slaveQueue, "--file-queue", this.fileQueue],
        ...["--status-queue", `ipc://${this.dir}/status`],
        ...["--control-queue", `ipc://${this.dir}/control`],
        ...["--import-queue", this.importQueue, "--log-queue", `ipc://${this.dir}/log`],
      ],
      env: { NO_COLOR: "1", HOME: this.dir },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.log = new Collected(this.process.stderr, `the master (${this.v.name})`);
    await this.log.waitFor(/piw-master: ready/, 300_000);
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await reap(this.process, { signal: "SIGTERM" });
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** Runs loadsim; returns its result object. */
async function loadsim(master: Master, extra: string[]): Promise<Record<string, unknown>> {
  const out = await run(PYTHON, [
    opts.loadsim!,
    ...["--slave-queue", master.slaveQueue, "--file-queue", master.fileQueue],
    ...["--master-pid", String(master.process.pid), "--pg-pid", String(postmasterPid())],
    ...extra,
  ]);
  const line = out.stdout.split("\n").find((l) => l.startsWith('{"result"'));
  if (out.code !== 0 || !line) throw new Error(`loadsim failed: ${out.stderr}\n${out.stdout}`);
  return JSON.parse(line).result;
}

/** N slaves for the warm-up and window; with the page-write delays of the window's builds. */
async function load(v: Variant, slaves: number, out: Figures): Promise<void> {
  await using db = await database(v, pendingVersions(Number(opts.seed)));
  if (opts.functions) await superSql(db, `ALTER DATABASE "${db.name}" SET track_functions = 'all'`);
  await using master = await new Master(v, masterDsn(db)).start();
  await new Promise((r) => setTimeout(r, 3000));
  if (slaves === Number(opts.slaves!.split(",")[0]) || !("idle RSS (MiB)" in out)) {
    out["idle RSS (MiB)"] = rssMiB(master.process.pid);
  }
  const before = opts.functions ? await databaseStats(db) : undefined;
  const threadsBefore = threadCpu(master.process.pid);
  const events = await loadsimEvents(master, [
    ...["-n", String(slaves), "--sleep", "0.25"],
    ...["--warmup", opts.warmup!, "--duration", opts.duration!],
  ]);
  const threadsAfter = threadCpu(master.process.pid);
  const r = events.result;
  const n = `N=${slaves}`;
  out[`builds/min ${n}`] = r.builds_per_min as number;
  const byMsg = r.rtt_ms_by_msg as Record<string, { p50: number }>;
  out[`IDLE→BUILD p50 ms ${n}`] = byMsg["IDLE->BUILD"]?.p50 ?? NaN;
  out[`SENT→DONE p50 ms ${n}`] = byMsg["SENT->DONE"]?.p50 ?? NaN;
  out[`rtt p99 ms ${n}`] = (r.rtt_ms as { p99: number }).p99;
  const builds = r.builds_in_window as number;
  out[`master CPU ms/build ${n}`] = (r.master_cpu_s as number) * 1000 / builds;
  // where the master's CPU went, by thread, over the warm-up and the window
  for (const [kind, seconds] of Object.entries(threadsAfter).sort(([a], [b]) => a < b ? -1 : 1)) {
    // threads that ended during the run take their time with them: never below nothing
    out[`  of it ${kind} ms/build ${n}`] = Math.max(0, seconds - (threadsBefore[kind] ?? 0)) *
      1000 / (r.builds_total as number);
  }
  out[`PostgreSQL CPU ms/build ${n}`] = (r.pg_cpu_s as number) * 1000 / builds;
  out[`loadsim CPU ms/build ${n}`] = (r.sim_cpu_s as number) * 1000 / builds;
  out[`master+PG CPU ms/build ${n}`] = ((r.master_cpu_s as number) + (r.pg_cpu_s as number)) *
    1000 / builds;
  const rss = r.master_rss_mib as { window_median: number; window_max: number };
  out[`RSS median MiB ${n}`] = rss.window_median;
  out[`RSS max MiB ${n}`] = rss.window_max;
  out[`errors ${n}`] = r.error_count as number;
  if (opts.functions) {
    await functionTimes(db, builds, `${v.name} N=${slaves}`);
    await databaseCounts(db, before!, r.builds_total as number, `${v.name} N=${slaves}`);
  }
  if (r.error_count) {
    console.error(`${v.name} N=${slaves}: loadsim errors ${JSON.stringify(r.errors)}`);
  }
  // how long after DONE each build's simple page was there (its mtime)
  const delays: number[] = [];
  for (const [pkg, done] of events.done) {
    const stat = await Deno.stat(`${master.output}/simple/${pkg}/index.html`).catch(() => null);
    if (stat?.mtime) delays.push(stat.mtime.getTime() / 1000 - done);
  }
  delays.sort((a, b) => a - b);
  out[`page after DONE p50 s ${n}`] = delays[Math.floor(delays.length / 2)] ?? NaN;
  out[`page after DONE max s ${n}`] = delays.at(-1) ?? NaN;
}

/** Runs SQL as the superuser in the scratch database. */
async function superSql(db: Scratch, sql: string): Promise<void> {
  const c = await connect(db.superDsn);
  try {
    await c.exec(sql);
  } finally {
    await c.close();
  }
}

/** The scratch database's counters: transactions, rows, blocks, since it was created. */
async function databaseStats(db: Scratch): Promise<Record<string, number>> {
  const c = await connect(db.superDsn);
  try {
    const [row] = await c.query<Record<string, number>>(
      `SELECT xact_commit::float8 AS commits, xact_rollback::float8 AS rollbacks,
              tup_returned::float8 AS returned, tup_fetched::float8 AS fetched,
              tup_inserted::float8 AS inserted, tup_updated::float8 AS updated,
              tup_deleted::float8 AS deleted, blks_hit::float8 AS "blocks hit"
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    return row!;
  } finally {
    await c.close();
  }
}

/** Prints what the database did per build (all builds of the run, warm-up included). */
async function databaseCounts(
  db: Scratch,
  before: Record<string, number>,
  builds: number,
  what: string,
): Promise<void> {
  // the statistics collector reports a backend's counters when it goes idle: let them arrive
  await new Promise((r) => setTimeout(r, 1000));
  const after = await databaseStats(db);
  console.error(`${what}: PostgreSQL per build, ${builds} builds`);
  for (const [k, v] of Object.entries(after)) {
    console.error(`  ${k.padEnd(12)} ${((v - before[k]!) / builds).toFixed(2)}`);
  }
  const c = await connect(db.superDsn);
  try {
    const rows = await c.query<{ t: string; seq: number; read: number; idx: number }>(
      `SELECT relname AS t, seq_scan::float8 AS seq, seq_tup_read::float8 AS read,
              idx_scan::float8 AS idx
         FROM pg_stat_user_tables ORDER BY seq_tup_read DESC LIMIT 6`,
    );
    console.error(
      `  tables (since creation, per build): seq scans, rows read by them, index scans`,
    );
    for (const r of rows) {
      console.error(
        `  ${r.t.padEnd(20)} ${(r.seq / builds).toFixed(2)} ${(r.read / builds).toFixed(0)}` +
          ` ${(r.idx / builds).toFixed(2)}`,
      );
    }
  } finally {
    await c.close();
  }
}

/** Prints PostgreSQL's own time per function (those it does not inline), per build. */
async function functionTimes(db: Scratch, builds: number, what: string): Promise<void> {
  const c = await connect(db.superDsn);
  try {
    const rows = await c.query<{ f: string; calls: number; self: number; total: number }>(
      `SELECT funcname AS f, calls::int AS calls, self_time AS self, total_time AS total
         FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 12`,
    );
    console.error(`${what}: PostgreSQL functions, ms per build (self / total), calls per build`);
    for (const r of rows) {
      console.error(
        `  ${r.f.padEnd(28)} ${(r.self / builds).toFixed(3)} / ${(r.total / builds).toFixed(3)}` +
          `  ${(r.calls / builds).toFixed(2)}`,
      );
    }
  } finally {
    await c.close();
  }
}

/** loadsim with `--events`: its result, and each DONE's package and time. */
async function loadsimEvents(master: Master, extra: string[]) {
  const out = await run(PYTHON, [
    opts.loadsim!,
    ...["--slave-queue", master.slaveQueue, "--file-queue", master.fileQueue],
    ...["--master-pid", String(master.process.pid), "--pg-pid", String(postmasterPid())],
    "--events",
    ...extra,
  ]);
  let result: Record<string, unknown> | undefined;
  const done: [string, number][] = [];
  for (const line of out.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const j = JSON.parse(line);
    if (j.result) result = j.result;
    else if (j.ev === "DONE") done.push([j.pkg, j.t]);
  }
  if (out.code !== 0 || !result) throw new Error(`loadsim failed: ${out.stderr}`);
  return { result, done };
}

/** A 30 MiB wheel, three times: BUILT → DONE. */
async function big(v: Variant, out: Figures): Promise<void> {
  await using db = await database(v, pendingVersions(100));
  await using master = await new Master(v, masterDsn(db)).start();
  const r = await loadsim(master, ["-n", "1", "--big-mib", "30", "--max-builds", "3"]);
  const transfers = r.transfers as {
    mib_per_s: number;
    bytes: number;
    file_hello_to_file_done_s: number;
  }[];
  out["30 MiB wheel MiB/s"] = median(transfers.map((t) => t.mib_per_s));
  // the file queue alone (HELLO to the File Juggler's DONE), without BUILT, SENT and logging
  out["30 MiB transfer alone MiB/s"] = median(
    transfers.map((t) => t.bytes / 1048576 / t.file_hello_to_file_done_s),
  );
}

/** The full rewrite of every page of 10,000 seeded packages (30,000 versions and wheels). */
async function rewrite(v: Variant, out: Figures): Promise<void> {
  const count = 10_000;
  await using db = await database(v, () => `
    INSERT INTO build_abis (abi_tag) VALUES ('cp311');
    INSERT INTO packages (package, description)
      SELECT 'seed-' || i, 'Seeded package number ' || i FROM generate_series(1, ${count}) AS i;
    INSERT INTO versions (package, version, released)
      SELECT 'seed-' || i, '1.' || v, now() - (v || ' days')::interval
      FROM generate_series(1, ${count}) AS i, generate_series(0, 2) AS v;
    INSERT INTO builds (package, version, built_by, duration, status, abi_tag)
      SELECT 'seed-' || i, '1.' || v, 1, '42 seconds', true, 'cp311'
      FROM generate_series(1, ${count}) AS i, generate_series(0, 2) AS v;
    ${WHEEL_OF_EVERY_BUILD}
    ${PAGES_WRITTEN}
    ANALYZE;`);
  await using master = await new Master(v, masterDsn(db)).start();
  const req = new Request({ receiveTimeout: 600_000, linger: 0 });
  req.connect(master.importQueue);
  try {
    // what earlier runs left to write back to the disk is not this run's cost
    await run("sync", []);
    const start = performance.now();
    const cpu = [treeCpuSeconds(master.process.pid), treeCpuSeconds(postmasterPid())];
    await req.send(encodeMessage(reverse(mrChase), "REBUILD", ["PKGBOTH", null]));
    const reply = decodeMessage(reverse(mrChase), (await req.receive())[0]!);
    if (reply.msg !== "DONE") throw new Error(`REBUILD: ${JSON.stringify(reply)}`);
    for (let i = count; i >= 1; i = Math.floor(i / 2)) {
      // the last package's pages are written last; wait for them, then check the rest
      const page = `${master.output}/project/seed-${i}/json/index.json`;
      while (!(await Deno.stat(page).catch(() => null))) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (i === 1) break;
    }
    let written = 0;
    while (written < count) {
      written = 0;
      for await (const e of Deno.readDir(`${master.output}/project`)) {
        if (e.name.startsWith("seed-")) written++;
      }
      if (written < count) await new Promise((r) => setTimeout(r, 50));
    }
    out["full rewrite of 10,000 packages (s)"] = (performance.now() - start) / 1000;
    out["full rewrite: master CPU (s)"] = treeCpuSeconds(master.process.pid) - cpu[0]!;
    out["full rewrite: PostgreSQL CPU (s)"] = treeCpuSeconds(postmasterPid()) - cpu[1]!;
  } finally {
    await req.close();
  }
}

/** The ceiling of loadsim's sending side: libzmq pulling 30 MiB from libzmq, 1 MiB FETCHes. */
async function ceiling(out: Figures): Promise<void> {
  const r = await run(PYTHON, [`${ROOT}/tests/bench/zmq_fetch_ceiling.py`, "30"]);
  if (r.code !== 0) throw new Error(`zmq_fetch_ceiling.py: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  for (const [size, rate] of Object.entries(j as Record<string, number>)) {
    out[`libzmq→libzmq 30 MiB, ${size} FETCHes MiB/s`] = rate;
  }
}

async function measure(v: Variant): Promise<Figures> {
  const out: Figures = {};
  for (const n of opts.slaves!.split(",").filter((x) => x && x !== "none").map(Number)) {
    console.error(`${v.name}: N=${n}`);
    await load(v, n, out);
  }
  if (!opts["skip-big"]) {
    console.error(`${v.name}: 30 MiB`);
    await big(v, out);
  }
  if (!opts["skip-rewrite"]) {
    console.error(`${v.name}: full rewrite`);
    await rewrite(v, out);
  }
  return out;
}

function summary(values: number[]): string {
  const xs = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return "—";
  const med = xs[Math.floor(xs.length / 2)]!;
  const f = (x: number) => x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
  return xs.length > 1 ? `${f(med)} (${f(xs[0]!)}–${f(xs.at(-1)!)})` : f(med);
}

function medianOf(values: number[]): number {
  const xs = values.filter((x) => Number.isFinite(x));
  return xs.length ? median(xs) : NaN;
}

const current: Variant = { name: "working tree", root: ROOT };
await using base = opts.only === "current" ? null : await checkout(opts.baseline!);
const variants = base === null ? [current] : opts.only === "baseline" ? [base] : [base, current];
const results = new Map<string, Figures[]>(variants.map((v) => [v.name, []]));
for (let run = 0; run < Number(opts.runs); run++) {
  // each takes the first turn in every other round: the second of a round runs slower (at N=2,
  // 3–7% fewer builds a minute, in every thread alike, whether its code changed or not)
  for (const v of run % 2 ? variants.toReversed() : variants) {
    results.get(v.name)!.push(await measure(v));
  }
}
const shared: Figures[] = [];
for (let run = 0; run < Number(opts.runs); run++) {
  const out: Figures = {};
  await ceiling(out);
  shared.push(out);
}

const names = [...new Set([...results.values()].flat().flatMap((f) => Object.keys(f)))];
const header = [
  "measure",
  ...variants.map((v) => v.name),
  ...(variants.length > 1 ? ["ratio"] : []),
];
const rows = names.map((name) => {
  const cells = variants.map((v) => results.get(v.name)!.map((f) => f[name] ?? NaN));
  const ratio = variants.length > 1
    ? (medianOf(cells[1]!) / medianOf(cells[0]!)).toFixed(2)
    : undefined;
  return [name, ...cells.map(summary), ...(ratio ? [ratio] : [])];
});
for (const name of Object.keys(shared[0] ?? {})) {
  rows.push([name, summary(shared.map((f) => f[name]!)), ...(variants.length > 1 ? ["", ""] : [])]);
}
const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? "").length)));
const line = (r: string[]) =>
  `| ${r.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(" | ")} |`;
console.log(line(header));
console.log(
  `| ${widths.map((w, i) => i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":").join(" | ")} |`,
);
for (const r of rows) console.log(line(r));
