/**
 * Cloud Gazer (manual 11.3.1): follows PyPI's event log from the serial the database last
 * recorded and writes what it learns through the Oracle: new packages, new versions (building
 * those with a source distribution, skipping binary-only ones until a source appears), removals
 * and yanks. Changed packages get their pages rewritten; new versions wake the Architect at once.
 * It polls every 10 s (2 s in development mode), not while the master is paused.
 *
 * A project is one project whatever spelling of its name an event uses (PEP 503): each spelling
 * is recorded as seen at the event's time, and the pages of the project are rewritten.
 *
 * For each new release it then asks PyPI's JSON API, or its PEP 691 simple API
 * (`--release-data`), what PyPI says of it (`master/release_data.ts`): the project's
 * description, the release's Requires-Python (pages give it for wheels that carry none) and
 * whether it is yanked. These lookups are bounded: at most {@linkcode MAX_LOOKUPS} waiting (the
 * newest kept: catching up with PyPI's whole log looks up only the latest releases), each request
 * limited in time (10 s, 2 s in development mode) and size, and each poll stops looking up after {@linkcode LOOKUP_BUDGET_MS},
 * so that a slow or hostile answer never holds up the changelog.
 *
 * It also refreshes every project's popularity (its downloads in the last month), which orders
 * the build queue, at start and every hour.
 *
 * @module
 */

import { errorMessage, ThrottledWarning } from "../../shared/log.ts";
import { normalizeName as key } from "../../shared/wheel.ts";
import {
  architectControl,
  encodeMessage,
  fileJugglerFs,
  ProtocolError,
  reverse,
  theScribe,
  unbuildable,
} from "../../shared/protocols.ts";
import { Push } from "../../shared/zmq/mod.ts";
import { OracleClient, OracleError, REWRITE_WAIT_MS } from "../oracle_client.ts";
import type { MasterOptions } from "../options.ts";
import { type ChangeFeed, type PyPIEvent, XmlRpcChangeFeed } from "../pypi.ts";
import {
  FETCH_TIMEOUT_MS,
  JsonApiSource,
  type ReleaseDataSource,
  SimpleApiSource,
} from "../release_data.ts";
import { RpcClient } from "../rpc.ts";
import { ARCHITECT_CONTROL, runTask, type TaskContext } from "../task.ts";

/** The skip reason of a release that has no source distribution (yet). */
export const BINARY_ONLY = "binary only";

/** The most releases waiting to be looked up; the oldest are dropped beyond it. */
export const MAX_LOOKUPS = 1000;
/** How long one poll may spend looking releases up. */
export const LOOKUP_BUDGET_MS = 15_000;
/** How often every project's popularity is recomputed. */
const POPULARITY_EVERY_MS = 3_600_000;

/** The release data source the options name, if any. */
function releaseDataSource(options: MasterOptions): ReleaseDataSource | null {
  const timeout = options.devMode ? 2_000 : FETCH_TIMEOUT_MS;
  switch (options.releaseData) {
    case "json":
      return new JsonApiSource(options.pypiJson, timeout);
    case "simple":
      return new SimpleApiSource(options.pypiSimple, timeout);
    case "none":
      return null;
  }
}

const toWeb = reverse(theScribe);
const toArchitect = reverse(architectControl);

/** How often rows past PyPI's last serial are warned of (they come again in every poll). */
const AHEAD_WARNING_MS = 10 * 60_000;

class Gazer {
  /** Releases to look up, `[spelling, version]` by `package version`, oldest first. */
  readonly lookups = new Map<string, [string, string]>();
  /**
   * The files of releases removed, by package, to remove once no page lists them: each with the
   * newest build's id when its release went (a build logged since, of the release added again,
   * keeps the file it put at the name).
   */
  readonly removals = new Map<string, [string, number][]>();
  /** Rows past PyPI's last serial come again in every batch until PyPI catches up with them. */
  readonly ahead: ThrottledWarning;

  constructor(
    readonly ctx: TaskContext,
    readonly feed: ChangeFeed,
    readonly oracle: OracleClient,
    readonly fs: RpcClient<typeof fileJugglerFs.recv, typeof fileJugglerFs.send>,
    readonly web: Push,
    readonly architect: Push,
    readonly releaseData: ReleaseDataSource | null,
  ) {
    this.ahead = new ThrottledWarning(ctx.log, AHEAD_WARNING_MS);
  }

