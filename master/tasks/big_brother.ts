/**
 * Big Brother (manual 11.3.8): gathers the farm's statistics (the database's via the Oracle,
 * the output file system's via the File Juggler) every minute (10 s in development mode) and
 * on request (HOME on the stats queue), publishes them to the monitors (STATS) and has the home
 * page rewritten with them. The search index is rewritten every ten minutes.
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import {
  bigBrother,
  encodeMessage,
  fileJugglerFs,
  monitorStats,
  reverse,
  type StatsMessage,
  theScribe,
} from "../../shared/protocols.ts";
import { Pull, Push } from "../../shared/zmq/mod.ts";
import { OracleClient } from "../oracle_client.ts";
import { RpcClient } from "../rpc.ts";
import { eachDecoded, isClosed } from "../../shared/receive.ts";
import { INTERNAL_STATUS, runTask } from "../task.ts";

const toWeb = reverse(theScribe);

runTask(async (ctx) => {
  const requests = ctx.socket(new Pull());
  await requests.bind(ctx.options.statsQueue);
  const web = ctx.socket(new Push({ linger: 1000, sendTimeout: 5000 }));
  web.connect(ctx.options.webQueue);
  const status = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  status.connect(INTERNAL_STATUS);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const fs = new RpcClient(ctx.options.fsQueue, fileJugglerFs, ctx.log);
  let pending: Record<string, number> = {};

  const gather = async () => {
    try {
      const db = await oracle.statistics();
      const disk = await fs.call("STATFS");
      const [size, free] = disk.msg === "OK" ? disk.data as [number, number] : [0, 0];
      const stats: StatsMessage = { ...db, disk_size: size, disk_free: free };
      if (Object.keys(pending).length) Object.assign(stats, { builds_pending_abi: pending });
      await status.send(encodeMessage(monitorStats, "STATS", stats)).catch(() => {});
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
  ctx.every(ctx.options.devMode ? 10_000 : 60_000, gather);
  ctx.every(ctx.options.devMode ? 60_000 : 600_000, search);
  await eachDecoded(requests, bigBrother, ctx.log, async (m) => {
    if (m.msg === "STATBQ") pending = m.data;
    else if (m.msg === "HOME") await gather();
  });
  await Promise.all([oracle.close(), fs.close()]);
});
