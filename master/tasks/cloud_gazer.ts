/**
 * Cloud Gazer (manual 11.3.1): follows PyPI's event log from the serial the database last
 * recorded and writes what it learns through the Oracle: new packages, new versions (building
 * those with a source distribution, skipping binary-only ones until a source appears), removals
 * and yanks. Changed packages get their pages rewritten; new versions wake the Architect at once.
 * It polls every 10 s (2 s in development mode), not while the master is paused.
 *
 * @module
 */

import { errorMessage } from "../../shared/log.ts";
import {
  architectControl,
  encodeMessage,
  fileJugglerFs,
  reverse,
  theScribe,
} from "../../shared/protocols.ts";
import { Push } from "../../shared/zmq/mod.ts";
import { OracleClient, OracleError } from "../oracle_client.ts";
import { type ChangeFeed, type PyPIEvent, XmlRpcChangeFeed } from "../pypi.ts";
import { RpcClient } from "../rpc.ts";
import { ARCHITECT_CONTROL, runTask, type TaskContext } from "../task.ts";

/** The skip reason of a release that has no source distribution (yet). */
export const BINARY_ONLY = "binary only";

const toWeb = reverse(theScribe);
const toArchitect = reverse(architectControl);

class Gazer {
  constructor(
    readonly ctx: TaskContext,
    readonly feed: ChangeFeed,
    readonly oracle: OracleClient,
    readonly fs: RpcClient<typeof fileJugglerFs.recv, typeof fileJugglerFs.send>,
    readonly web: Push,
    readonly architect: Push,
  ) {}

  async removeFiles(pkg: string, files: string[]): Promise<void> {
    for (const f of files) await this.fs.call("REMOVE", [pkg, f]);
  }

  /** Applies one event; returns whether the build queue may have changed. */
  async apply(e: PyPIEvent): Promise<boolean> {
    const { package: pkg, version } = e;
    switch (e.kind) {
      case "create":
        if (await this.oracle.newPackage(pkg)) {
          await this.web.send(encodeMessage(toWeb, "PKGBOTH", pkg));
        }
        return false;
      case "source":
      case "binary": {
        if (!version) return false;
        await this.oracle.newPackage(pkg);
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
        await this.web.send(encodeMessage(toWeb, "PKGBOTH", pkg));
        return e.kind === "source";
      }
      case "remove-version":
        if (!version || !await this.oracle.versionExists(pkg, version)) return false;
        await this.removeFiles(pkg, await this.oracle.deleteVersion(pkg, version));
        await this.web.send(encodeMessage(toWeb, "DELVER", [pkg, version]));
        return true;
      case "remove-package":
        if (!await this.oracle.packageExists(pkg)) return false;
        await this.removeFiles(pkg, await this.oracle.deletePackage(pkg));
        await this.web.send(encodeMessage(toWeb, "DELPKG", pkg));
        return true;
      case "yank":
      case "unyank":
        if (!version || !await this.oracle.versionExists(pkg, version)) return false;
        await this.oracle.yankVersion(pkg, version, e.kind === "yank");
        await this.web.send(encodeMessage(toWeb, "PKGBOTH", pkg));
        return false;
    }
  }

  async poll(): Promise<void> {
    if (this.ctx.paused) return;
    const serial = await this.oracle.pypiSerial();
    this.ctx.log.debug(`asking PyPI for events after ${serial}`);
    const batch = await this.feed.since(serial);
    this.ctx.log.debug(`PyPI returned ${batch.events.length} event(s) up to ${batch.serial}`);
    let refresh = false;
    let applied = 0;
    for (const e of batch.events) {
      if (this.ctx.signal.aborted) return;
      try {
        if (await this.apply(e)) refresh = true;
        applied++;
      } catch (err) {
        if (!(err instanceof OracleError)) throw err;
        this.ctx.log.warning(
          `PyPI event ${e.kind} ${e.package} ${e.version ?? ""}: ${err.message}`,
        );
      }
      if (refresh && applied % 100 === 0) {
        await this.oracle.setPypiSerial(e.serial);
        await this.architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
      }
    }
    if (batch.serial > serial) await this.oracle.setPypiSerial(batch.serial);
    if (refresh) await this.architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
    if (applied) this.ctx.log.info(`applied ${applied} PyPI event(s) up to serial ${batch.serial}`);
  }
}

runTask("cloud_gazer", async (ctx) => {
  const web = ctx.socket(new Push({ linger: 1000, sendTimeout: 5000 }));
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
  );
  ctx.ready();
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
