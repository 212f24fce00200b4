/**
 * piw-audit: checks the web site the master wrote against its database (the current piwheels's
 * piw-audit, piw-audit-packages and piw-audit-logs, as the checks `tree`, `packages` and
 * `logs` of one tool, or `all` of them), printing one line per problem on stdout; the exit
 * status is 0 when there is none, 1 otherwise. It changes nothing unless asked: `--rebuild` has
 * the master write again what it can (a package's pages, the home page, the search index, a
 * build's log, all from the database), `--delete-extra` deletes what belongs to nothing the
 * database knows. Wheels and metadata that are missing or broken are only reported: the
 * database holds their hashes, not their bytes.
 *
 * What the database knows comes through the master (AUDIT on the import queue), not from the
 * database itself: an embedded database is held by the running master, and this way the audit
 * works alike on PostgreSQL and on PGlite, with no database credentials. The files are read
 * from the output path directly (this tool's own permissions, never the master's). Run it while
 * the farm is quiet: a page being rewritten while it is read may show as a problem once.
 *
 * Run with the flags `TOOLS["piw-audit"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import { Argument, Option } from "commander";
import type { Duration } from "../shared/duration.ts";
import { type CommonOptions, parseCommand, parsed, toolCommand } from "../shared/config.ts";
import { errorMessage, Logger } from "../shared/log.ts";
import { mayProceed } from "../shared/prompt.ts";
import { MAX_LISTING, packageName } from "../shared/protocols.ts";
import { normalizeName } from "../shared/wheel.ts";
import { defaultDataDir } from "../master/options.ts";
import {
  type AuditFacts,
  checkLogs,
  checkPackages,
  checkTree,
  type Problem,
} from "./audit_checks.ts";
import { type ChaseReply, ImportQueue, importQueueOptions, refusal } from "./import_queue.ts";

/** piw-audit's options. */
interface Options extends CommonOptions {
  outputPath: string;
  hashes?: boolean;
  rebuild?: boolean;
  deleteExtra?: boolean;
  yes?: boolean;
  importQueue: string;
  timeout: Duration;
}

/** The checks, and `all` of them. */
const CHECKS = ["tree", "packages", "logs", "all"] as const;
type Check = (typeof CHECKS)[number];

const log = new Logger("piw-audit");

function command() {
  return importQueueOptions(
    toolCommand(
      "piw-audit",
      "Check the web site the master wrote against its database. tree: every package's simple " +
        "and project directories and pages, no directory of an unknown package, and no " +
        "temporary file a master killed while writing a page left; packages: " +
        "every file a package's simple page lists is there (with --hashes, as the database " +
        "says), with its core metadata, and nothing else; logs: every build's log, and no log " +
        "of an unknown build. Prints one line per problem and exits 1 if there is any. Nothing " +
        "is changed unless --rebuild or --delete-extra asks. This must run on the same " +
        "machine as piw-master.",
    )
      .addArgument(new Argument("<check>", "what to check").choices(CHECKS))
      .argument(
        "[packages...]",
        "for packages: the packages to check (any spelling; all if omitted)",
        (value: string, previous: string[] = []) => [
          ...previous,
          parsed((text) => normalizeName(packageName.parse(text)))(value),
        ],
      )
      .addOption(
        new Option(
          "-o, --output-path <PATH>",
          "the path under which the master writes the website",
        ).default(`${defaultDataDir()}/www`, "DATA/www, as piw-master's"),
      )
      .option(
        "--hashes",
        "packages: check the SHA-256 of every file (and of its core metadata); reads them all",
      )
      .option(
        "--rebuild",
        "have the master write again what it can: the pages of packages with problems, the " +
          "home page, the search index, missing build logs",
      )
      .option(
        "--delete-extra",
        "delete what belongs to nothing the database knows: directories of unknown packages " +
          "(tree), files no simple page lists (packages), logs of unknown builds (logs); " +
          "after asking, unless -y",
      )
      .option("-y, --yes", "with --delete-extra: delete without asking"),
    "piw-audit",
  );
}

/** The master's answer of the kind expected; throws for ERROR or anything else. */
function answer<R extends ChaseReply>(reply: ChaseReply, msg: R["msg"]): R["data"] {
  if (reply.msg === "ERROR") throw new Error(`the master refused: ${reply.data}`);
  if (reply.msg !== msg) throw new Error(`the master answered ${reply.msg}, not ${msg}`);
  return reply.data as R["data"];
}

type Listed<K extends ChaseReply["msg"]> = Extract<ChaseReply, { msg: K }>;

/** What the database says, asked of the master over the import queue. */
class MasterFacts implements AuditFacts {
  constructor(readonly queue: ImportQueue) {}