  /** Queues a release to be looked up (the newest wins a place when the queue is full). */
  lookUp(pkg: string, version: string): void {
    if (!this.releaseData) return;
    const id = `${key(pkg)} ${version}`;
    this.lookups.delete(id);
    this.lookups.set(id, [pkg, version]);
    for (const old of this.lookups.keys()) {
      if (this.lookups.size <= MAX_LOOKUPS) break;
      this.lookups.delete(old);
    }
  }

  /** Looks releases up, newest first, until none is left or the time is up. */
  async lookUpReleases(): Promise<void> {
    const until = performance.now() + LOOKUP_BUDGET_MS;
    let looked = 0;
    while (this.releaseData && this.lookups.size && performance.now() < until) {
      if (this.ctx.signal.aborted || this.ctx.paused) return;
      const id = [...this.lookups.keys()].at(-1)!;
      const [pkg, version] = this.lookups.get(id)!;
      this.lookups.delete(id);
      looked++;
      try {
        const data = await this.releaseData.lookup(pkg, version);
        if (!data) {
          this.ctx.log.debug(`PyPI says nothing of ${pkg} ${version}`);
          continue;
        }
        if (await this.oracle.releaseData(pkg, version, data)) {
          await this.web.send(encodeMessage(toWeb, "PKGBOTH", key(pkg)));
        }
      } catch (e) {
        this.ctx.log.warning(`cannot look up ${pkg} ${version}: ${errorMessage(e)}`);
      }
    }
    if (looked) this.ctx.log.debug(`looked up ${looked} release(s); ${this.lookups.size} wait`);
  }

  /** Recomputes every project's popularity; the queue is read again if one changed. */
  async refreshPopularity(): Promise<void> {
    const changed = await this.oracle.refreshPopularity();
    this.ctx.log.debug(`popularity changed for ${changed} project(s)`);
    if (changed) await this.architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
  }

  /**
   * Removes the files of the releases removed in this batch, once no page lists them (or after
   * {@linkcode REWRITE_WAIT_MS}, or at once when stopping): pip reading an index just before
   * got a 404 for each, for as long as the Scribe took to rewrite it.
   */
  async settleRemovals(): Promise<void> {
    if (this.removals.size === 0) return;
    const packages = [...this.removals.keys()];
    const signal = this.ctx.signal;
    if (!signal.aborted && !await this.oracle.untilRewritten(packages, REWRITE_WAIT_MS, signal)) {
      this.ctx.log.warning(
        `the pages of ${packages.length} project(s) are not rewritten after ` +
          `${REWRITE_WAIT_MS / 1000} s: removing the files of their removed releases all the same`,
      );
    }
    for (const [pkg, files] of [...this.removals]) {
      for (const [f, by] of files) await this.fs.call("REMOVE", [pkg, f, by]);
      this.removals.delete(pkg);
    }
  }

  /** Applies one event; returns whether the build queue may have changed. */
  async apply(e: PyPIEvent): Promise<boolean> {
    const { package: pkg, version } = e;
    // what is kept and built must be sendable; a removal or yank finds what is there, whatever
    const keeps = e.kind === "create" || e.kind === "source" || e.kind === "binary";
    const why = keeps ? unbuildable(pkg, version) : null;
    if (why) {
      const what = `${JSON.stringify(pkg)}${version === null ? "" : ` ${JSON.stringify(version)}`}`;
      this.ctx.log.warning(`ignored PyPI's ${e.kind} of ${what.slice(0, 300)}: ${why}`);
      return false;
    }
    switch (e.kind) {
      case "create":
        if (await this.oracle.newPackage(pkg, "", "", e.timestamp)) {
          await this.web.send(encodeMessage(toWeb, "PKGBOTH", key(pkg)));
        }
        return false;
      case "source":
      case "binary": {
        if (!version) return false;
        await this.oracle.newPackage(pkg, "", "", e.timestamp);
        const skip = e.kind === "source" ? "" : BINARY_ONLY;
        const added = await this.oracle.newVersion(pkg, version, e.timestamp, skip);
        if (
          !added && e.kind === "source" &&
          await this.oracle.versionSkip(pkg, version) === BINARY_ONLY
        ) {
          await this.oracle.skipVersion(pkg, version, "");
        } else if (!added) {
          return false;
        }
        this.lookUp(pkg, version);
        await this.web.send(encodeMessage(toWeb, "PKGBOTH", key(pkg)));
        return e.kind === "source";
      }
      case "remove-version": {
        if (!version || !await this.oracle.versionExists(pkg, version)) return false;
        const by = await this.oracle.maxBuildId();
        const files = await this.oracle.deleteVersion(pkg, version);
        await this.web.send(encodeMessage(toWeb, "DELVER", [key(pkg), version]));
        if (files.length) {
          const owed = this.removals.get(key(pkg)) ?? [];
          this.removals.set(key(pkg), [...owed, ...files.map((f): [string, number] => [f, by])]);
        }
        return true;
      }
      case "remove-package": {
        if (!await this.oracle.packageExists(pkg)) return false;
        const names = await this.oracle.packageNames(pkg);
        // its files go with its directory, after its index pages (the Scribe's DELPKG)
        await this.oracle.deletePackage(pkg);
        this.removals.delete(key(pkg));
        for (const name of names) await this.web.send(encodeMessage(toWeb, "DELPKG", name));
        return true;
      }
      case "yank":
      case "unyank":
        if (!version || !await this.oracle.versionExists(pkg, version)) return false;
        await this.oracle.yankVersion(pkg, version, e.kind === "yank");
        await this.web.send(encodeMessage(toWeb, "PKGBOTH", key(pkg)));
        return false;
    }
  }

