/**
 * Building one wheel, as a slave does on BUILD: `pip wheel` of exactly `<package>==<version>`
 * from the index the master named, from source, without dependencies, cache or build
 * isolation (the system's setuptools and wheel build it), in the sandbox. The result carries
 * what BUILT reports: status, duration, the (bounded) log, and each wheel's file tuple.
 *
 * With `noNetwork` the source is downloaded first (pip runs the package's setup.py for its
 * metadata then too, so that is sandboxed as well) and the build itself has no network at all.
 *
 * @module
 */

import { Duration } from "../shared/duration.ts";
import { sha256File } from "../shared/hash.ts";
import type { Logger } from "../shared/log.ts";
import { packageName, versionString } from "../shared/protocols.ts";
import { FileState } from "../shared/states.ts";
import { parseWheelFilename, WheelNameError } from "../shared/wheel.ts";
import { findDependencies } from "./dependencies.ts";
import type { Interpreter } from "./interpreter.ts";
import { type Ending, type Finished, type Sandbox, SandboxError } from "./sandbox.ts";
import { TailBuffer } from "./tail.ts";
import { Workspace } from "./workspace.ts";

/**
 * The default bound of a build log: its last 4 MiB. The end holds the error; a log goes to the
 * master in one message and is kept (compressed) for every build.
 */
export const DEFAULT_OUTPUT_LIMIT = 4 * 1024 * 1024;

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
  /** Download the source first, then build with no network (needs bubblewrap). */
  noNetwork?: boolean;
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
    /** Whether pip ended by itself, at the timeout, or on abort. */
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
    let end: Finished = { ended: "exited", code: 0 };
    for (const step of pipSteps(options, ws, requirement)) {
      const left = options.timeout.micros - Math.round((performance.now() - started) * 1000);
      end = await options.sandbox.run({
        command: [options.interpreter.path, "-m", "pip", ...step.args],
        workspace: ws,
        network: step.network,
        readOnly: options.interpreter.prefixes,
        env: PIP_ENV,
        timeout: new Duration(left),
        signal,
        output,
      });
      if (end.ended !== "exited" || end.code !== 0) break;
    }
    if (end.ended === "timed out") {
      output.append(`\nkilled after ${options.timeout}: the build timed out\n`);
    }
    if (end.ended === "aborted") output.append("\nkilled: the build was aborted\n");
    const ok = end.ended === "exited" && end.code === 0;
    const files = ok ? await wheels(options, ws, output, signal) : [];
    if (ok && files.length === 0) output.append("\npip succeeded but wrote no wheel\n");
    await ws.scrub();
    const duration = Duration.fromMillis(performance.now() - started);
    const status = ok && files.length > 0;
    options.logger.info(
      `${requirement} ${status ? "built" : `failed (${end.ended})`} in ${duration}`,
    );
    return new BuildResult(status, duration, output.text(), files, end.ended, ws);
  } catch (e) {
    await ws.remove();
    throw e;
  }
}

/** The pip runs of a build: one with network, or a download then a build without. */
function pipSteps(
  options: BuildOptions,
  ws: Workspace,
  requirement: string,
): { args: string[]; network: boolean }[] {
  const wheel = ["wheel", ...PIP_OPTIONS, ...SOURCE_ONLY, "--wheel-dir", ws.path("wheels")];
  if (!options.noNetwork) {
    return [{ args: [...wheel, "--index-url", options.indexUrl, requirement], network: true }];
  }
  const sdist = ws.path("sdist");
  return [
    {
      args: ["download", ...PIP_OPTIONS, ...SOURCE_ONLY, "--dest", sdist]
        .concat(["--index-url", options.indexUrl, requirement]),
      network: true,
    },
    { args: [...wheel, "--no-index", "--find-links", sdist, requirement], network: false },
  ];
}

/**
 * The wheels in the workspace: regular files only (the build's code could have left a link to
 * a file of the slave's there), with their dependencies, sizes and hashes.
 */
async function wheels(
  options: BuildOptions,
  ws: Workspace,
  output: TailBuffer,
  signal: AbortSignal | undefined,
): Promise<BuiltWheel[]> {
  const dir = ws.path("wheels");
  const info = await Deno.lstat(dir).catch(() => null);
  if (!info?.isDirectory) return [];
  const found: BuiltWheel[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".whl")) continue;
    let tags;
    try {
      tags = parseWheelFilename(entry.name);
    } catch (e) {
      if (!(e instanceof WheelNameError)) throw e;
      output.append(`\nignored ${entry.name}: ${e.message}\n`);
      continue;
    }
    const path = `${dir}/${entry.name}`;
    const dependencies = await findDependencies({
      wheel: path,
      interpreter: options.interpreter,
      sandbox: options.sandbox,
      workspace: ws,
      signal,
    });
    const size = (await Deno.lstat(path)).size;
    const file = FileState.fromTags(entry.name, size, await sha256File(path), tags, dependencies);
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
