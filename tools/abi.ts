/**
 * piw-abi: the build ABIs, which are the operator's (a build slave never adds one). Lists them,
 * adds or removes one, or skips one (no new builds for it) and builds it again, through the
 * master's import queue (ABI), so that it works alike whether the master keeps its database in
 * PostgreSQL or embedded. A slave of an ABI that is not a build ABI is told to sleep.
 *
 * Run with the flags `TOOLS["piw-abi"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import type { Duration } from "../shared/duration.ts";
import { Argument } from "commander";
import { type CommonOptions, parseCommand, parsed, toolCommand } from "../shared/config.ts";
import { errorMessage, Logger } from "../shared/log.ts";
import { protocolValue } from "../shared/option_values.ts";
import { skipReason } from "../shared/protocols.ts";
import { TAG } from "../shared/wheel.ts";
import { ImportQueue, importQueueOptions } from "./import_queue.ts";

/** piw-abi's options. */
interface Options extends CommonOptions {
  importQueue: string;
  timeout: Duration;
}

const log = new Logger("piw-abi");

/** What piw-abi can do. */
const ACTIONS = ["list", "add", "remove", "skip", "unskip"] as const;
type Action = (typeof ACTIONS)[number];

function tag(text: string): string {
  if (!TAG.test(text) || text === "none" || text === "abi3") {
    throw new Error(
      `${JSON.stringify(text)} is not an ABI tag (one PEP 425 tag such as cp311 or cp39: ` +
        "letters, digits and '_'; not none or abi3)",
    );
  }
  return text;
}

function command() {
  return importQueueOptions(
    toolCommand(
      "piw-abi",
      "List, add, remove or skip the ABIs the farm builds for (e.g. cp311). This must run on the " +
        "same machine as piw-master.",
    )
      .addArgument(
        new Argument(
          "<action>",
          "list: show every build ABI; add: build for ABI from now on; remove: stop building " +
            "for ABI and forget its queue (its builds stay); skip: keep ABI but build nothing " +
            "new for it; unskip: build for a skipped ABI again",
        ).choices(ACTIONS),
      )
      .argument("[abi]", "the ABI tag (for add, remove, skip and unskip)", parsed(tag))
      .argument("[reason]", "for skip: why (shown in the list)", protocolValue(skipReason)),
    "piw-abi",
  );
}

/** Runs piw-abi; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const cmd = command();
  const opts = parseCommand<Options>(cmd, args);
  const [action, abi, reason] = cmd.processedArgs as [Action, string | undefined, string?];
  if ((action === "list") !== (abi === undefined)) {
    log.error(action === "list" ? "list takes no ABI" : `${action} needs an ABI tag`);
    return 2;
  }
  if (reason !== undefined && action !== "skip") {
    log.error(`${action} takes no reason`);
    return 2;
  }
  try {
    await using queue = new ImportQueue(opts.importQueue, opts.timeout);
    const reply = action === "list"
      ? await queue.request("ABI", ["list"])
      : action === "skip" || action === "unskip"
      ? await queue.request("ABI", ["skip", abi!, action === "skip" ? reason || "skipped" : ""])
      : await queue.request("ABI", [action, abi!]);
    if (reply.msg === "ERROR") {
      log.error(`the master refused: ${reply.data}`);
      return 1;
    }
    if (reply.msg !== "ABIS") {
      log.error(`the master answered ${reply.msg}, not ABIS`);
      return 1;
    }
    if (reply.data.length === 0) console.log("no build ABIs (piw-abi add one, e.g. cp311)");
    for (const [tag, skip] of reply.data) console.log(skip ? `${tag}\tskipped: ${skip}` : tag);
    return 0;
  } catch (e) {
    log.error(errorMessage(e));
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
