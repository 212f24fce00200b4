/**
 * Mr. Chase (manual 11.3.6 and 11.5.2–11.5.4): serves piw-import, piw-remove and piw-rebuild on
 * the import queue (a ROUTER, default ipc:///tmp/piw-import).
 *
 * IMPORT registers a build made elsewhere: its files come over the file queue as slave 0 (one
 * import at a time), each verified, and the build is logged once all arrived. REMOVE forgets a
 * version's builds, files and logged downloads (and may skip it from now on). REBUILD asks for
 * pages to be written again. Anything wrong is answered ERROR with the reason.
 *
 * @module
 */

import { encodeHex } from "../../shared/hash.ts";
import { errorMessage } from "../../shared/log.ts";
import {
  architectControl,
  bigBrother,
  encodeMessage,
  fileJugglerFs,
  IMPORTER_ID,
  type Message,
  mrChase,
  reverse,
  theScribe,
  verifiedFile,
} from "../../shared/protocols.ts";
import { BuildState, FileState } from "../../shared/states.ts";
import { Push, Router } from "../../shared/zmq/mod.ts";
import { OracleClient } from "../oracle_client.ts";
import { type Reply, RpcClient, serveRequests } from "../rpc.ts";
import { ARCHITECT_CONTROL, runTask } from "../task.ts";

/** An import whose client went quiet this long is abandoned. */
const IMPORT_IDLE_MS = 300_000;
/** How many times a file that fails to verify is asked for again before the import fails. */
const MAX_ATTEMPTS = 3;

const toWeb = reverse(theScribe);
const toStats = reverse(bigBrother);
const toArchitect = reverse(architectControl);

type ChaseReply = Reply<typeof mrChase.send>;
type ChaseRequest = Message<typeof mrChase.recv>;

interface Import {
  client: string;
  build: BuildState;
  attempts: number;
  lastSeen: number;
}

