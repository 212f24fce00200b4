/**
 * Mr. Chase (manual 11.3.6 and 11.5.2–11.5.4): serves piw-import, piw-remove, piw-rebuild,
 * piw-abi, piw-add and piw-audit on the import queue (a ROUTER, default ipc:///tmp/piw-import).
 * A package may be named by any spelling of its name (PEP 503): it is the same project.
 *
 * IMPORT registers a build made elsewhere (in the deployed tools' layout or the manual's): its
 * files are checked as a slave's are (wheels of that project, version and build ABI, none a file
 * of another version, room for them above --min-free), come over the file queue as slave 0 (one
 * import at a time), are verified (their METADATA too), and are published and the build logged
 * once all arrived. REMOVE forgets a version's builds, files and logged downloads (and may skip it
 * from now on). REBUILD asks for pages to be written again (every package's in the background,
 * one pass at a time, once the package list is read: a list that cannot be read is an ERROR).
 * ABI lists, adds, removes or skips build ABIs. ADDPKG and ADDVER add a package or version by
 * hand, or change one (description, skip, priority, aliases; skip and yank), YANK yanks a version
 * (PEP 592) and keeps its files. AUDIT lists what piw-audit checks the web site
 * against (packages and their spellings, build ids, files and hashes), and RELOG writes builds'
 * logs again from the database (in the background). Anything wrong is answered ERROR with the
 * reason. Nothing on the queue asks who speaks: bound where others can reach it, it is warned of
 * at start.
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
  MAX_BUILD_MESSAGE,
  MAX_CONNECTIONS,
  MAX_UNFINISHED_BYTES,
  MAX_UNREAD_BYTES,
  type Message,
  mrChase,
  reverse,
  theScribe,
} from "../../shared/protocols.ts";
import { isClosed } from "../../shared/receive.ts";
import { BuildState, FileState } from "../../shared/states.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { normalizeName as key } from "../../shared/wheel.ts";
import { Push, Router } from "../../shared/zmq/mod.ts";
import { BuildIntake, type Intake, Refused } from "../intake.ts";
import { OracleClient, REWRITE_WAIT_MS } from "../oracle_client.ts";
import { PagePasses, pagesOf, type PagesPart } from "../page_passes.ts";
import { type Reply, RpcClient, serveRequests } from "../rpc.ts";
import { ARCHITECT_CONTROL, runTask } from "../task.ts";

/**
 * An import whose client went quiet this long (nothing on the import queue, nothing of its file
 * to the File Juggler) may be taken over by another client's IMPORT.
 */
const IMPORT_IDLE_MS = 300_000;
/** How many times a file that fails to verify is asked for again before the import fails. */
const MAX_ATTEMPTS = 3;
/**
 * How many build logs may wait to be written again (RELOG) at once: a RELOG that would pass it
 * is answered ERROR (piw-audit asks for 1000 at a time, and says so).
 */
const MAX_RELOGS = 100_000;

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
  const [abi, pkg, version, status, duration, output, files] = data.length === 8
    ? [data[3], data[1], data[2], data[4], data[5], data[6], data[7]] as const
    : data;
  return {
    abi,
    pkg: key(pkg),
    version,
    status,
    duration,
    output,
    files: files.map(FileState.fromMessage),
  };
}

/**
 * Whether only this machine can reach a queue bound at `address`: ipc://, inproc://, or tcp://
 * on a loopback address (127.0.0.0/8, ::1, localhost).
 */
