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
 * A record is checked when it arrives (what PostgreSQL would refuse, such as a NUL, is refused
 * then); should the database still refuse a batch, its halves are tried apart, down to the one
 * record it refuses, so that a bad record is dropped alone and the good ones are kept.
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import {
  lumberjack,
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

runTask("lumberjack", async (ctx) => {
  const inbox = ctx.socket(
    new Pull({ receiveHighWaterMark: 10_000, maxMessageSize: MAX_LOG_MESSAGE }),
  );
  await inbox.bind(ctx.options.logQueue);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const inFlight = new Set<Promise<void>>();
  const waiting: WebLogRecord[] = [];
  let logged = 0;
  /** Records a batch; if the database refuses it, its halves apart, down to the bad record. */
  const record = async (batch: WebLogRecord[]): Promise<void> => {
    try {
      await oracle.call("LOGBATCH", batch);
      logged += batch.length;
    } catch (e) {
      if (ctx.signal.aborted || !(e instanceof OracleError)) throw e;
      if (batch.length === 1) {
        ctx.log.warning(`dropped a web log record the database refuses: ${errorMessage(e)}`);
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await record(batch.slice(0, half));
      await record(batch.slice(half));
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