runTask(async (ctx) => {
  const router = ctx.socket(new Router({ linger: 1000, maxMessageSize: 64 * 1024 * 1024 }));
  await router.bind(ctx.options.importQueue);
  const web = ctx.socket(new Push({ linger: 1000, sendTimeout: 5000 }));
  web.connect(ctx.options.webQueue);
  const stats = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  stats.connect(ctx.options.statsQueue);
  const architect = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  architect.connect(ARCHITECT_CONTROL);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const fs = new RpcClient(ctx.options.fsQueue, fileJugglerFs, ctx.log);
  let current: Import | null = null;

  const sendFile = async (imp: Import): Promise<ChaseReply> => {
    const file = imp.build.files.get(imp.build.nextFile!)!;
    const reply = await fs.call("EXPECT", [IMPORTER_ID, file.asMessage()]);
    if (reply.msg === "ERROR") {
      current = null;
      return ["ERROR", reply.data];
    }
    return ["SEND", file.filename];
  };

  const importBuild = async (
    client: string,
    data: Extract<ChaseRequest, { msg: "IMPORT" }>["data"],
  ): Promise<ChaseReply> => {
    if (current && current.client !== client && Date.now() - current.lastSeen < IMPORT_IDLE_MS) {
      return ["ERROR", "another import is in progress; try again when it has finished"];
    }
    current = null;
    const [abi, pkg, version, status, duration, output, files] = data;
    if (!status) return ["ERROR", "importing a failed build is not supported"];
    if (files.length === 0) return ["ERROR", "no files listed"];
    if (!await oracle.packageExists(pkg)) return ["ERROR", `unknown package ${pkg}`];
    if (!await oracle.versionExists(pkg, version)) {
      return ["ERROR", `unknown version ${version} of ${pkg}`];
    }
    let abiTag = abi;
    if (abiTag === null) {
      const abis = [...await oracle.buildAbis()].sort();
      if (abis.length === 0) return ["ERROR", "no build ABI is configured, so give one (--abi)"];
      abiTag = abis[0]!;
    }
    const build = new BuildState(
      IMPORTER_ID,
      pkg,
      version,
      abiTag,
      true,
      duration,
      output,
      files.map((f) => FileState.fromMessage(f)),
    );
    current = { client, build, attempts: 0, lastSeen: Date.now() };
    ctx.log.info(`importing ${pkg} ${version} for ${abiTag}: ${files.length} file(s)`);
    return await sendFile(current);
  };

  const sent = async (client: string): Promise<ChaseReply> => {
    const imp = current;
    if (!imp || imp.client !== client) return ["ERROR", "SENT, but no import is in progress"];
    imp.lastSeen = Date.now();
    const build = imp.build;
    const file = build.files.get(build.nextFile!)!;
    const reply = await fs.call("VERIFY", [IMPORTER_ID, build.package_]);
    if (reply.msg === "ERROR") {
      if (++imp.attempts >= MAX_ATTEMPTS) {
        current = null;
        return ["ERROR", `${reply.data} (${MAX_ATTEMPTS} attempts)`];
      }
      return await sendFile(imp);
    }
    file.verified(verifiedFile.parse(reply.data));
    imp.attempts = 0;
    if (!build.transfersDone) return await sendFile(imp);
    current = null;
    const buildId = await oracle.logBuild(build);
    build.logged(buildId);
    await web.send(encodeMessage(toWeb, "LOG", [buildId, build.output]));
    await web.send(encodeMessage(toWeb, "PKGBOTH", build.package_));
    await architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
    ctx.log.info(`imported ${build.package_} ${build.version} as build ${buildId}`);
    return ["DONE"];
  };

  const remove = async (pkg: string, version: string, skip: string): Promise<ChaseReply> => {
    if (!await oracle.versionExists(pkg, version)) {
      return ["ERROR", `unknown version ${version} of ${pkg}`];
    }
    const files = await oracle.deleteBuilds(pkg, version);
    for (const filename of files) {
      const reply = await fs.call("REMOVE", [pkg, filename]);
      if (reply.msg === "ERROR") ctx.log.warning(`cannot remove ${filename}: ${reply.data}`);
    }
    if (skip) await oracle.skipVersion(pkg, version, skip);
    await web.send(encodeMessage(toWeb, "DELVER", [pkg, version]));
    await architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
    ctx.log.info(
      `removed ${pkg} ${version} (${files.length} file(s))${skip ? `, skipped: ${skip}` : ""}`,
    );
    return ["DONE"];
  };

  const rebuild = async (part: string, pkg: string | null | undefined): Promise<ChaseReply> => {
    switch (part) {
      case "HOME":
        await stats.send(encodeMessage(toStats, "HOME"));
        return ["DONE"];
      case "SEARCH": {
        const counts = Object.fromEntries(await oracle.searchIndex());
        await web.send(encodeMessage(toWeb, "SEARCH", counts));
        return ["DONE"];
      }
    }
    const what = part as "PKGPROJ" | "PKGBOTH";
    if (pkg) {
      if (!await oracle.packageExists(pkg)) return ["ERROR", `unknown package ${pkg}`];
      await web.send(encodeMessage(toWeb, what, pkg));
    } else {
      const all = await oracle.allPackages();
      ctx.log.info(
        `rewriting the ${what === "PKGBOTH" ? "pages" : "project pages"} of ${all.size} packages`,
      );
      for (const name of all) await web.send(encodeMessage(toWeb, what, name));
    }
    return ["DONE"];
  };

  ctx.ready();
  const serving = serveRequests(router, mrChase, {
    log: ctx.log,
    concurrent: false,
    handle: async (r, envelope): Promise<ChaseReply> => {
      const client = encodeHex(envelope[0] ?? new Uint8Array(0));
      switch (r.msg) {
        case "IMPORT":
          return await importBuild(client, r.data);
        case "SENT":
          return await sent(client);
        case "REMOVE":
          return await remove(...r.data);
        case "REBUILD":
          return await rebuild(r.data[0], r.data[1]);
      }
    },
    onError: (e) => ["ERROR", errorMessage(e)],
  });
  await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
  await router.close();
  await serving;
  await Promise.all([oracle.close(), fs.close()]);
});