function onlyLocal(address: string): boolean {
  const [scheme, rest = ""] = address.split("://", 2);
  if (scheme === "ipc" || scheme === "inproc") return true;
  if (scheme !== "tcp") return false;
  const host = rest.slice(0, rest.lastIndexOf(":")).replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** When a spelling an operator gives was "seen": never later than PyPI's own spellings. */
const OPERATOR_SEEN = Timestamp.fromEpochSeconds(0);

runTask("mr_chase", async (ctx) => {
  const router = ctx.socket(
    new Router({
      linger: 1000,
      maxMessageSize: MAX_BUILD_MESSAGE,
      maxConnections: MAX_CONNECTIONS.other,
      maxUnfinishedBytes: MAX_UNFINISHED_BYTES,
      maxUnreadBytes: MAX_UNREAD_BYTES,
      notifyDisconnect: true,
    }),
  );
  await router.bind(ctx.options.importQueue);
  if (!onlyLocal(ctx.options.importQueue)) {
    // allowed (piwheels 0.16 allows it, and a deployment may rely on it), but said: nothing on
    // this queue asks who is speaking
    ctx.log.warning(
      `the import queue ${ctx.options.importQueue} is not ipc:// nor a loopback address: ` +
        "whoever can reach it can change the farm (import and replace wheels, remove " +
        "versions, add build ABIs and versions, have pages and logs written again), unasked",
    );
  }
  const web = ctx.socket(new Push({ linger: 1000, sendTimeout: 5000 }));
  web.connect(ctx.options.webQueue);
  const stats = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  stats.connect(ctx.options.statsQueue);
  const architect = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  architect.connect(ARCHITECT_CONTROL);
  const oracle = new OracleClient(ctx.options.dbQueue, ctx.log);
  const fs = new RpcClient(ctx.options.fsQueue, fileJugglerFs, ctx.log);
  const intake = new BuildIntake(oracle, fs, web, ctx.log, ctx.options.minFree);
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

  /**
   * Whether an import's client went quiet for {@linkcode IMPORT_IDLE_MS}: said nothing on the
   * import queue, and sent nothing of its file, which goes to the File Juggler (an upload of
   * more than 5 minutes between two SENTs was taken over by another client's IMPORT).
   */
  const idle = async (imp: Import): Promise<boolean> => {
    if (Date.now() - imp.lastSeen < IMPORT_IDLE_MS) return false;
    const reply = await fs.call("QUIET", IMPORTER_ID).catch(() => null);
    const quiet = reply?.msg === "OK" ? reply.data as number | null : null;
    if (quiet === null || quiet >= IMPORT_IDLE_MS) return true;
    imp.lastSeen = Date.now() - quiet;
    return false;
  };

  const importBuild = (client: string, data: ImportMessage): Promise<ChaseReply> =>
    step(async () => {
      if (current && current.client !== client && !await idle(current)) {
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
      // refused (ERROR) if its files would leave under --min-free, as a slave's build is put off
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
          throw new Refused(`${again} (${MAX_ATTEMPTS} attempts)`, false);
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

  const remove = async (name: string, version: string, skip: string): Promise<ChaseReply> => {
    const pkg = key(name);
    if (!await oracle.versionExists(pkg, version)) {
      return ["ERROR", `unknown version ${version} of ${pkg}`];
    }
    // skipped first: deleting its builds queues the version again, unless it is skipped
    if (skip) await oracle.skipVersion(pkg, version, skip);
    // the version is pending again once its builds go: a rebuild logged while the pages are
    // rewritten may put its own file at a name, which stays (its build is newer than any now)
    const by = await oracle.maxBuildId();
    const files = await oracle.deleteBuilds(pkg, version);
    // the rewrite is owed in the database already (the Secretary asks again within a minute):
    // a full web queue must not make the removal done look failed
    await web.send(encodeMessage(toWeb, "DELVER", [pkg, version])).catch((e) => {
      ctx.log.warning(`cannot ask for ${pkg}'s pages now: ${errorMessage(e)}`);
    });
    // the files go once no page lists them: pip reading the index just before got a 404 for
    // each (for as long as the Scribe took, minutes behind a full rewrite)
    if (files.length > 0 && !await oracle.untilRewritten([pkg], REWRITE_WAIT_MS, ctx.signal)) {
      ctx.log.warning(
        `${pkg}'s pages are not rewritten after ${REWRITE_WAIT_MS / 1000} s: removing the ` +
          `files of ${version} all the same`,
      );
    }
    const kept: string[] = [];
    for (const filename of files) {
      const reply = await fs.call("REMOVE", [pkg, filename, by]);
      if (reply.msg === "ERROR") {
        ctx.log.warning(`cannot remove ${filename}: ${reply.data}`);
        kept.push(filename);
      }
    }
    await architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
    ctx.log.info(
      `removed ${pkg} ${version} (${files.length} file(s))${skip ? `, skipped: ${skip}` : ""}`,
    );
    if (kept.length > 0) {
      return ["ERROR", `${pkg} ${version} is removed, but not its file(s) ${kept.join(", ")}`];
    }
    return ["DONE"];
  };

  const passes = new PagePasses(
    (part, name) => web.send(encodeMessage(toWeb, part, name)),
    ctx.log,
    (e) => ctx.signal.aborted || isClosed(e),
  );

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
    const what = part as PagesPart;
    if (pkg) {
      if (!await oracle.packageExists(pkg)) return ["ERROR", `unknown package ${pkg}`];
      await web.send(encodeMessage(toWeb, what, key(pkg)));
      return ["DONE"];
    }
    // the package list is read before the answer, so that a failure to read it is an ERROR (the
    // tool's exit status); the pages are asked for in the background: 600,000 of them outlast
    // the tool's wait, and held every other request meanwhile
    let packages;
    try {
      packages = await oracle.allPackages();
    } catch (e) {
      ctx.log.warning(`cannot ask for the ${pagesOf(what)} of every package: ${errorMessage(e)}`);
      return ["ERROR", `cannot read the package list: ${errorMessage(e)}`];
    }
    if (passes.ask(what, packages)) {
      ctx.log.info(
        `asked again for the ${pagesOf(what)} of every package: its ${packages.size} packages ` +
          "once the rewrite under way is asked for",
      );
    }
    return ["DONE"];
  };

  /** The queue may have changed, and a package's pages must be written again. */
  const changed = async (pkg: string): Promise<void> => {
    await web.send(encodeMessage(toWeb, "PKGBOTH", pkg));
    await architect.send(encodeMessage(toArchitect, "REFRESH")).catch(() => {});
  };

  const addPackage = async (
    [name, description, skip, priority, aliases]: Extract<ChaseRequest, { msg: "ADDPKG" }>["data"],
  ): Promise<ChaseReply> => {
    const pkg = key(name);
    const stranger = aliases.find((a) => key(a) !== pkg);
    if (stranger) {
      return ["ERROR", `${stranger} is not a spelling of ${pkg} (it is ${key(stranger)})`];
    }
    const added = await oracle.newPackage(name, skip ?? "", description ?? "", OPERATOR_SEEN);
    if (!added && description !== null) await oracle.setDescription(pkg, description);
    if (!added && skip !== null) await oracle.skipPackage(pkg, skip);
    if (priority !== null) await oracle.setPriority(pkg, priority);
    for (const alias of aliases) await oracle.addAlias(pkg, alias);
    await changed(pkg);
    ctx.log.info(`${added ? "added" : "updated"} package ${pkg}`);
    return ["ADDED", [pkg, null, added]];
  };

  const addVersion = async (
    [name, version, released, skip, yanked]: Extract<ChaseRequest, { msg: "ADDVER" }>["data"],
  ): Promise<ChaseReply> => {
    const pkg = key(name);
    const known = await oracle.versionExists(pkg, version);
    if (known && released !== null) {
      return ["ERROR", `${pkg} ${version} is known already: its release time cannot be changed`];
    }
    if (!known) {
      if (!await oracle.packageExists(pkg)) {
        await oracle.newPackage(name, "", "", OPERATOR_SEEN);
      }
      await oracle.newVersion(name, version, released ?? Timestamp.now(), skip ?? "");
    } else if (skip !== null) {
      await oracle.skipVersion(pkg, version, skip);
    }
    if (yanked !== null) await oracle.yankVersion(pkg, version, yanked);
    await changed(pkg);
    ctx.log.info(`${known ? "updated" : "added"} ${pkg} ${version}`);
    return ["ADDED", [pkg, version, !known]];
  };

  const yank = async (name: string, version: string, skip: string): Promise<ChaseReply> => {
    const pkg = key(name);
    if (!await oracle.versionExists(pkg, version)) {
      return ["ERROR", `unknown version ${version} of ${pkg}`];
    }
    await oracle.yankVersion(pkg, version, true);
    if (skip) await oracle.skipVersion(pkg, version, skip);
    await changed(pkg);
    ctx.log.info(`yanked ${pkg} ${version}${skip ? `, skipped: ${skip}` : ""}`);
    return ["DONE"];
  };

  const audit = async (
    request: Extract<ChaseRequest, { msg: "AUDIT" }>["data"],
  ): Promise<ChaseReply> => {
    switch (request[0]) {
      case "packages":
        return ["PACKAGES", await oracle.listPackages(request[1], request[2])];
      case "builds":
        return ["BUILDS", await oracle.listBuilds(request[1], request[2])];
      case "files":
        return ["FILES", Object.fromEntries(await oracle.packagesFiles(request[1]))];
    }
  };

  /** Builds whose logs are to be written again, in the order asked; each is in it once. */
  const relogs = new Set<number>();
  /** Whether {@linkcode writeLogs} runs (it takes any log added meanwhile too). */
  let relogging = false;

  /**
   * Writes the logs in `relogs` again, one at a time (a log may be 64 MiB), until none is left;
   * never rejects.
   */
  const writeLogs = async (): Promise<void> => {
    relogging = true;
    try {
      for (const id of relogs) {
        try {
          const output = await oracle.buildOutput(id);
          if (output !== null) await web.send(encodeMessage(toWeb, "LOG", [id, output]));
        } catch (e) {
          if (ctx.signal.aborted || isClosed(e)) return;
          ctx.log.warning(`cannot write build ${id}'s log again: ${errorMessage(e)}`);
        } finally {
          relogs.delete(id);
        }
      }
      ctx.log.info("the build logs asked for are written again");
    } finally {
      // at once when the last is taken: a RELOG answered after this starts another
      relogging = false;
    }
  };

  /**
   * RELOG: the builds' logs are written again in the background, each once however often it is
   * asked for, and answered as soon as they are known builds. A log is read whole from the
   * database and may be 64 MiB: written while the queue waited, 40 copies of one held every other
   * tool's request for half a minute, and 1000 of them for half an hour.
   */
  const relog = async (ids: number[]): Promise<ChaseReply> => {
    const asked = [...new Set(ids)];
    // which are builds, in one query, without reading their logs
    const known = await oracle.knownBuilds(asked);
    const unknown = asked.filter((id) => !known.has(id));
    const fresh = asked.filter((id) => known.has(id) && !relogs.has(id));
    if (relogs.size + fresh.length > MAX_RELOGS) {
      return ["ERROR", `${relogs.size} build logs wait to be written again: try again later`];
    }
    for (const id of fresh) relogs.add(id);
    ctx.log.info(`writing ${fresh.length} build log(s) again (${relogs.size} to write)`);
    if (!relogging) void writeLogs();
    return unknown.length ? ["ERROR", `unknown build(s) ${unknown.join(", ")}`] : ["DONE"];
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
        case "ADDPKG":
          return await addPackage(r.data);
        case "ADDVER":
          return await addVersion(r.data);
        case "YANK":
          return await yank(...r.data);
        case "AUDIT":
          return await audit(r.data);
        case "RELOG":
          return await relog(r.data);
      }
    },
    onError: (e) => ["ERROR", errorMessage(e)],
    // a client stopped mid-import (Ctrl-C) held the import queue for IMPORT_IDLE_MS
    left: async (envelope) => {
      if (current?.client !== encodeHex(envelope[0]!)) return;
      const { package_, version } = current.intake.build;
      ctx.log.warning(`the import of ${package_} ${version} was given up: its client went away`);
      await drop();
    },
  });
  await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
  await router.close();
  await serving;
  await Promise.all([oracle.close(), fs.close()]);
});
