/**
 * piw-import (manual chapter 7): registers wheels built elsewhere as one build of a package
 * version and uploads them to the master. It sends IMPORT on the import queue in the layout the
 * deployed piw-import sends (WIRE.md: `[0, package, version, abi_tag, status, duration,
 * output, [file, ...]]`, so it works with a Python master too); the master
 * answers SEND for each file, which goes over the file queue as slave 0 (a progress bar on a
 * terminal), then SENT; DONE once every file arrived and verified, ERROR with the reason
 * otherwise. The exit code is 0 only when the build was registered and every file uploaded,
 * and `-d` deletes the files only then.
 *
 * Run with the flags `TOOLS["piw-import"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import { basename } from "node:path";
import { type CommonOptions, parseCommand, toolCommand } from "../shared/config.ts";
import { Duration } from "../shared/duration.ts";
import { endpointValue, nonNegativeDuration, protocolValue } from "../shared/option_values.ts";
import { sha256File } from "../shared/hash.ts";
import { errorMessage, levelsFor, Logger } from "../shared/log.ts";
import { mayProceed } from "../shared/prompt.ts";
import {
  IMPORTER_ID,
  MAX_BUILD_MESSAGE,
  namedTwice,
  packageName,
  pep425Tag,
  versionString,
} from "../shared/protocols.ts";
import { formatSize } from "../shared/size.ts";
import { FileState } from "../shared/states.ts";
import { parseWheelFilename } from "../shared/wheel.ts";
import { DEFAULT_FILE_QUEUE, sendFile } from "../shared/file_sender.ts";
import { metadataField, readWheelMetadata } from "../shared/wheel_metadata.ts";
import { ImportQueue, importQueueOptions, refusal } from "./import_queue.ts";
import { ProgressBar } from "./progress.ts";
import {
  type CurveClient,
  curveClientCommand,
  curveClientFrom,
  type CurveClientOptions,
  CurveOptionError,
} from "../shared/curve_setup.ts";

/** piw-import's options. */
interface Options extends CommonOptions, CurveClientOptions {
  package?: string;
  packageVersion?: string;
  abi?: string;
  duration: Duration;
  output?: string;
  yes?: boolean;
  delete?: boolean;
  importQueue: string;
  timeout: Duration;
  fileQueue: string;
}

/** More than the master's attempts at a file (3) before it gives an import up. */
const CALL_OFF_ATTEMPTS = 5;
/** The build output recorded when `--output` is not given. */
const DEFAULT_OUTPUT = "Imported manually via piw-import";

const log = new Logger("piw-import");

/** Raised for what the command line gets wrong (exit status 2). */
class UsageError extends Error {
  override name = "UsageError";
}

function command() {
  const cmd = importQueueOptions(
    toolCommand(
      "piw-import",
      "Import the specified wheel(s) into the piwheels database and file system, as one build of " +
        "a package version the master already knows (from PyPI). This must run on the same " +
        "machine as piw-master.",
    )
      .argument("<files...>", "the wheel(s) to import; several files are registered as one build")
      .option(
        "--package <PACKAGE>",
        "the name of the package to import; if omitted, the name the first wheel gives itself " +
          "(or its file name's)",
        protocolValue(packageName),
      )
      .option(
        "--package-version <VERSION>",
        "the version of the package to import; if omitted, derived from the first wheel",
        protocolValue(versionString),
      )
      .option(
        "--abi <ABI>",
        "the build ABI the build was for (one the master builds for); if omitted, the first " +
          "wheel's ABI tag, which a pure ('none') or 'abi3' wheel does not give: name it then",
        protocolValue(pep425Tag),
      )
      .option(
        "--duration <DURATION>",
        "the time taken to build the package, e.g. 90s or 1h30m",
        nonNegativeDuration,
        Duration.ZERO,
      )
      .option(
        "--output <FILE>",
        "the file containing the build output to store; if omitted, a message saying the build " +
          "was imported is stored",
      )
      .option("-y, --yes", "run non-interactively; never prompt during operation")
      .option(
        "-d, --delete",
        "remove the file(s) after a successful import; if the import fails, no file is removed",
      )
      .option(
        "--file-queue <ADDR>",
        "the address of the master's file queue, which the files are uploaded to",
        endpointValue("connect"),
        DEFAULT_FILE_QUEUE,
      ),
    "piw-import",
  );
  return curveClientCommand(cmd, "importer");
}

