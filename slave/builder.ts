/**
 * Building one wheel, as a slave does on BUILD: `pip wheel` of exactly `<package>==<version>`
 * from the index the master named, from source, without dependencies, cache or build
 * isolation (the system's setuptools and wheel build it), in the sandbox. The result carries
 * what BUILT reports: status, duration, the (bounded) log, and each wheel's file tuple.
 *
 * With `noNetwork` no code of the package ever runs with network: the sdist is fetched first by
 * our own script (`slave/source.ts`: the index's page, exactly that release's sdist, its
 * SHA-256 checked), then pip builds it from the file with no network at all.
 *
 * @module
 */

import { Duration } from "../shared/duration.ts";
import { sha256File } from "../shared/hash.ts";
import { errorMessage, type Logger } from "../shared/log.ts";
import { packageName, versionString } from "../shared/protocols.ts";
import { FileState } from "../shared/states.ts";
import {
  MAX_WHEEL_SIZE,
  parseWheelFilename,
  WheelNameError,
  type WheelTags,
} from "../shared/wheel.ts";
import { findDependencies } from "./dependencies.ts";
import type { Interpreter } from "./interpreter.ts";
import { type Ending, type Finished, MAX_TIMER_MS, type Sandbox, SandboxError } from "./sandbox.ts";
import { fetchSource } from "./source.ts";
import { TailBuffer } from "./tail.ts";
import { Workspace } from "./workspace.ts";

/**
 * The default bound of a build log: its last 4 MiB. The end holds the error; a log goes to the
 * master in one message and is kept (compressed) for every build.
 */
export const DEFAULT_OUTPUT_LIMIT = 4 * 1024 * 1024;

/**
 * The most wheels a build may write: `pip wheel --no-deps` of one sdist writes one. Each is
 * scanned for its libraries and hashed, and the master takes only wheels of the build's own
 * project and version.
 */
export const MAX_WHEELS = 8;

/** pip's options for an unattended, reproducible run with the whole log. */
const PIP_OPTIONS = ["--no-input", "--disable-pip-version-check", "--no-cache-dir", "--verbose"];
/** Exactly the one sdist, built with what is installed. */
const SOURCE_ONLY = ["--no-deps", "--no-binary", ":all:", "--no-build-isolation"];
/**
 * pip reads no configuration file (Raspberry Pi OS's /etc/pip.conf adds an index), and Python
 * writes its output as it goes, so a build killed at its timeout leaves its log up to the kill.
 */
const PIP_ENV = { PIP_CONFIG_FILE: "/dev/null", PYTHONUNBUFFERED: "1" };

/** What to build, with what, and how. */
export interface BuildOptions {
  /** The project name. */
  package: string;
  /** The version to build. */
  version: string;
  /** The simple index to fetch it from (the URL of the master's ACK). */
  indexUrl: string;
  /** The interpreter to build with (see `probeInterpreter`). */
  interpreter: Interpreter;
  /** The slave's build directory: each build gets a fresh workspace under it. */
  buildDir: string;
  /** When to kill the build. */
  timeout: Duration;
  /** The sandbox (see `Sandbox.create`). */
  sandbox: Sandbox;
  /** Fetch the sdist first, then build with no network (needs bubblewrap). */
  noNetwork?: boolean;
  /** With `noNetwork`, the most bytes the sdist may have (default `DEFAULT_SOURCE_LIMIT`). */
  sourceLimit?: number;
  /** Where progress is logged. */
  logger: Logger;
  /** How many bytes of the log to keep (its end); default {@linkcode DEFAULT_OUTPUT_LIMIT}. */
  outputLimit?: number;
}

/** A wheel the build wrote: where it lies, and its file tuple. */
export interface BuiltWheel {
  /** Its path in the build's workspace (to send it from). */
  readonly path: string;
  /** Its name, size, SHA-256, tags and dependencies (`file.asMessage()` is the tuple). */
  readonly file: FileState;
}

