/**
 * The Lumberjack: takes the web server's log records from piw-logger on the log queue (a PULL,
 * default ipc:///tmp/piw-logger) and records them through the Oracle: downloads, searches,
 * project page and JSON hits, other page hits. Up to {@linkcode IN_FLIGHT} records are in the
 * Oracles' hands at once.
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import { lumberjack } from "../../shared/protocols.ts";
import { Pull } from "../../shared/zmq/mod.ts";
import { OracleClient } from "../oracle_client.ts";
import { eachDecoded } from "../receive.ts";
import { runTask } from "../task.ts";

/** How many records may wait on the Oracles at once. */
export const IN_FLIGHT = 32;

runTask(async (ctx) => {
  const inbox = ctx.socket(new Pull({ receiveHighWaterMark: 10_000 }));
  await inbox.bind(ctx.options.logQueue);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const inFlight = new Set<Promise<unknown>>();
  let logged = 0;
  ctx.ready();
  await eachDecoded(inbox, lumberjack, ctx.log, async (m) => {
    // deno-lint-ignore no-explicit-any
    const p = oracle.call(m.msg, m.data as any).then(() => logged++).catch((e) => {
      if (!ctx.signal.aborted) ctx.log.warning(`cannot record ${m.msg}: ${errorMessage(e)}`);
    }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  });
  await Promise.allSettled(inFlight);
  ctx.log.debug(`recorded ${logged} web log record(s)`);
  await oracle.close();
});
