/**
 * Big Brother (manual 11.3.8): gathers the farm's statistics (the database's via the Oracle,
 * the output file system's via the File Juggler) every minute (10 s in development mode) and
 * on request (HOME on the stats queue), publishes them to the monitors (STATS) and has the home
 * page rewritten with them. The search index is rewritten every ten minutes. Our own monitors
 * are also told (MASTER) whether the master is paused, its build queue per ABI and how often
 * STATS comes: with every STATS, at once on PAUSE and RESUME, and when the queue sizes change
 * (at most once a second). With `--metrics-file`, it merges every task's metrics with its own
 * (the queue per ABI, whether paused, the database's figures) and writes them in Prometheus's
 * text format every {@linkcode METRICS_MS}.
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import { Duration } from "../../shared/duration.ts";
import {
  bigBrother,
  encodeMessage,
  fileJugglerFs,
  isTrustedAddress,
  monitorStats,
  reverse,
  type StatsMessage,
  theScribe,
} from "../../shared/protocols.ts";
import { VERSION } from "../../shared/version.ts";
import { Pull, Push } from "../../shared/zmq/mod.ts";
import { OracleClient } from "../oracle_client.ts";
import { RpcClient } from "../rpc.ts";
import { eachDecoded, isClosed } from "../../shared/receive.ts";
import {
  HOME_MIN_MS,
  INTERNAL_STATUS,
  INTERNAL_STATUS_EXTENDED,
  METRICS_MS,
  runTask,
  type TaskContext,
} from "../task.ts";
import { type Family, formatExposition, mergeFamilies } from "../../shared/metrics.ts";
import { writeAtomic } from "../atomic_write.ts";

/** MASTER for a changed queue goes out at most this often. */
const QUEUE_NEWS_MS = 1_000;

const toWeb = reverse(theScribe);

/** The most tasks whose metrics are kept. */
const MAX_METRICS_SOURCES = 64;

/** The database's and the disk's figures in the metrics file, from the last statistics. */
const STATS_FIGURES: readonly [string, string, Exclude<keyof StatsMessage, "builds_time">][] = [
  [
    "piwheels_database_packages_built",
    "Packages with at least one built version",
    "packages_built",
  ],
  ["piwheels_database_builds", "Builds recorded in the database", "builds_count"],
  [
    "piwheels_database_builds_succeeded",
    "Successful builds recorded in the database",
    "builds_success",
  ],
  ["piwheels_database_files", "Files recorded in the database", "files_count"],
  ["piwheels_disk_free_bytes", "Free space under the output path", "disk_free"],
  ["piwheels_disk_size_bytes", "Size of the file system of the output path", "disk_size"],
  [
    "piwheels_database_downloads_last_month",
    "Downloads logged in the last 30 days",
    "downloads_last_month",
  ],
];

/** Families only Big Brother writes: another task's METRICS naming one of them is dropped. */
const OWN_FAMILIES: ReadonlySet<string> = new Set([
  "piwheels_build_queue",
  "piwheels_paused",
  "piwheels_master_info",
  ...STATS_FIGURES.map(([name]) => name),
]);

/** Big Brother's own metrics, from what it knows: the queue, the pause, the last statistics. */
function ownMetrics(
  ctx: TaskContext,
  pending: Record<string, number>,
  stats: StatsMessage | null,
): void {
  const m = ctx.metrics;
  const queue = m.gauge("piwheels_build_queue", "Versions waiting to be built, per build ABI");
  queue.reset();
  for (const [abi, n] of Object.entries(pending)) queue.set(n, { abi });
  m.gauge("piwheels_paused", "1 while the master is paused (PAUSE), else 0").set(
    ctx.paused ? 1 : 0,
  );
  m.gauge("piwheels_master_info", "The master's version").set(1, { version: VERSION });
  if (!stats) return;
  for (const [name, help, key] of STATS_FIGURES) m.gauge(name, help).set(stats[key]);
}

/**
 * Writes the metrics file from the tasks' latest snapshots and Big Brother's own; a failure is
 * logged once until a write succeeds again.
 */
function metricsWriter(
  ctx: TaskContext,
  path: string,
): { latest: Map<string, Family[]>; write: (own: Family[]) => Promise<void> } {
  const latest = new Map<string, Family[]>();
  let failing = false;
  return {
    latest,
    write: async (own) => {
      try {
        await writeAtomic(path, formatExposition(mergeFamilies([...latest.values(), own])));
        if (failing) ctx.log.info(`writing the metrics to ${path} again`);
        failing = false;
      } catch (e) {
        if (!failing) ctx.log.warning(`cannot write the metrics to ${path}: ${errorMessage(e)}`);
        failing = true;
      }
    },
  };
}

