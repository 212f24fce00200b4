/**
 * The Architect (manual 11.3.4): keeps the Slave Driver's build queue current. It asks the
 * Oracle for each ABI's pending builds (GETQUEUE) when it starts, whenever a task says the
 * queue changed (REFRESH on its control queue: a new release, a logged build, a removal), and
 * every minute regardless, and pushes the result (QUEUE) to the Slave Driver (which keeps it
 * current between times, and tells Big Brother its sizes).
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import {
  architectControl,
  encodeNamedMessage,
  isTrustedAddress,
  theArchitect,
} from "../../shared/protocols.ts";
import { Pull, Push } from "../../shared/zmq/mod.ts";
import { OracleClient } from "../oracle_client.ts";
import { eachDecoded, isClosed } from "../../shared/receive.ts";
import { ARCHITECT_CONTROL, runTask } from "../task.ts";

/** How long REFRESH requests are gathered before the queue is read again. */
const REFRESH_DELAY_MS = 50;

runTask("the_architect", async (ctx) => {
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const builds = ctx.socket(new Push({ linger: 0 }));
  await builds.bind(ctx.options.buildsQueue);
  const trusted = isTrustedAddress(ctx.options.buildsQueue);
  const refresh = ctx.socket(new Pull());
  await refresh.bind(ARCHITECT_CONTROL);
  ctx.ready();

  let scheduled: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let again = false;
  const update = async () => {
    scheduled = undefined;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const queue = await oracle.buildQueue();
      const data = Object.fromEntries(queue);
      await builds.send(encodeNamedMessage(theArchitect, "QUEUE", data, { trusted }));
      ctx.log.debug(`queue: ${[...queue].map(([abi, q]) => `${abi} ${q.length}`).join(", ")}`);
    } catch (e) {
      if (!ctx.signal.aborted && !isClosed(e)) {
        ctx.log.warning(`cannot read the build queue: ${errorMessage(e)}`);
      }
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = () => {
    if (scheduled === undefined && !ctx.signal.aborted) {
      scheduled = setTimeout(update, REFRESH_DELAY_MS);
    }
  };
  schedule();
  ctx.every(ctx.options.devMode ? 10_000 : 60_000, schedule);
  await eachDecoded(refresh, architectControl, ctx.log, (m) => {
    if (m.msg === "REFRESH") schedule();
  }, { trusted: true });
  clearTimeout(scheduled);
  await oracle.close();
});
