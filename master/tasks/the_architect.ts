/**
 * The Architect (manual 11.3.4): keeps the Slave Driver's build queue current. It asks the
 * Oracle for each ABI's pending builds (GETQUEUE) when it starts, whenever a task says the
 * queue changed (REFRESH on its control queue: a new release, a logged build, a removal), and
 * every minute regardless, and pushes the result (QUEUE) to the Slave Driver (which keeps it
 * current between times, and tells Big Brother its sizes). A pending version that no slave could
 * be sent (kept before Cloud Gazer checked what PyPI says: see `unbuildable`) is left out, and
 * said once.
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import {
  architectControl,
  encodeNamedMessage,
  isTrustedAddress,
  theArchitect,
  unbuildable,
} from "../../shared/protocols.ts";
import { Pull, Push } from "../../shared/zmq/mod.ts";
import { OracleClient } from "../oracle_client.ts";
import { eachDecoded, isClosed } from "../../shared/receive.ts";
import { ARCHITECT_CONTROL, runTask } from "../task.ts";

/** How long REFRESH requests are gathered before the queue is read again. */
const REFRESH_DELAY_MS = 50;
/** At most this many versions left out of the queue are remembered as said already. */
const MAX_SAID = 10_000;

runTask("the_architect", async (ctx) => {
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const builds = ctx.socket(new Push({ linger: 0 }));
  await builds.bind(ctx.options.buildsQueue);
  const trusted = isTrustedAddress(ctx.options.buildsQueue);
  const refresh = ctx.socket(new Pull());
  await refresh.bind(ARCHITECT_CONTROL);
  ctx.ready();

  /** The versions left out of the queue, said once each. */
  const said = new Set<string>();
  const sendable = ([pkg, version]: [string, string]): boolean => {
    const why = unbuildable(pkg, version);
    if (why === null) return true;
    const what = `${JSON.stringify(pkg)} ${JSON.stringify(version)}`.slice(0, 300);
    if (!said.has(what) && said.size < MAX_SAID) {
      said.add(what);
      ctx.log.warning(`left ${what} out of the build queue: ${why}`);
    }
    return false;
  };

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
      for (const [abi, list] of queue) {
        if (!list.every(sendable)) queue.set(abi, list.filter(sendable));
      }
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
