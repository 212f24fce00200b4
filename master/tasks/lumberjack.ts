/**
 * The Lumberjack: takes the web server's log records from piw-logger on the log queue (a PULL,
 * default ipc:///tmp/piw-logger) and records them through the Oracle: downloads, searches,
 * project page and JSON hits, other page hits.
 *
 * Records go to the Oracles in batches (LOGBATCH), one database round trip for however many
 * arrived together: up to {@linkcode IN_FLIGHT} batches are in the Oracles' hands at once, and
 * what arrives meanwhile waits for the next one. A record that finds a batch free goes at
 * once, alone, so that a quiet site's hits are recorded as they come; a log loaded in bulk
 * fills batches of up to {@linkcode MAX_LOG_BATCH}. While a few batches' worth wait, nothing
 * more is read, and the queue's high-water marks hold piw-logger back.
 *
 * A record is checked when it arrives (what PostgreSQL would refuse, such as a NUL, is kept
 * without it then); should the database still refuse a record for what it holds, the Oracle
 * drops it alone and keeps the others. A batch the database cannot take at all (it is
 * restarting, say) is tried again every {@linkcode RETRY_MS}, and nothing more is read
 * meanwhile.
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import {
  lumberjack,
  MAX_CONNECTIONS,
  MAX_LOG_BATCH,
  MAX_LOG_MESSAGE,
  type WebLogRecord,
} from "../../shared/protocols.ts";
import { Pull } from "../../shared/zmq/mod.ts";
import { OracleClient, OracleError } from "../oracle_client.ts";
import { eachDecoded } from "../../shared/receive.ts";
import { runTask } from "../task.ts";

/** How many batches may wait on the Oracles at once (3 Oracles on PostgreSQL). */
export const IN_FLIGHT = 4;
/** How long a batch the database could not take waits before it is tried again. */
export const RETRY_MS = 1_000;

runTask("lumberjack", async (ctx) => {
  const inbox = ctx.socket(
    // what a connection may have waiting while the database is slow: 1,000 of the largest
    // records, 64 MiB (10,000 made it 640 MiB per connection)
    new Pull({
      receiveHighWaterMark: 1_000,
      maxMessageSize: MAX_LOG_MESSAGE,
      maxConnections: MAX_CONNECTIONS.other,
    }),
  );
  await inbox.bind(ctx.options.logQueue);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const inFlight = new Set<Promise<void>>();
  const waiting: WebLogRecord[] = [];
  let logged = 0;
  let failing = false;
  /** Records a batch, trying again while the database cannot take it. */
  const record = async (batch: WebLogRecord[]): Promise<void> => {
    for (;;) {
      try {
        const refused = await oracle.call("LOGBATCH", batch) as string[];
        for (const why of refused) {
          ctx.log.warning(`dropped a web log record the database refuses: ${why}`);
        }
        logged += batch.length - refused.length;
        if (failing) ctx.log.info("the database takes web log records again");
        failing = false;
        return;
      } catch (e) {
        if (ctx.signal.aborted || !(e instanceof OracleError)) throw e;
        if (!failing) {
          ctx.log.warning(
            `cannot record ${batch.length} web log record(s), trying again: ${errorMessage(e)}`,
          );
        }
        failing = true;
        await ctx.sleep(RETRY_MS);
      }
    }
  };
  const flush = () => {
    while (waiting.length && inFlight.size < IN_FLIGHT) {
      const batch = waiting.splice(0, MAX_LOG_BATCH);
      const p = record(batch).catch((e) => {
        if (ctx.signal.aborted) return;
        ctx.log.warning(`cannot record ${batch.length} web log record(s): ${errorMessage(e)}`);
      }).finally(() => {
        inFlight.delete(p);
        flush();
      });
      inFlight.add(p);
    }
  };
  ctx.ready();
  await eachDecoded(inbox, lumberjack, ctx.log, async (m) => {
    waiting.push([m.msg, m.data] as WebLogRecord);
    flush();
    while (waiting.length >= IN_FLIGHT * MAX_LOG_BATCH) await Promise.race(inFlight);
  });
  while (inFlight.size) await Promise.allSettled(inFlight);
  ctx.log.debug(`recorded ${logged} web log record(s)`);
  await oracle.close();
});
