/**
 * piw-remove (manual chapter 9): removes a version of a package: every build of it is
 * forgotten, every file those builds made is deleted and so are the downloads logged of them;
 * with `--skip REASON` the version is never built again. With `--yank` it is yanked instead
 * (PEP 592): its builds and files stay, and pip installs it only when asked for exactly that
 * version. It asks first (unless `-y`), sends REMOVE (or YANK) on the import queue, and the
 * master answers DONE (the version's pages are rewritten) or ERROR (an unknown version). The
 * package may be named by any spelling of its name.
 *
 * Run with the flags `TOOLS["piw-remove"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import type { Duration } from "../shared/duration.ts";
import { type CommonOptions, parseCommand, toolCommand } from "../shared/config.ts";
import { errorMessage, Logger } from "../shared/log.ts";
import { mayProceed } from "../shared/prompt.ts";
import { ImportQueue, importQueueOptions, refusal } from "./import_queue.ts";
import { protocolValue } from "../shared/option_values.ts";
import { packageName, skipReason, versionString } from "../shared/protocols.ts";

/** piw-remove's options. */
interface Options extends CommonOptions {
  yes?: boolean;
  skip?: string;
  yank?: boolean;
  importQueue: string;
  timeout: Duration;
}

const log = new Logger("piw-remove");

function command() {
  return importQueueOptions(
    toolCommand(
      "piw-remove",
      "Remove a version of a package from the system: its builds, their files and the " +
        "downloads logged of them. This must run on the same machine as piw-master.",
    )
      .argument("<package>", "the name of the package to remove", protocolValue(packageName))
      .argument("<version>", "the version of the package to remove", protocolValue(versionString))
      .option("-y, --yes", "run non-interactively; never prompt during operation")
      .option(
        "-s, --skip <REASON>",
        "mark the version with a reason to prevent future builds",
        protocolValue(skipReason),
      )
      .option(
        "--yank",
        "yank the version (PEP 592) instead of removing it: its files stay, and pip installs " +
          "it only when asked for exactly this version (piw-add --unyank undoes it)",
      ),
    "piw-remove",
  );
}

/** Runs piw-remove; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const cmd = command();
  const opts = parseCommand<Options>(cmd, args);
  const [pkg, version] = cmd.args as [string, string];
  const skip = opts.skip ?? "";
  const what =
    (opts.yank ? `yank ${pkg} ${version}` : `remove every build and file of ${pkg} ${version}`) +
    (skip ? ` and skip it from now on (${skip})` : "");
  if (!await mayProceed("piw-remove", what, opts.yes, log)) return 1;
  try {
    await using queue = new ImportQueue(opts.importQueue, opts.timeout);
    const reply = opts.yank
      ? await queue.request("YANK", [pkg, version, skip])
      : await queue.request("REMOVE", [pkg, version, skip]);
    const why = refusal(reply);
    if (why !== null) {
      log.error(`the master refused the ${opts.yank ? "yank" : "removal"}: ${why}`);
      return 1;
    }
    log.info(
      `${opts.yank ? "yanked" : "removed"} ${pkg} ${version}` +
        (skip ? "; it will not be built again" : ""),
    );
    return 0;
  } catch (e) {
    log.error(errorMessage(e));
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
