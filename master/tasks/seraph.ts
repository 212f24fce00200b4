/**
 * Seraph: the load balancer in front of the oracles (manual 11.3.3). Requests arrive on the
 * database queue (a ROUTER, default inproc://db); each goes to an oracle that is free (the
 * oracles announce themselves with READY on the oracles' ROUTER), and the reply goes back to
 * whoever asked. Requests wait in order while every oracle is busy.
 *
 * Of the free oracles, the one that answered last takes the next request: one after another,
 * requests keep to one database session, whose caches and plans are warm (each session plans a
 * function's statements afresh on its first calls: a fresh master's first LOGBUILDs took 10 ms
 * each when every one went to another oracle, later ones 4).
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import { Router } from "../../shared/zmq/mod.ts";
import { eachMessage, isClosed } from "../../shared/receive.ts";
import { ORACLES, runTask } from "../task.ts";

const READY = "READY";

runTask("seraph", async (ctx) => {
  const front = ctx.socket(new Router({ linger: 0 }));
  const back = ctx.socket(new Router({ linger: 0 }));
  await front.bind(ctx.options.dbQueue);
  await back.bind(ORACLES);
  const free: Uint8Array[] = [];
  const waiting: Uint8Array[][] = [];
  const dispatch = async () => {
    while (free.length && waiting.length) {
      await back.send([free.pop()!, ...waiting.shift()!]);
    }
  };
  ctx.ready();
  const fromOracles = eachMessage(back, async ([oracle, ...rest]) => {
    if (!oracle) return;
    if (rest.length === 1 && new TextDecoder().decode(rest[0]) === READY) {
      ctx.log.debug("an oracle is ready");
    } else if (rest.length >= 3) {
      await front.send(rest).catch((e) => {
        if (!isClosed(e)) ctx.log.warning(`cannot return a reply: ${errorMessage(e)}`);
      });
    } else {
      return ctx.log.warning("dropped a malformed message from an oracle");
    }
    free.push(oracle);
    await dispatch();
  });
  const fromClients = eachMessage(front, async (frames) => {
    if (frames.length < 3) return ctx.log.warning("dropped a request without an envelope");
    waiting.push(frames);
    await dispatch();
  });
  await Promise.all([fromOracles, fromClients]);
});
