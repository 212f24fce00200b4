/**
 * Big Brother (manual 11.3.8): gathers the farm's statistics (the database's via the Oracle,
 * the output file system's via the File Juggler) every minute (10 s in development mode) and
 * on request (HOME on the stats queue), publishes them to the monitors (STATS) and has the home
 * page rewritten with them. The search index is rewritten every ten minutes. Our own monitors
 * are also told (MASTER) whether the master is paused, its build queue per ABI and how often
 * STATS comes: with every STATS, at once on PAUSE and RESUME, and when the queue sizes change
 * (at most once a second).
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
import { INTERNAL_STATUS, INTERNAL_STATUS_EXTENDED, runTask } from "../task.ts";

/** MASTER for a changed queue goes out at most this often. */
const QUEUE_NEWS_MS = 1_000;

const toWeb = reverse(theScribe);

runTask(async (ctx) => {
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

  const gather = async () => {
    try {
      const db = await oracle.statistics();
      const disk = await fs.call("STATFS");
      const [size, free] = disk.msg === "OK" ? disk.data as [number, number] : [0, 0];
      const stats: StatsMessage = { ...db, disk_size: size, disk_free: free };
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
    } else if (m.msg === "HOME") await gather();
  }, { trusted: isTrustedAddress(ctx.options.statsQueue) });
  clearTimeout(queueNews);
  await Promise.all([oracle.close(), fs.close()]);
});