/** A wheel to import: where it is and its file state. */
interface Wheel {
  path: string;
  state: FileState;
}

async function describe(path: string): Promise<Wheel> {
  const name = basename(path);
  const tags = parseWheelFilename(name);
  const info = await Deno.stat(path);
  if (!info.isFile) throw new Error(`${path} is not a file`);
  const state = FileState.fromTags(name, info.size, await sha256File(path), tags);
  return { path, state };
}

/**
 * The package and version a wheel is of: what its core metadata says (the project's own
 * spelling, which file names escape: `python_dateutil` is `python-dateutil`), or else its file
 * name's tags.
 */
async function packageOf(wheel: Wheel): Promise<[string, string]> {
  let name: string | null = null;
  let version: string | null = null;
  try {
    const metadata = await readWheelMetadata(wheel.path);
    name = metadataField(metadata, "Name");
    version = metadataField(metadata, "Version");
  } catch (e) {
    log.debug(`${wheel.state.filename}: no core metadata (${errorMessage(e)}); using its name`);
  }
  return [name ?? wheel.state.packageTag, version ?? wheel.state.packageVersionTag];
}

/** The build ABI from the first wheel: its ABI tag, or null when it names none. */
function abiOf(wheel: Wheel): string | null {
  const abi = wheel.state.abiTag;
  return abi === "none" || abi === "abi3" || abi.includes(".") ? null : abi;
}

/** Uploads one file, with a progress bar on a terminal. */
async function upload(
  wheel: Wheel,
  fileQueue: string,
  bar: boolean,
  curve: CurveClient | undefined,
): Promise<void> {
  const { filename, filesize } = wheel.state;
  if (!bar) {
    log.info(`sending ${filename} (${filesize} bytes)`);
    await sendFile(fileQueue, IMPORTER_ID, wheel.path, { curve });
    return;
  }
  const progress = new ProgressBar(filename, filesize);
  try {
    await sendFile(fileQueue, IMPORTER_ID, wheel.path, {
      onProgress: (sent) => progress.update(sent),
      curve,
    });
  } finally {
    progress.finish();
  }
}

/** The build piw-import registers. */
interface Build {
  abi: string;
  pkg: string;
  version: string;
  /** What the first wheel says its package and version are. */
  guessed: { pkg: string; version: string };
  output: string;
  wheels: Wheel[];
}

/** IMPORT, then every SEND answered until DONE; resolves to the ERROR's message, or null. */
async function register(
  opts: Options,
  build: Build,
  curve: CurveClient | undefined,
): Promise<string | null> {
  const byName = new Map(build.wheels.map((w) => [w.state.filename, w]));
  const bar = Deno.stderr.isTerminal() && levelsFor(opts) !== "warning";
  await using queue = new ImportQueue(opts.importQueue, opts.timeout);
  let reply = await queue.request("IMPORT", [
    IMPORTER_ID,
    build.pkg,
    build.version,
    build.abi,
    true,
    opts.duration,
    build.output,
    build.wheels.map((w) => w.state.asMessage()),
  ]);
  const sent = new Set<string>();
  while (reply.msg === "SEND") {
    const wheel = byName.get(reply.data);
    try {
      if (!wheel) throw new Error(`the master asked for ${reply.data}, not one of the files given`);
      await upload(wheel, opts.fileQueue, bar, curve);
      sent.add(reply.data);
    } catch (e) {
      await callOff(queue);
      return errorMessage(e);
    }
    reply = await queue.request("SENT");
  }
  // DONE counts only once every file went: whoever answered otherwise is no master importing
  // them, and -d must not delete them
  const unsent = [...byName.keys()].filter((name) => !sent.has(name));
  if (reply.msg === "DONE" && unsent.length > 0) {
    return `the import queue said DONE before ${unsent.join(", ")} was sent: is it the master's?`;
  }
  return refusal(reply);
}

/**
 * Calls off an import whose file could not be sent. Mr. Chase has no message for that, and
 * would hold the import (refusing others) until it times out; so piw-import says SENT without
 * sending: each verification fails, and after its last attempt the master answers ERROR and
 * forgets the import.
 */