/** The outcome of a build, holding its workspace until {@linkcode BuildResult.cleanup}. */
export class BuildResult implements AsyncDisposable {
  /** Records an outcome. */
  constructor(
    /** Whether pip succeeded and wrote a wheel. */
    readonly status: boolean,
    /** How long the build took. */
    readonly duration: Duration,
    /** The build log (pip's stdout and stderr, and why it was killed if it was). */
    readonly output: string,
    /** The wheels written (none unless `status`). */
    readonly files: readonly BuiltWheel[],
    /** How the build ended: by itself, at the timeout (in pip or reading wheels), or on abort. */
    readonly ended: Ending,
    /** The build's workspace, holding the wheels. */
    readonly workspace: Workspace,
  ) {}

  /** Removes the build's workspace and its wheels: call it once the master said DONE. */
  async cleanup(): Promise<void> {
    await this.workspace.remove();
  }

  /** Cleans up (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }
}

/**
 * Builds `<package>==<version>`. The whole process tree is killed at the timeout or when the
 * signal aborts; either way the result is a failed build saying so in its log. The private
 * home and temporary files are gone when this returns; the wheels stay until `cleanup()`.
 * Throws only for what the settings get wrong (a malformed name, `noNetwork` without
 * bubblewrap) or the build directory failing.
 */
export async function build(options: BuildOptions, signal?: AbortSignal): Promise<BuildResult> {
  const requirement = `${checked(packageName, options.package)}==${
    checked(versionString, options.version)
  }`;
  if (options.noNetwork && !options.sandbox.canCutNetwork) {
    throw new SandboxError("a build without network needs the bubblewrap sandbox");
  }
  const started = performance.now();
  const ws = await Workspace.create(options.buildDir);
  try {
    const output = new TailBuffer(options.outputLimit ?? DEFAULT_OUTPUT_LIMIT);
    options.logger.info(`building ${requirement} in ${ws.root} (${options.sandbox.mode})`);
    // each command in the sandbox gets what is left of the build's time
    const run = (command: string[], network: boolean) =>
      options.sandbox.run({
        command,
        workspace: ws,
        network,
        readOnly: options.interpreter.prefixes,
        env: PIP_ENV,
        timeout: new Duration(
          options.timeout.micros - Math.round((performance.now() - started) * 1000),
        ),
        signal,
        output,
      });
    const pip = [options.interpreter.path, "-m", "pip", "wheel", ...PIP_OPTIONS, ...SOURCE_ONLY];
    const wheelDir = ["--wheel-dir", ws.path("wheels")];
    let end: Finished;
    if (!options.noNetwork) {
      end = await run([...pip, ...wheelDir, "--index-url", options.indexUrl, requirement], true);
    } else {
      const fetched = await fetchSource({
        project: options.package,
        version: options.version,
        indexUrl: options.indexUrl,
        python: options.interpreter.path,
        workspace: ws,
        output,
        run,
        limit: options.sourceLimit,
      });
      end = fetched.end ?? await run(
        [...pip, ...wheelDir, "--no-index", "--find-links", ws.path("sdist"), requirement],
        false,
      );
    }
    if (end.ended === "timed out") {
      output.append(`\nkilled after ${options.timeout}: the build timed out\n`);
    }
    if (end.ended === "aborted") output.append("\nkilled: the build was aborted\n");
    const ok = end.ended === "exited" && end.code === 0;
    const deadline = started + options.timeout.totalMillis();
    const read = ok
      ? await readWheels(options, ws, output, deadline, signal)
      : { found: [], ended: end.ended };
    const files = read.found ?? [];
    if (ok && read.found?.length === 0) output.append("\npip succeeded but wrote no wheel\n");
    await ws.scrub();
    const duration = Duration.fromMillis(performance.now() - started);
    const status = ok && files.length > 0;
    options.logger.info(
      `${requirement} ${status ? "built" : `failed (${read.ended})`} in ${duration}`,
    );
    return new BuildResult(status, duration, output.text(), files, read.ended, ws);
  } catch (e) {
    await ws.remove();
    throw e;
  }
}

/**
 * What reading a build's wheels came to: the wheels, or null when the build fails on them (the
 * log says why); and whether the build's timeout or an abort stopped it.
 */
interface ReadWheels {
  found: BuiltWheel[] | null;
  ended: Ending;
}

/**
 * {@linkcode wheels}, stopped at the build's deadline (`performance.now()` milliseconds) or on
 * abort: scanning and hashing are the build's time too (a wheel's scan may take minutes, and
 * hashing 2 GiB seconds). Any failure in reading them (a file the slave may not read: the
 * build's code chose what it left there) fails the build, the log saying why: a build that
 * threw sent no BUILT, and the master gave it out again, for ever.
 */
async function readWheels(
  options: BuildOptions,
  ws: Workspace,
  output: TailBuffer,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<ReadWheels> {
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  const timer = setTimeout(
    onAbort,
    Math.min(Math.max(deadline - performance.now(), 0), MAX_TIMER_MS),
  );
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal?.aborted) stop.abort();
    return { found: await wheels(options, ws, output, stop.signal), ended: "exited" };
  } catch (e) {
    if (!stop.signal.aborted) {
      output.append(`\npiw-slave: cannot read the build's wheels: ${errorMessage(e)}\n`);
      return { found: null, ended: "exited" };
    }
    if (signal?.aborted) {
      output.append("\npiw-slave: stopped: the build was aborted while its wheels were read\n");
      return { found: null, ended: "aborted" };
    }
    output.append(
      `\npiw-slave: stopped after ${options.timeout}: the build timed out while its wheels ` +
        "were read\n",
    );
    return { found: null, ended: "timed out" };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * The wheels in the workspace: regular files only (the build's code could have left a link to
 * a file of the slave's there), at most {@linkcode MAX_WHEELS}, with their dependencies, sizes
 * and hashes; null when there are more, or one is larger than a wheel may be (the build failed:
 * the log says why). Throws when `signal` aborts.
 */
async function wheels(
  options: BuildOptions,
  ws: Workspace,
  output: TailBuffer,
  signal: AbortSignal,
): Promise<BuiltWheel[] | null> {
  const dir = ws.path("wheels");
  const info = await Deno.lstat(dir).catch(() => null);
  if (!info?.isDirectory) return [];
  const named: [string, WheelTags][] = [];
  for await (const entry of Deno.readDir(dir)) {
    signal.throwIfAborted();
    if (!entry.isFile || !entry.name.endsWith(".whl")) continue;
    try {
      named.push([entry.name, parseWheelFilename(entry.name)]);
    } catch (e) {
      if (!(e instanceof WheelNameError)) throw e;
      output.append(`\nignored ${entry.name}: ${e.message}\n`);
    }
    if (named.length > MAX_WHEELS) {
      output.append(
        `\npiw-slave: the build wrote more than ${MAX_WHEELS} wheels ` +
          "(pip wheel --no-deps writes one)\n",
      );
      return null;
    }
  }
  const found: BuiltWheel[] = [];
  for (const [name, tags] of named) {
    signal.throwIfAborted();
    const path = `${dir}/${name}`;
    const size = (await Deno.lstat(path)).size;
    if (size > MAX_WHEEL_SIZE) {
      output.append(`\n${name} is ${size} bytes; a wheel may be ${MAX_WHEEL_SIZE} at most\n`);
      return null;
    }
    const dependencies = await findDependencies({
      wheel: path,
      interpreter: options.interpreter,
      sandbox: options.sandbox,
      workspace: ws,
      signal,
    });
    signal.throwIfAborted(); // a scan stopped is no scan: its dependencies are unknown
    const file = FileState.fromTags(name, size, await sha256File(path, signal), tags, dependencies);
    found.push({ path, file });
  }
  return found.sort((a, b) => a.file.filename.localeCompare(b.file.filename));
}

function checked(schema: typeof packageName | typeof versionString, value: string): string {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new TypeError(`cannot build ${JSON.stringify(value)}: ${r.error.issues[0]?.message}`);
  }
  return r.data;
}
