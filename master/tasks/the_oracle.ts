/**
 * The Oracle: the master's interface to the database (manual 11.3.2). Several run behind
 * Seraph, each with its own connection; each announces itself with READY and then answers one
 * request at a time with OK and the result, or ERROR and what went wrong.
 *
 * @module
 */

import type { CborValue } from "../../shared/cbor.ts";
import { errorMessage } from "../../shared/log.ts";
import { isTrustedAddress, type Message, theOracle } from "../../shared/protocols.ts";
import { BuildState } from "../../shared/states.ts";
import { Dealer } from "../../shared/zmq/mod.ts";
import { MasterDb } from "../db.ts";
import { type Reply, serveRequests } from "../rpc.ts";
import { LATENCY_BOUNDS } from "../../shared/metrics.ts";
import { ORACLES, runTask } from "../task.ts";

type Request = Message<typeof theOracle.recv>;

/** Answers one request from the database; the value becomes OK's data. */
async function answer(db: MasterDb, r: Request): Promise<CborValue> {
  switch (r.msg) {
    case "ALLPKGS":
      return await db.allPackages();
    case "ALLVERS":
      return await db.allVersions();
    case "NEWPKG":
      return await db.addPackage(r.data[0], r.data[1], r.data[2], r.data[3] ?? null);
    case "NEWVER":
      return await db.addVersion(r.data[0], r.data[1], r.data[2], r.data[3], r.data[4] ?? null);
    case "PROJDESC":
      return await db.setDescription(...r.data) ?? null;
    case "SKIPPKG":
      return await db.skipPackage(...r.data) ?? null;
    case "SKIPVER":
      return await db.skipVersion(...r.data) ?? null;
    case "DELPKG":
      return await db.deletePackage(r.data);
    case "DELVER":
      return await db.deleteVersion(...r.data);
    case "YANKVER":
    case "UNYANKVER":
      return await db.yankVersion(r.data[0], r.data[1], r.msg === "YANKVER") ?? null;
    case "LOGBATCH":
      return await db.logWebRecords(r.data);
    case "LOGBUILD": {
      const logged = await db.logBuild(BuildState.fromMessage(r.data));
      return [logged.buildId, logged.removed];
    }
    case "FILEVERS":
      return await db.fileVersions(r.data) as unknown as CborValue;
    case "MAXBUILD":
      return await db.maxBuildId();
    case "DELBUILD":
      return await db.deleteBuilds(...r.data);
    case "PKGFILES":
      return await db.packageFiles(r.data);
    case "PROJDATA":
      return await db.projectDataJson(r.data);
    case "VERFILES":
      return await db.versionFiles(...r.data);
    case "GETSKIP":
      return await db.versionSkip(...r.data);
    case "PKGEXISTS":
      return await db.packageExists(r.data);
    case "VEREXISTS":
      return await db.versionExists(...r.data);
    case "GETABIS":
      return await db.buildAbis();
    case "LISTABIS":
      return await db.listBuildAbis();
    case "ADDABI":
      return await db.addBuildAbi(r.data);
    case "DELABI":
      return await db.deleteBuildAbi(r.data);
    case "SKIPABI":
      return await db.skipBuildAbi(...r.data);
    case "GETPYPI":
      return await db.pypiSerial();
    case "SETPYPI":
      return await db.setPypiSerial(r.data) ?? null;
    case "GETSTATS":
      return (await db.statistics()) as unknown as CborValue;
    case "GETSEARCH":
      return await db.searchIndex() as unknown as CborValue;
    case "GETQUEUE":
      return await db.buildQueue() as unknown as CborValue;
    case "HISTORY":
      return await db.history(...r.data) as unknown as CborValue;
    case "FILEDEPS":
      return await db.fileDependencies(r.data);
    case "SAVERWP":
      return await db.saveRewritesPending(r.data) ?? null;
    case "LOADRWP":
      return await db.loadRewritesPending();
    case "RWPDONE":
      return await db.rewritesDone(r.data) ?? null;
    case "RWPOWED":
      return await db.rewritesOwed(r.data);
    case "PKGALIAS":
      return await db.addAlias(...r.data) ?? null;
    case "PKGNAMES":
      return await db.packageNames(r.data);
    case "SETPRIO":
      return await db.setPriority(...r.data) ?? null;
    case "RELDATA": {
      const [description, requiresPython, yanked] = r.data[2];
      return await db.releaseData(r.data[0], r.data[1], { description, requiresPython, yanked });
    }
    case "REFRESHPOP":
      return await db.refreshPopularity();
    case "LISTPKGS":
      return await db.listPackages(...r.data);
    case "LISTBUILDS":
      return await db.listBuilds(...r.data);
    case "PKGSFILES":
      return await db.packagesFiles(r.data) as unknown as CborValue;
    case "GETLOG":
      return await db.buildOutput(r.data);
    case "BUILDIDS":
      return await db.knownBuilds(r.data);
  }
}

runTask("the_oracle", async (ctx) => {
  const db = await MasterDb.open(ctx.options.dsn!);
  try {
    const socket = ctx.socket(new Dealer({ linger: 0 }));
    socket.connect(ORACLES);
    await socket.send("READY");
    ctx.ready();
    const latency = ctx.metrics.histogram(
      "piwheels_db_request_seconds",
      "How long the Oracles took to answer each kind of database request",
      LATENCY_BOUNDS,
    );
    const serving = serveRequests(socket, theOracle, {
      log: ctx.log,
      trusted: isTrustedAddress(ctx.options.dbQueue),
      concurrent: false,
      handle: async (request): Promise<Reply<typeof theOracle.send>> => {
        const start = performance.now();
        const result = await answer(db, request);
        const ms = performance.now() - start;
        latency.observe(ms / 1000, { request: request.msg });
        ctx.log.debug(`${request.msg} took ${ms.toFixed(1)} ms`);
        return ["OK", result];
      },
      onError: (e) => ["ERROR", errorMessage(e)],
    });
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
    await socket.close();
    await serving;
  } finally {
    await db.close();
  }
});
