/**
 * piw-add: adds a package, or a version of one, by hand (one PyPI never announced, or one the
 * farm should know before it does), or changes a known one: a package's description, skip
 * reason, build priority and aliases (other spellings of its name); a version's skip reason and
 * yank (PEP 592). It asks first (unless `-y`), then sends ADDPKG and, with a version, ADDVER on
 * the import queue; the master answers ADDED (saying whether it was new) and rewrites the
 * package's pages, or ERROR. The options are the current piwheels's, plus `--priority`.
 *
 * Run with the flags `TOOLS["piw-add"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import { Option } from "commander";
import type { Duration } from "../shared/duration.ts";
import { type CommonOptions, parseCommand, parsed, toolCommand } from "../shared/config.ts";
import { errorMessage, Logger } from "../shared/log.ts";
import { mayProceed } from "../shared/prompt.ts";
import {
  packageDescription,
  packageName,
  priority,
  skipReason,
  versionString,
} from "../shared/protocols.ts";
import { Timestamp } from "../shared/timestamp.ts";
import { normalizeName } from "../shared/wheel.ts";
import { type ChaseReply, ImportQueue, importQueueOptions } from "./import_queue.ts";

/** piw-add's options. */
interface Options extends CommonOptions {
  yes?: boolean;
  skip?: string;
  unskip?: boolean;
  description?: string;
  alias: string[];
  released?: Timestamp;
  yank?: boolean;
  unyank?: boolean;
  priority?: number;
  importQueue: string;
  timeout: Duration;
}

const log = new Logger("piw-add");

/** `text` if `schema` takes it, else the schema's complaint. */
function checked(schema: { parse(text: unknown): unknown }): (text: string) => string {
  return parsed((text) => {
    try {
      schema.parse(text);
    } catch (e) {
      const issues = (e as { issues?: { message: string }[] }).issues;
      throw new Error(issues?.[0]?.message ?? errorMessage(e));
    }
    return text;
  });
}

function command() {
  return importQueueOptions(
    toolCommand(
      "piw-add",
      "Add a package, or a version of one, to the system by hand, or change a known one: a " +
        "package's description, skip reason, build priority and aliases; a version's skip " +
        "reason and yank. This must run on the same machine as piw-master.",
    )
      .argument(
        "<package>",
        "the name of the package to add (any spelling of it)",
        checked(packageName),
      )
      .argument(
        "[version]",
        "the version of the package to add; if omitted, adds (or changes) the package only",
        checked(versionString),
      )
      .option("-y, --yes", "run non-interactively; never prompt during operation")
      .option(
        "-s, --skip <REASON>",
        "mark the package (or, with a version, the version) with a reason to prevent build " +
          "attempts",
        checked(skipReason.min(1)),
      )
      .option(
        "--unskip",
        "remove the package's (or the version's) skip reason, so that it is built again",
      )
      .option(
        "-d, --description <TEXT>",
        "the package's description (shown on its project page; PyPI's replaces it when a " +
          "release of it is read)",
        checked(packageDescription),
      )
      .addOption(
        new Option(
          "-a, --alias <NAME>",
          "another spelling of the package's name (it must normalise to the same name); may be " +
            "given more than once",
        ).argParser((value: string, previous: string[]) => [
          ...previous,
          checked(packageName)(value),
        ]).default([], "none"),
      )
      .option(
        "-r, --released <TIMESTAMP>",
        "when a new version was released, e.g. 2026-03-01T12:00:00Z or '2026-03-01 12:00:00' " +
          "(UTC); a known version's cannot be changed (default: now)",
        parsed(Timestamp.parse),
      )
      .option(
        "--yank",
        "mark the version as yanked (PEP 592): pip installs it only when asked for it exactly",
      )
      .option("--unyank", "mark a yanked version as not yanked")
      .option(
        "--priority <N>",
        "the package's build priority, -1000 to 1000: its versions build before those of " +
          "packages with a lower one (0 for all by default)",
        parsed((text) => {
          const n = Number(text);
          if (!/^\s*-?\d+\s*$/.test(text) || !priority.safeParse(n).success) {
            throw new Error("expected a whole number from -1000 to 1000");
          }
          return n;
        }),
      ),
    "piw-add",
  );
}

/** What the options ask of a package and of a version, or why they cannot be asked at all. */
function requests(pkg: string, version: string | undefined, opts: Options) {
  if (opts.skip !== undefined && opts.unskip) throw new Error("--skip and --unskip contradict");
  if (opts.yank && opts.unyank) throw new Error("--yank and --unyank contradict");
  if (version === undefined) {
    for (const [given, name] of [[opts.yank, "--yank"], [opts.unyank, "--unyank"]] as const) {
      if (given) throw new Error(`${name} needs a version`);
    }
    if (opts.released) throw new Error("--released needs a version");
  }
  for (const alias of opts.alias) {
    if (normalizeName(alias) !== normalizeName(pkg)) {
      throw new Error(
        `alias ${alias} is not a spelling of ${pkg}: it normalises to ${normalizeName(alias)}, ` +
          `not ${normalizeName(pkg)}`,
      );
    }
  }
  const skip = opts.unskip ? "" : opts.skip ?? null;
  const yanked = opts.yank ? true : opts.unyank ? false : null;
  const packageChange = opts.description !== undefined || opts.alias.length > 0 ||
    opts.priority !== undefined || version === undefined;
  return {
    addpkg: packageChange
      ? [
        pkg,
        opts.description ?? null,
        version === undefined ? skip : null,
        opts.priority ?? null,
        opts.alias,
      ] as const
      : null,
    addver: version === undefined
      ? null
      : [pkg, version, opts.released ?? null, skip, yanked] as const,
  };
}

/** What the master said, as a line for the log; throws for ERROR or nonsense. */
function outcome(reply: ChaseReply): string {
  if (reply.msg === "ERROR") throw new Error(`the master refused: ${reply.data}`);
  if (reply.msg !== "ADDED") throw new Error(`the master answered ${reply.msg}, not ADDED`);
  const [pkg, version, added] = reply.data;
  return `${added ? "added" : "updated"} ${version === null ? "package " : ""}${pkg}` +
    (version === null ? "" : ` ${version}`);
}

/** Runs piw-add; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const cmd = command();
  const opts = parseCommand<Options>(cmd, args);
  const [pkg, version] = cmd.processedArgs as [string, string | undefined];
  let asked;
  try {
    asked = requests(pkg, version, opts);
  } catch (e) {
    log.error(errorMessage(e));
    return 2;
  }
  const what = version === undefined
    ? `add or update package ${pkg}`
    : `add or update ${pkg} ${version}`;
  if (!await mayProceed("piw-add", what, opts.yes, log)) return 1;
  try {
    await using queue = new ImportQueue(opts.importQueue, opts.timeout);
    if (asked.addpkg) log.info(outcome(await queue.request("ADDPKG", [...asked.addpkg])));
    if (asked.addver) log.info(outcome(await queue.request("ADDVER", [...asked.addver])));
    return 0;
  } catch (e) {
    log.error(errorMessage(e));
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