async function callOff(queue: ImportQueue): Promise<void> {
  for (let i = 0; i < CALL_OFF_ATTEMPTS; i++) {
    const reply = await queue.request("SENT").catch(() => null);
    if (reply?.msg !== "SEND") return;
  }
}

/** Reads the files given and works out the build they are. */
async function prepare(opts: Options, paths: string[]): Promise<Build> {
  // one name twice (whichever paths lead to it) is one file twice: the master refuses the list
  const [twice] = namedTwice(paths.map((path) => basename(path)));
  if (twice !== undefined) throw new UsageError(`${twice} is given twice`);
  // before the wheels are read and hashed, which may take a while
  const output = opts.output === undefined ? DEFAULT_OUTPUT : await readOutput(opts.output);
  const wheels: Wheel[] = [];
  for (const path of paths) {
    try {
      wheels.push(await describe(path));
    } catch (e) {
      throw new Error(`cannot import ${path}: ${errorMessage(e)}`);
    }
  }
  const first = wheels[0]!;
  const [pkg, version] = await packageOf(first);
  const abi = opts.abi ?? abiOf(first);
  if (abi === null) {
    throw new UsageError(
      `${first.state.filename} is for no one ABI (${first.state.abiTag}): give the build ABI ` +
        "to import it for with --abi (e.g. --abi cp311)",
    );
  }
  return {
    abi,
    pkg: opts.package ?? pkg,
    version: opts.packageVersion ?? version,
    guessed: { pkg, version },
    output,
    wheels,
  };
}

/**
 * The build output in `path`, if the master can take it: a larger IMPORT was dropped unread,
 * and piw-import waited out its whole --timeout before it said the master was not there. A
 * file that cannot be read is a usage error naming the option (it was the bare system error).
 */
async function readOutput(path: string): Promise<string> {
  // the rest of the message (the files' names, sizes and hashes) takes far less than 1 MiB
  const limit = MAX_BUILD_MESSAGE - 1024 * 1024;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new UsageError(`cannot read --output ${path}: it is a directory`);
    if (info.size > limit) {
      throw new UsageError(
        `--output ${path} is ${formatSize(info.size)}; the master takes at most ` +
          `${formatSize(limit)} of build output: cut it (its end says most: tail -c 60M)`,
      );
    }
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : errorMessage(e);
    throw new UsageError(`cannot read --output ${path}: ${why}`);
  }
}

/** Advice for an unknown package or version that piw-import worked out itself. */
function advice(opts: Options, build: Build, error: string): string {
  const guessed = [
    ...(opts.package === undefined ? ["--package"] : []),
    ...(opts.packageVersion === undefined ? ["--package-version"] : []),
  ];
  if (!/unknown (package|version)/.test(error) || guessed.length === 0) return "";
  // only what was read from the wheel, not what was given
  const said = [
    ...(opts.package === undefined ? [build.guessed.pkg] : []),
    ...(opts.packageVersion === undefined ? [build.guessed.version] : []),
  ].join(" ");
  return ` (${said} is what ${build.wheels[0]!.state.filename} says; ` +
    `give ${guessed.join(" and ")} if the master knows it by another name)`;
}

/** Runs piw-import; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const cmd = command();
  const opts = parseCommand<Options>(cmd, args);
  try {
    const curve = await curveClientFrom(opts);
    const build = await prepare(opts, cmd.args);
    const names = build.wheels.map((w) => w.state.filename).join(", ");
    const what = `import ${build.wheels.length} file(s) as one build of ${build.pkg} ` +
      `${build.version} for ${build.abi}: ${names}`;
    if (!await mayProceed("piw-import", what, opts.yes, log)) return 1;
    const error = await register(opts, build, curve);
    if (error !== null) {
      log.error(`the import failed: ${error}${advice(opts, build, error)}`);
      if (opts.delete) log.warning("no file was removed");
      return 1;
    }
    log.info(`imported ${build.pkg} ${build.version}: ${build.wheels.length} file(s)`);
    if (opts.delete) {
      for (const w of build.wheels) {
        await Deno.remove(w.path);
        log.info(`removed ${w.path}`);
      }
    }
    return 0;
  } catch (e) {
    log.error(errorMessage(e));
    return e instanceof UsageError || e instanceof CurveOptionError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main());
