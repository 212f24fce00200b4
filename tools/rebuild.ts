/**
 * piw-rebuild (manual chapter 8): asks the master to write parts of the web site again: the
 * home page, the search index, or a package's project page or its simple index and project
 * page (every package's when none is named, after asking first). It sends REBUILD on the
 * import queue; the master queues the pages and answers DONE, or ERROR (an unknown package, a
 * package list it cannot read): exit status 1.
 *
 * Run with the flags `TOOLS["piw-rebuild"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import type { Duration } from "../shared/duration.ts";
import { Argument } from "commander";
import { type CommonOptions, parseCommand, toolCommand } from "../shared/config.ts";
import { errorMessage, Logger } from "../shared/log.ts";
import { protocolValue } from "../shared/option_values.ts";
import { mayProceed } from "../shared/prompt.ts";
import { packageName } from "../shared/protocols.ts";
import { ImportQueue, importQueueOptions, refusal } from "./import_queue.ts";

/** piw-rebuild's options. */
interface Options extends CommonOptions {
  yes?: boolean;
  importQueue: string;
  timeout: Duration;
}

/** The parts of the web site, as REBUILD names them (WIRE.md). */
const PARTS = {
  home: "HOME", // /index.html
  search: "SEARCH", // /packages.json
  project: "PKGPROJ", // /project/<package>/
  index: "PKGBOTH", // /simple/<package>/ and /project/<package>/
} as const;

type Part = keyof typeof PARTS;

const log = new Logger("piw-rebuild");

function command() {
  return importQueueOptions(
    toolCommand(
      "piw-rebuild",
      "Ask the master to rebuild part of the web site. This must run on the same machine as " +
        "piw-master.",
    )
      .addArgument(
        new Argument(
          "<part>",
          "home: the home page (/index.html); search: the search index (/packages.json); " +
            "project: a package's project page (/project/<package>/); index: a package's simple " +
            "index and project page (/simple/<package>/ and /project/<package>/)",
        ).choices(Object.keys(PARTS)),
      )
      .argument(
        "[package]",
        "for project and index: the package (all packages if omitted)",
        protocolValue(packageName),
      )
      .option("-y, --yes", "run non-interactively; never prompt during operation"),
    "piw-rebuild",
  );
}

/** Runs piw-rebuild; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const cmd = command();
  const opts = parseCommand<Options>(cmd, args);
  const [part, pkg] = cmd.args as [Part, string | undefined];
  if ((part === "home" || part === "search") && pkg !== undefined) {
    log.error(`${part} takes no package (it is one page for the whole site)`);
    return 2;
  }
  const all = (part === "project" || part === "index") && pkg === undefined;
  if (all) {
    const pages = part === "index" ? "simple index and project page" : "project page";
    const what = `rebuild the ${pages} of every package (this can take hours on a big farm)`;
    if (!await mayProceed("piw-rebuild", what, opts.yes, log)) return 1;
  }
  try {
    await using queue = new ImportQueue(opts.importQueue, opts.timeout);
    const reply = part === "home" || part === "search"
      ? await queue.request("REBUILD", [PARTS[part]])
      : await queue.request("REBUILD", [PARTS[part], pkg ?? null]);
    const why = refusal(reply);
    if (why !== null) {
      log.error(`the master refused the rebuild: ${why}`);
      return 1;
    }
    log.info(`queued the rebuild of ${part}${all ? " for every package" : pkg ? ` ${pkg}` : ""}`);
    return 0;
  } catch (e) {
    log.error(errorMessage(e));
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