runTask("big_brother", async (ctx) => {
  const requests = ctx.socket(new Pull());
  await requests.bind(ctx.options.statsQueue);
  const web = ctx.socket(new Push({ linger: 1000, sendTimeout: 5000 }));
  web.connect(ctx.options.webQueue);
  const status = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  status.connect(INTERNAL_STATUS);
  const extended = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  extended.connect(INTERNAL_STATUS_EXTENDED);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const fs = new RpcClient(ctx.options.fsQueue, fileJugglerFs, ctx.log);
  let pending: Record<string, number> = {};
  let lastStats: StatsMessage | null = null;
  const metrics = ctx.options.metricsFile ? metricsWriter(ctx, ctx.options.metricsFile) : undefined;
  const statsEvery = ctx.options.devMode ? 10_000 : 60_000;
  const master = () =>
    extended.send(encodeMessage(monitorStats, "MASTER", {
      paused: ctx.paused,
      builds_pending_abi: pending,
      stats_every: Duration.fromMillis(statsEvery),
      version: VERSION,
    })).catch(() => {});
  let queueNews: ReturnType<typeof setTimeout> | undefined;
  ctx.onPauseChange = () => void master();

  const requested = ctx.metrics.counter(
    "piwheels_statistics_requests_total",
    "Requests for the statistics (HOME) from monitors and piw-rebuild",
  );
  const gathered = ctx.metrics.counter(
    "piwheels_statistics_gathered_total",
    "Times the statistics were gathered from the database and the disk",
  );
  let lastGather = -Infinity;
  let owed: ReturnType<typeof setTimeout> | undefined;
  const gather = async () => {
    lastGather = performance.now();
    gathered.inc();
    try {
      const db = await oracle.statistics();
      const disk = await fs.call("STATFS");
      const [size, free] = disk.msg === "OK" ? disk.data as [number, number] : [0, 0];
      const stats: StatsMessage = { ...db, disk_size: size, disk_free: free };
      lastStats = stats;
      await status.send(encodeMessage(monitorStats, "STATS", stats)).catch(() => {});
      await master();
      await web.send(encodeMessage(toWeb, "HOME", stats));
    } catch (e) {
      if (!ctx.signal.aborted && !isClosed(e)) {
        ctx.log.warning(`cannot gather statistics: ${errorMessage(e)}`);
      }
    }
  };
  const search = async () => {
    try {
      await web.send(
        encodeMessage(toWeb, "SEARCH", Object.fromEntries(await oracle.searchIndex())),
      );
    } catch (e) {
      if (!ctx.signal.aborted && !isClosed(e)) {
        ctx.log.warning(`cannot gather the search index: ${errorMessage(e)}`);
      }
    }
  };
  ctx.ready();
  if (metrics) {
    ctx.every(ctx.options.devMode ? 1_000 : METRICS_MS, async () => {
      ownMetrics(ctx, pending, lastStats);
      await metrics.write(ctx.metrics.snapshot());
    });
  }
  await gather();
  await search();
  ctx.every(statsEvery, gather);
  ctx.every(ctx.options.devMode ? 60_000 : 600_000, search);
  await eachDecoded(requests, bigBrother, ctx.log, async (m) => {
    if (m.msg === "STATBQ") {
      const changed = JSON.stringify(m.data) !== JSON.stringify(pending);
      pending = m.data;
      if (changed && queueNews === undefined) {
        queueNews = setTimeout(() => {
          queueNews = undefined;
          master();
        }, QUEUE_NEWS_MS);
      }
    } else if (m.msg === "HOME") {
      requested.inc();
      const wait = lastGather + HOME_MIN_MS - performance.now();
      if (wait <= 0 && owed === undefined) return await gather();
      // our monitors are told at once that this is our master (MASTER), so that they wait for
      // STATS: those come from one gathering for every request until then
      await master();
      owed ??= setTimeout(() => (owed = undefined, void gather()), Math.max(0, wait));
    } else if (m.msg === "METRICS" && metrics && m.data[0] !== ctx.name) {
      // from the other tasks (ours are added as they are written; a queue reachable from
      // outside could name any number of tasks, and any family, ours among them)
      if (metrics.latest.has(m.data[0]) || metrics.latest.size < MAX_METRICS_SOURCES) {
        const families = (m.data[1] as Family[]).filter((f) => !OWN_FAMILIES.has(f.name));
        metrics.latest.set(m.data[0], families);
      }
    }
  }, { trusted: isTrustedAddress(ctx.options.statsQueue) });
  clearTimeout(queueNews);
  clearTimeout(owed);
  await Promise.all([oracle.close(), fs.close()]);
});
