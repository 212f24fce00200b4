/**
 * Mr. Chase (manual 11.3.6 and 11.5.2–11.5.4): serves piw-import, piw-remove, piw-rebuild and
 * piw-abi on the import queue (a ROUTER, default ipc:///tmp/piw-import).
 *
 * IMPORT registers a build made elsewhere (in the deployed tools' layout or the manual's): its
 * files are checked as a slave's are (wheels of that project, version and build ABI, none a file
 * of another version), come over the file queue as slave 0 (one import at a time), are verified
 * (their METADATA too), and are published and the build logged once all arrived. REMOVE forgets a
 * version's builds, files and logged downloads (and may skip it from now on). REBUILD asks for
 * pages to be written again. ABI lists, adds, removes or skips build ABIs. Anything wrong is
 * answered ERROR with the reason.
 *
 * @module
 */

import { Duration } from "../../shared/duration.ts";
import { encodeHex } from "../../shared/hash.ts";
import { errorMessage } from "../../shared/log.ts";
import {
  architectControl,
  bigBrother,
  encodeMessage,
  fileJugglerFs,
  IMPORTER_ID,
  type ImportMessage,
  type Message,
  mrChase,
  reverse,
  theScribe,
} from "../../shared/protocols.ts";
import { BuildState, FileState } from "../../shared/states.ts";
import { Push, Router } from "../../shared/zmq/mod.ts";
import { BuildIntake, type Intake, Refused } from "../intake.ts";
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
  intake: Intake;
  attempts: number;
  lastSeen: number;
}

/** IMPORT's data in one shape, whichever layout it came in. */
interface ImportRequest {
  abi: string | null;
  pkg: string;
  version: string;
  status: boolean;
  duration: Duration;
  output: string;
  files: FileState[];
}

/** Reads IMPORT's data: the deployed layout (8 items) or the manual's (7). */
function importRequest(data: ImportMessage): ImportRequest {
  if (data.length === 8) {
    const [, pkg, version, abi, status, duration, output, files] = data;
    return { abi, pkg, version, status, duration, output, files: files.map(FileState.fromMessage) };
  }
  const [abi, pkg, version, status, duration, output, files] = data;
  return { abi, pkg, version, status, duration, output, files: files.map(FileState.fromMessage) };
}

runTask("mr_chase", async (ctx) => {
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
  const intake = new BuildIntake(oracle, fs, web, ctx.log);
  let current: Import | null = null;

  /** Ends the import in progress, dropping what was sent of it. */
  const drop = async (): Promise<void> => {
    if (current) await intake.abort(IMPORTER_ID);
    current = null;
  };

  /** Runs a step of an import: a refusal ends it with ERROR. */
  const step = async (fn: () => Promise<ChaseReply>): Promise<ChaseReply> => {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      ctx.log.warning(`refused an import: ${e.message}`);
      await drop();
      return ["ERROR", e.message];
    }
  };

  const importBuild = (client: string, data: ImportMessage): Promise<ChaseReply> =>
    step(async () => {
      if (current && current.client !== client && Date.now() - current.lastSeen < IMPORT_IDLE_MS) {
        return ["ERROR", "another import is in progress; try again when it has finished"];
      }
      await drop();
      const { abi, pkg, version, status, duration, output, files } = importRequest(data);
      if (!status) return ["ERROR", "importing a failed build is not supported"];
      if (files.length === 0) return ["ERROR", "no files listed"];
      if (!await oracle.packageExists(pkg)) return ["ERROR", `unknown package ${pkg}`];
      if (!await oracle.versionExists(pkg, version)) {
        return ["ERROR", `unknown version ${version} of ${pkg}`];
      }
      const abis = [...await oracle.buildAbis()].sort();
      const abiTag = abi ?? abis[0];
      if (abiTag === undefined) {
        return ["ERROR", "no build ABI is configured (piw-abi add one), so the build has none"];
      }
      if (!abis.includes(abiTag)) {
        return ["ERROR", `${abiTag} is not a build ABI (they are: ${abis.join(", ") || "none"})`];
      }
      const build = new BuildState(
        IMPORTER_ID,
        pkg,
        version,
        abiTag,
        true,
        duration,
        output,
        files,
      );
      current = {
        client,
        intake: await intake.begin(IMPORTER_ID, build),
        attempts: 0,
        lastSeen: Date.now(),
      };
      ctx.log.info(`importing ${pkg} ${version} for ${abiTag}: ${files.length} file(s)`);
      return ["SEND", await intake.expect(current.intake)];
    });

  const sent = (client: string): Promise<ChaseReply> =>
    step(async () => {
      const imp = current;
      if (!imp || imp.client !== client) return ["ERROR", "SENT, but no import is in progress"];
      imp.lastSeen = Date.now();
      const again = await intake.verify(imp.intake);
      if (again !== null) {
        if (++imp.attempts >= MAX_ATTEMPTS) {
          throw new Refused(`${again} (${MAX_ATTEMPTS} attempts)`);
        }
      } else {
        imp.attempts = 0;
      }
      const build = imp.intake.build;
      if (!build.transfersDone) return ["SEND", await intake.expect(imp.intake)];
      current = null;
      const buildId = await intake.publish(imp.intake, build);
      await architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
      ctx.log.info(`imported ${build.package_} ${build.version} as build ${buildId}`);
      return ["DONE"];
    });

  const abi = async (
    request: Extract<ChaseRequest, { msg: "ABI" }>["data"],
  ): Promise<ChaseReply> => {
    const [action, tag] = request;
    if (action === "add" && await oracle.addBuildAbi(tag)) {
      ctx.log.info(`${tag} is a build ABI now`);
    } else if (action === "remove") {
      if (!await oracle.deleteBuildAbi(tag)) return ["ERROR", `${tag} is not a build ABI`];
      ctx.log.info(`${tag} is not a build ABI any more`);
    } else if (action === "skip") {
      if (!await oracle.skipBuildAbi(tag, request[2])) {
        return ["ERROR", `${tag} is not a build ABI`];
      }
      ctx.log.info(request[2] ? `${tag} is skipped: ${request[2]}` : `${tag} is built again`);
    }
    if (action !== "list") {
      await architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
    }
    return ["ABIS", await oracle.listBuildAbis()];
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
        case "ABI":
          return await abi(r.data);
      }
    },
    onError: (e) => ["ERROR", errorMessage(e)],
  });
  await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
  await router.close();
  await serving;
  await Promise.all([oracle.close(), fs.close()]);
});
