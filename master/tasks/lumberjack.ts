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
 * Told to QUIT, it takes no more records (the log queue is unbound), records those it had
 * received, the ones its socket holds included, and then stops: within {@linkcode QUIT_MS},
 * after which what is left is dropped (a flood held by the socket, or a database that cannot
 * take them). It logs how many it recorded, and dropped (a batch the database had not answered
 * by then may still be recorded).
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
import { isZmqError, Pull, ZmqError } from "../../shared/zmq/mod.ts";
import { OracleClient, OracleError } from "../oracle_client.ts";
import { eachDecoded, type Receiver } from "../../shared/receive.ts";
import { sleep } from "../../shared/sleep.ts";
import { runTask } from "../task.ts";

/** How many batches may wait on the Oracles at once (3 Oracles on PostgreSQL). */
export const IN_FLIGHT = 4;
/** How long a batch the database could not take waits before it is tried again. */
export const RETRY_MS = 1_000;
/**
 * How long the records received before QUIT may take to be recorded (the master terminates a
 * task that takes 10 s to stop).
 */
export const QUIT_MS = 5_000;

runTask("lumberjack", async (ctx) => {
  // not the task's socket (closed at once on QUIT): closed once what it holds is taken
  const inbox = new Pull({
    // what a connection may have waiting while the database is slow: 1,000 of the largest
    // records, 64 MiB (10,000 made it 640 MiB per connection)
    receiveHighWaterMark: 1_000,
    maxMessageSize: MAX_LOG_MESSAGE,
    maxConnections: MAX_CONNECTIONS.other,
  });
  try {
    await inbox.bind(ctx.options.logQueue);
  } catch (e) {
    await inbox.close();
    throw e;
  }
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  /** The batches in the Oracles' hands, and their sizes. */
  const inFlight = new Map<Promise<void>, number>();
  const waiting: WebLogRecord[] = [];
  let logged = 0;
  /** How many records received before QUIT were not recorded in time (and not sent). */
  let dropped = 0;
  let failing = false;
  /** Aborted {@linkcode QUIT_MS} after QUIT: what is not recorded by then is dropped. */
  const late = new AbortController();
  const tooLate = new Promise<void>((resolve) => {
    late.signal.addEventListener("abort", () => resolve(), { once: true });
  });
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
        if (late.signal.aborted || !(e instanceof OracleError)) throw e;
        if (!failing) {
          ctx.log.warning(
            `cannot record ${batch.length} web log record(s), trying again: ${errorMessage(e)}`,
          );
        }
        failing = true;
        await sleep(RETRY_MS, ctx.signal.aborted ? late.signal : ctx.signal);
        if (late.signal.aborted) throw e;
      }
    }
  };
  const flush = () => {
    while (waiting.length && inFlight.size < IN_FLIGHT && !late.signal.aborted) {
      const batch = waiting.splice(0, MAX_LOG_BATCH);
      const p = record(batch).catch((e) => {
        if (late.signal.aborted) {
          dropped += batch.length;
          return;
        }
        ctx.log.warning(`cannot record ${batch.length} web log record(s): ${errorMessage(e)}`);
      }).finally(() => {
        inFlight.delete(p);
        flush();
      });
      inFlight.set(p, batch.length);
    }
  };
  /** Whether the loop waits for a record: the socket holds none. */
  let idle = false;
  const records: Receiver = {
    async receive() {
      idle = true;
      try {
        return await inbox.receive();
      } catch (e) {
        // told to QUIT (see below), the socket has given all it held
        if (!isZmqError(e, "EAGAIN")) throw e;
        throw new ZmqError("ETERM", "every web log record received is taken");
      } finally {
        idle = false;
      }
    },
  };
  /** At QUIT, how many had been recorded. */
  let before = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const quit = async () => {
    before = logged;
    timer = setTimeout(() => late.abort(), QUIT_MS);
    // no more come in; what the socket holds stays to be read
    await inbox.unbind(ctx.options.logQueue).catch(() => {});
    if (idle) await inbox.close(); // it holds nothing: the wait for a record ends
    else inbox.options.receiveTimeout = 0; // the loop ends once it has taken every record
  };
  if (ctx.signal.aborted) void quit();
  else ctx.signal.addEventListener("abort", () => void quit(), { once: true });
  ctx.ready();
  try {
    await eachDecoded(records, lumberjack, ctx.log, async (m) => {
      if (late.signal.aborted) {
        dropped++;
        return;
      }
      waiting.push([m.msg, m.data] as WebLogRecord);
      flush();
      while (waiting.length >= IN_FLIGHT * MAX_LOG_BATCH && !late.signal.aborted) {
        await Promise.race([...inFlight.keys(), tooLate]);
      }
    });
    while (inFlight.size && !late.signal.aborted) {
      await Promise.race([Promise.allSettled(inFlight.keys()), tooLate]);
    }
  } finally {
    clearTimeout(timer);
    await inbox.close();
  }
  dropped += waiting.length;
  let unanswered = 0;
  for (const size of inFlight.values()) unanswered += size;
  ctx.log.info(`recorded ${logged - before} web log record(s) received before QUIT`);
  if (dropped + unanswered > 0) {
    ctx.log.warning(
      `not recorded within ${QUIT_MS / 1000} s of QUIT: dropped ${dropped} web log record(s)` +
        (unanswered ? `, and ${unanswered} went unanswered by the database` : ""),
    );
  }
  await oracle.close();
});