  async *packages(): AsyncIterable<[string, string[]][]> {
    for (let after = "";;) {
      const batch = answer<Listed<"PACKAGES">>(
        await this.queue.request("AUDIT", ["packages", after, MAX_LISTING]),
        "PACKAGES",
      );
      if (batch.length === 0) return;
      yield batch;
      after = batch.at(-1)![0];
    }
  }

  async files(packages: string[]): Promise<Map<string, Map<string, string>>> {
    const files = answer<Listed<"FILES">>(
      await this.queue.request("AUDIT", ["files", packages]),
      "FILES",
    );
    return new Map(Object.entries(files).map(([pkg, list]) => [pkg, new Map(list)]));
  }

  async *builds(): AsyncIterable<number[]> {
    for (let after = 0;;) {
      const batch = answer<Listed<"BUILDS">>(
        await this.queue.request("AUDIT", ["builds", after, MAX_LISTING]),
        "BUILDS",
      );
      if (batch.length === 0) return;
      yield batch;
      after = batch.at(-1)!;
    }
  }
}

/** Repairs what can be repaired and was asked for; resolves to how many were. */
async function repair(
  problems: Problem[],
  opts: Options,
  queue: ImportQueue,
): Promise<number> {
  let repaired = 0;
  const done = (reply: ChaseReply, what: string) => {
    const why = refusal(reply);
    if (why !== null) throw new Error(`the master would not ${what}: ${why}`);
  };
  if (opts.rebuild) {
    const packages = new Set<string>();
    const logs: number[] = [];
    let home = false;
    let search = false;
    for (const { repair } of problems) {
      if (repair === null) continue;
      if ("rebuild" in repair) packages.add(repair.rebuild);
      if ("relog" in repair) logs.push(repair.relog);
      if ("home" in repair) home = true;
      if ("search" in repair) search = true;
    }
    for (const pkg of packages) {
      done(await queue.request("REBUILD", ["PKGBOTH", pkg]), `rewrite the pages of ${pkg}`);
      log.info(`asked the master to write the pages of ${pkg} again`);
    }
    for (let i = 0; i < logs.length; i += 1000) {
      done(await queue.request("RELOG", logs.slice(i, i + 1000)), "write the logs again");
    }
    if (logs.length) log.info(`asked the master to write ${logs.length} build log(s) again`);
    if (home) done(await queue.request("REBUILD", ["HOME"]), "write the home page again");
    if (search) done(await queue.request("REBUILD", ["SEARCH"]), "write the search index");
    repaired += packages.size + logs.length + Number(home) + Number(search);
  }
  const extra = problems.flatMap(({ repair }) =>
    repair !== null && "delete" in repair ? [repair.delete] : []
  );
  if (opts.deleteExtra && extra.length > 0) {
    // pointed at another master's database, every package directory would be "unknown"
    const what = `delete ${extra.length} path(s) under ${opts.outputPath} that belong to ` +
      `nothing the database knows (${extra.slice(0, 5).join(", ")}${
        extra.length > 5 ? ", …" : ""
      })`;
    if (!await mayProceed("piw-audit", what, opts.yes, log)) return repaired;
    for (const path of extra) {
      await Deno.remove(`${opts.outputPath}/${path}`, { recursive: true });
      log.info(`deleted ${path}`);
      repaired++;
    }
  }
  return repaired;
}

/** Runs piw-audit; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const cmd = command();
  const opts = parseCommand<Options>(cmd, args);
  const [check, packages = []] = cmd.processedArgs as [Check, string[] | undefined];
  if (packages.length && check !== "packages") {
    log.error(`${check} takes no packages (only packages does)`);
    return 2;
  }
  try {
    await Deno.stat(`${opts.outputPath}/simple`);
  } catch (e) {
    log.error(`${opts.outputPath} holds no web site (${errorMessage(e)}): give --output-path`);
    return 1;
  }
  try {
    await using queue = new ImportQueue(opts.importQueue, opts.timeout);
    const facts = new MasterFacts(queue);
    const root = opts.outputPath;
    const problems: Problem[] = [];
    if (check === "tree" || check === "all") problems.push(...await checkTree(root, facts));
    if (check === "packages" || check === "all") {
      problems.push(...await checkPackages(root, facts, packages, opts.hashes ?? false));
    }
    if (check === "logs" || check === "all") problems.push(...await checkLogs(root, facts));
    for (const p of problems) console.log(p.line);
    const repaired = await repair(problems, opts, queue);
    if (problems.length === 0) log.info(`${check}: no problem found in ${root}`);
    else {
      log.warning(
        `${check}: ${problems.length} problem(s) in ${root}` +
          (repaired ? `; ${repaired} repaired or asked for (run the audit again to see)` : ""),
      );
    }
    return problems.length ? 1 : 0;
  } catch (e) {
    log.error(errorMessage(e));
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