  async poll(): Promise<void> {
    if (this.ctx.paused) return;
    const serial = await this.oracle.pypiSerial();
    this.ctx.log.debug(`asking PyPI for events after ${serial}`);
    const batch = await this.feed.since(serial);
    this.ctx.log.debug(`PyPI returned ${batch.events.length} event(s) up to ${batch.serial}`);
    if (batch.skipped) {
      this.ctx.log.warning(
        `skipped ${batch.skipped} changelog row(s) PyPI sent that cannot be read: ` +
          batch.reasons.join("; "),
      );
    }
    if (batch.ahead) {
      this.ahead.warn((missed) =>
        `left ${batch.ahead} changelog row(s) whose serial is past PyPI's last serial ` +
        `(${missed} such warning(s) not shown)`
      );
    }
    let refresh = false;
    let applied = 0;
    for (const e of batch.events) {
      if (this.ctx.signal.aborted) return await this.settleRemovals();
      try {
        if (await this.apply(e)) refresh = true;
        applied++;
      } catch (err) {
        // the database refused it, or it cannot go on a queue whose messages are checked (an
        // ipc:// one): skipped, or the changelog would stop here for good
        if (!(err instanceof OracleError || err instanceof ProtocolError)) throw err;
        this.ctx.log.warning(
          `PyPI event ${e.kind} ${e.package} ${e.version ?? ""}: ${err.message}`,
        );
      }
      if (refresh && applied % 100 === 0) {
        // past this serial the removals are not applied again: their files go first
        await this.settleRemovals();
        await this.oracle.setPypiSerial(e.serial);
        await this.architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
      }
    }
    await this.settleRemovals();
    if (batch.serial > serial) await this.oracle.setPypiSerial(batch.serial);
    if (refresh) await this.architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
    if (applied) this.ctx.log.info(`applied ${applied} PyPI event(s) up to serial ${batch.serial}`);
    await this.lookUpReleases();
  }
}

runTask("cloud_gazer", async (ctx) => {
  // no send timeout: a poll's events are in the database once applied, so a page request given
  // up (the Scribe busy with a full rewrite) left the pages without them until the next event
  // of the project; waiting only slows following PyPI down
  const web = ctx.socket(new Push({ linger: 1000 }));
  web.connect(ctx.options.webQueue);
  const architect = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  architect.connect(ARCHITECT_CONTROL);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const fs = new RpcClient(ctx.options.fsQueue, fileJugglerFs, ctx.log);
  const gazer = new Gazer(
    ctx,
    new XmlRpcChangeFeed(ctx.options.pypiXmlrpc),
    oracle,
    fs,
    web,
    architect,
    releaseDataSource(ctx.options),
  );
  ctx.ready();
  const popularity = async () => {
    try {
      await gazer.refreshPopularity();
    } catch (e) {
      if (!ctx.signal.aborted) ctx.log.warning(`cannot refresh popularity: ${errorMessage(e)}`);
    }
  };
  await popularity();
  ctx.every(POPULARITY_EVERY_MS, popularity);
  while (!ctx.signal.aborted) {
    try {
      await gazer.poll();
    } catch (e) {
      if (!ctx.signal.aborted) ctx.log.warning(`cannot follow PyPI: ${errorMessage(e)}`);
    }
    await ctx.sleep(ctx.options.devMode ? 2_000 : 10_000);
  }
  await Promise.all([oracle.close(), fs.close()]);
});
