/**
 * piw-logger's throughput on a combined-format access log of 1,000,000 lines (a mix like a
 * piwheels mirror's: mostly pip downloads and simple-page fetches, some page hits, some lines
 * that count for nothing), and where the time goes:
 *
 * 1. in this process, each stage alone: reading and splitting lines; + parsing the format;
 *    + classifying and encoding the LOG* messages (validated, as the logger sends them);
 * 2. piw-logger (subprocess, shipped flags) into a PULL socket here that only counts: the
 *    logger's own ceiling;
 * 3. piw-logger into the real master (subprocess) on PostgreSQL: until the logger ends (the
 *    master took every record), and until the database holds every record; with the CPU
 *    time the master, PostgreSQL and the rest used meanwhile.
 *
 * Run: PIWHEELS_TEST_SUPERDSN=… deno run -A tests/bench/logger_bench.ts [--lines N]
 *
 * @module
 */

import { Pull } from "../../shared/zmq/mod.ts";
import { classify, compileLogFormat } from "../../tools/apache_log.ts";
import { gunzipped, readLines, TOO_LONG } from "../../tools/log_lines.ts";
import { logMessage } from "../../tools/log_loader.ts";
import { queryDb } from "../db.ts";
import { startFarm } from "../farm.ts";
import { BROWSER_AGENT, combinedLine } from "../fixtures/access_log.ts";
import { runTool } from "../process.ts";

const arg = Deno.args.indexOf("--lines");
const LINES = arg >= 0 ? Number(Deno.args[arg + 1]) : 1_000_000;
const DAY_MS = 86_400_000;

/** Line `i` of the log: 55% downloads, 25% searches, 10% page hits, 10% not counted. */
function line(i: number, now: number): string {
  const pkg = `pkg-${i % 5000}`;
  const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const time = new Date(now - (i % 30) * DAY_MS - (i % 86_400) * 1000);
  const k = i % 20;
  if (k < 11) {
    return combinedLine(`/simple/${pkg}/${pkg.replace("-", "_")}-1.0-py3-none-any.whl`, {
      host,
      time,
    });
  }
  if (k < 16) return combinedLine(`/simple/${pkg}/`, { host, time });
  if (k === 16) return combinedLine(`/project/${pkg}/`, { host, time, agent: BROWSER_AGENT });
  if (k === 17) return combinedLine("/", { host, time, agent: BROWSER_AGENT });
  if (k === 18) return combinedLine(`/simple/${pkg}/`, { host, time, status: 304 });
  return combinedLine("/robots.txt", { host, time, agent: BROWSER_AGENT });
}

async function writeLog(path: string): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const now = Date.now();
  let bytes = 0;
  for (let start = 0; start < LINES; start += 10_000) {
    const batch: string[] = [];
    for (let i = start; i < Math.min(LINES, start + 10_000); i++) batch.push(line(i, now));
    const data = encoder.encode(`${batch.join("\n")}\n`);
    bytes += data.length;
    for (let at = 0; at < data.length;) at += await file.write(data.subarray(at));
  }
  file.close();
  return bytes;
}

function rate(n: number, ms: number): string {
  return `${Math.round(n / (ms / 1000)).toLocaleString("en")}/s (${(ms / 1000).toFixed(1)} s)`;
}

/** Stage timings in this process. */
async function stages(path: string): Promise<void> {
  const parser = compileLogFormat("combined");
  const open = async () => readLines(await gunzipped((await Deno.open(path)).readable));
  let t = performance.now();
  let n = 0;
  for await (const _ of await open()) n++;
  console.log(`read and split lines:            ${rate(n, performance.now() - t)}`);
  t = performance.now();
  n = 0;
  for await (const l of await open()) if (l !== TOO_LONG && parser.parse(l)) n++;
  console.log(`+ parse the combined format:      ${rate(n, performance.now() - t)}`);
  t = performance.now();
  n = 0;
  let records = 0;
  for await (const l of await open()) {
    n++;
    const record = l === TOO_LONG ? null : parser.parse(l);
    const what = record && classify(record);
    if (what) {
      logMessage(record!, what);
      records++;
    }
  }
  console.log(`+ classify and encode (${records} records): ${rate(n, performance.now() - t)}`);
}

/** piw-logger into a PULL that only counts. */
async function intoSink(dir: string, path: string): Promise<void> {
  const address = `ipc://${dir}/sink`;
  const sink = new Pull({ receiveHighWaterMark: 10_000 });
  await sink.bind(address);
  let received = 0;
  const counting = (async () => {
    try {
      for (;;) {
        await sink.receive();
        received++;
      }
    } catch {
      // closed
    }
  })();
  const t = performance.now();
  const r = await runTool("piw-logger", ["--log-queue", address, path]);
  const ms = performance.now() - t;
  await sink.close();
  await counting;
  if (r.code !== 0) throw new Error(r.stderr);
  console.log(`piw-logger into a counting PULL:  ${rate(LINES, ms)} lines; ${received} records`);
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuOf(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds the PostgreSQL server's processes have used. */
function postgresCpu(): number {
  let total = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${entry.name}/comm`).trim() === "postgres") {
        total += cpuOf(Number(entry.name));
      }
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** CPU seconds the whole machine has been busy. */
function machineCpu(): number {
  const [, ...ticks] = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq] = ticks.map(Number) as number[];
  return (user! + nice! + system! + irq! + softirq!) / 100;
}

/** piw-logger into the real master on PostgreSQL. */
async function intoMaster(path: string): Promise<void> {
  await using farm = await startFarm({
    verbose: false,
  });
  const { db, master } = farm;
  const rows = async () =>
    (await queryDb<{ n: number }>(
      db.superDsn,
      `SELECT (SELECT count(*) FROM downloads) + (SELECT count(*) FROM searches) +
              (SELECT count(*) FROM web_hits) AS n`,
    ))[0]!.n;
  const cpu = [cpuOf(master.process.pid), postgresCpu(), machineCpu()];
  const t = performance.now();
  const r = await runTool("piw-logger", ["--log-queue", master.logQueue, path]);
  const loggerMs = performance.now() - t;
  if (r.code !== 0) throw new Error(r.stderr);
  const sent = Number(/(\d+) record\(s\) sent/.exec(r.stderr)![1]);
  while (Number(await rows()) < sent) await new Promise((r) => setTimeout(r, 200));
  const recordedMs = performance.now() - t;
  const [masterCpu, pgCpu, allCpu] = [
    cpuOf(master.process.pid) - cpu[0]!,
    postgresCpu() - cpu[1]!,
    machineCpu() - cpu[2]!,
  ];
  console.log(`piw-logger into the master: the logger ends after ${rate(LINES, loggerMs)} lines`);
  console.log(`  every record in PostgreSQL after ${rate(sent, recordedMs)} records`);
  const seconds = (x: number) => `${x.toFixed(1)} s`;
  console.log(
    `  CPU: master ${seconds(masterCpu)}, PostgreSQL ${seconds(pgCpu)}, the rest (the ` +
      `logger, this bench) ${seconds(allCpu - masterCpu - pgCpu)}, of ` +
      `${seconds(2 * recordedMs / 1000)} on 2 cores`,
  );
}

const dir = await Deno.makeTempDir({ prefix: "piw-logger-bench-" });
try {
  const path = `${dir}/access.log`;
  const bytes = await writeLog(path);
  console.log(`${LINES.toLocaleString("en")} lines, ${(bytes / 1e6).toFixed(0)} MB`);
  await stages(path);
  await intoSink(dir, path);
  await intoMaster(path);
} finally {
  await Deno.remove(dir, { recursive: true });
}
