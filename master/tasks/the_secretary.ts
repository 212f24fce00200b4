/**
 * The Secretary (manual 11.3.10): sits in front of the Scribe on the web queue and merges the
 * bursts of requests to rewrite one package's pages (a build with several files, a release
 * with several events) into one, waiting {@linkcode MERGE_MS} after the first. A request for
 * both pages covers one for the project page alone, and a version's removal (DELVER) is one for
 * both. Everything else passes straight through.
 * Rewrites still pending when the master stops are owed through the Oracle (`rewrites_pending`,
 * where each change to what a package's pages show owes one in its own transaction), and
 * everything owed is asked for at start, and again once owed for {@linkcode OVERDUE_MS} (a
 * rewrite lost on the way: a queue full, the Scribe unable to read the database).
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import {
  encodeMessage,
  isTrustedAddress,
  reverse,
  type RewritePending,
  theScribe,
} from "../../shared/protocols.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { Pull, Push } from "../../shared/zmq/mod.ts";
import { OracleClient } from "../oracle_client.ts";
import { eachDecoded, isClosed } from "../../shared/receive.ts";
import { runTask, SCRIBE_QUEUE } from "../task.ts";
import { OVERDUE_MS } from "./the_scribe.ts";

/** How long requests for one package are gathered before the Scribe is asked. */
export const MERGE_MS = 300;

const toScribe = reverse(theScribe);

runTask("the_secretary", async (ctx) => {
  const inbox = ctx.socket(new Pull());
  await inbox.bind(ctx.options.webQueue);
  const scribe = ctx.socket(new Push({ linger: 0 }));
  scribe.connect(SCRIBE_QUEUE);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  // in insertion order, which is due order: each is due MERGE_MS after it was added
  const pending = new Map<string, { part: "PKGBOTH" | "PKGPROJ"; since: Timestamp; due: number }>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let flushing = false;
  const waiting = ctx.metrics.gauge(
    "piwheels_page_rewrites_pending",
    "Projects whose pages wait to be rewritten (merged for a moment, then handed to the Scribe)",
  );
  ctx.metrics.onCollect(() => waiting.set(pending.size));

  const flush = async () => {
    timer = undefined;
    flushing = true;
    try {
      for (const [pkg, p] of pending) {
        if (p.due > Date.now()) break;
        pending.delete(pkg);
        await scribe.send(encodeMessage(toScribe, p.part, pkg));
      }
    } finally {
      flushing = false;
    }
    schedule();
  };
  const schedule = () => {
    if (timer !== undefined || flushing || pending.size === 0 || ctx.signal.aborted) return;
    const [first] = pending.values();
    timer = setTimeout(() =>
      flush().catch((e) => {
        if (!isClosed(e)) ctx.log.error(`cannot hand pages to the scribe: ${errorMessage(e)}`);
      }), Math.max(0, first!.due - Date.now()));
  };
  const buffer = (pkg: string, part: "PKGBOTH" | "PKGPROJ", since = Timestamp.now()) => {
    const p = pending.get(pkg);
    if (p) {
      if (part === "PKGBOTH") p.part = "PKGBOTH";
    } else {
      pending.set(pkg, { part, since, due: Date.now() + MERGE_MS });
    }
    schedule();
  };

  try {
    const owed = await oracle.loadRewritesPending();
    for (const [pkg, since, part] of owed) buffer(pkg, part, since);
    if (owed.length > 0) ctx.log.info(`${owed.length} page rewrite(s) owed: writing them`);
  } catch (e) {
    ctx.log.warning(`cannot load the page rewrites owed: ${errorMessage(e)}`);
  }
  ctx.every(ctx.options.devMode ? 5_000 : OVERDUE_MS, async () => {
    let missed = 0;
    for (const [pkg, since, part] of await oracle.loadRewritesPending()) {
      if (Date.now() - since.toEpochSeconds() * 1000 < OVERDUE_MS || pending.has(pkg)) continue;
      buffer(pkg, part, since);
      missed++;
    }
    if (missed > 0) ctx.log.warning(`${missed} page rewrite(s) owed for over a minute: again`);
  });
  ctx.ready();
  await eachDecoded(inbox, theScribe, ctx.log, async (m, frame) => {
    if (m.msg === "PKGBOTH" || m.msg === "PKGPROJ") return buffer(m.data, m.msg);
    // a version gone: its package's pages, merged like any other rewrite of them
    if (m.msg === "DELVER") return buffer(m.data[0], "PKGBOTH");
    if (m.msg === "DELPKG") pending.delete(m.data);
    await scribe.send(frame).catch((e) => {
      if (!isClosed(e)) throw e;
    });
  }, { trusted: isTrustedAddress(ctx.options.webQueue) });
  clearTimeout(timer);
  if (pending.size) {
    const saved: RewritePending[] = [...pending].map(([pkg, p]) => [pkg, p.since, p.part]);
    try {
      await oracle.saveRewritesPending(saved);
      ctx.log.info(`saved ${saved.length} pending page rewrite(s) for the next start`);
    } catch (e) {
      // those of changes in the database are owed there already
      ctx.log.error(`cannot save ${saved.length} pending rewrite(s): ${errorMessage(e)}`);
    }
  }
  await oracle.close();
});
