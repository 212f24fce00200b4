/**
 * The slave's builder as the session sees it: the interpreter probed once, the sandbox made
 * once, each BUILD run by `slave/builder.ts`, and its workspace removed when the master has
 * the files (or the build is abandoned).
 *
 * @module
 */

import type { Duration } from "../shared/duration.ts";
import type { Logger } from "../shared/log.ts";
import { build, type BuildResult } from "./builder.ts";
import { type Interpreter, probeInterpreter } from "./interpreter.ts";
import { Sandbox, SandboxError, type SandboxMode } from "./sandbox.ts";
import type { Builder, BuildJob, BuildOutcome } from "./session.ts";

/** How the slave builds. */
export interface BuilderSettings {
  /** The interpreter to build with (absolute path). */
  python: string;
  /** The build directory. */
  buildDir: string;
  /** When a build is killed. */
  timeout: Duration;
  /** How builds are confined. */
  sandbox: SandboxMode;
  /** Whether builds may use the network (if not, the sdist is fetched first; needs bwrap). */
  network: boolean;
}

/** Builds with `slave/builder.ts` in the configured sandbox. */
export class SlaveBuilder implements Builder {
  #interpreter: Interpreter | undefined;
  #sandbox: Sandbox | undefined;
  #last: BuildResult | undefined;

  /** Takes the settings; nothing is probed until needed. */
  constructor(readonly settings: BuilderSettings, readonly log: Logger) {}

  async #setup(): Promise<[Interpreter, Sandbox]> {
    this.#interpreter ??= await probeInterpreter(this.settings.python);
    this.#sandbox ??= await Sandbox.create({ mode: this.settings.sandbox, logger: this.log });
    if (!this.settings.network && !this.#sandbox.canCutNetwork) {
      throw new SandboxError("--no-network needs the bubblewrap sandbox, which is not in use");
    }
    return [this.#interpreter, this.#sandbox];
  }

  /** The interpreter's tags (a sandbox that cannot do what the settings ask fails here). */
  async tags(): Promise<{ pyVersionTag: string; abiTag: string; platformTag: string }> {
    const [interpreter] = await this.#setup();
    return interpreter;
  }

  /** Builds a release (the previous build's workspace is removed first). */
  async build(job: BuildJob, signal: AbortSignal): Promise<BuildOutcome> {
    await this.cleanup();
    const [interpreter, sandbox] = await this.#setup();
    const result = await build({
      package: job.package,
      version: job.version,
      indexUrl: job.indexUrl,
      interpreter,
      buildDir: this.settings.buildDir,
      timeout: this.settings.timeout,
      sandbox,
      noNetwork: !this.settings.network,
      logger: this.log,
    }, signal);
    this.#last = result;
    return {
      status: result.status,
      duration: result.duration,
      output: result.output,
      files: result.files.map((w) => ({ path: w.path, state: w.file })),
    };
  }

  /** Removes the last build's workspace. */
  async cleanup(): Promise<void> {
    const last = this.#last;
    this.#last = undefined;
    await last?.cleanup();
  }
}
