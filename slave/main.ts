/**
 * piw-slave: reads its command line and configuration, takes its build directory (a lock keeps
 * a second slave out; what a killed slave left there is removed), then runs the slave in a
 * Worker whose Deno permissions are the narrowest that work (`slave/permissions.ts`
 * `slavePermissions`): the master's two queues, the build directory, and the interpreter and
 * the sandbox tool by absolute path. Builds themselves run under bubblewrap
 * (`slave/sandbox.ts`), since a child process escapes Deno's permissions. SIGTERM or Ctrl+C, in
 * any state: what the slave waits for is given up (a build is killed), BYE is said to a master
 * that knows it, and the slave exits 0; a second signal exits at once.
 *
 * @module
 */

import { parseCommand } from "../shared/config.ts";
import { type CurveClient, curveClientFrom, CurveOptionError } from "../shared/curve_setup.ts";
import { BuildDir, LOCK_FILE } from "./build_dir.ts";
import { slavePermissions } from "./permissions.ts";
import { currentLogSettings, errorMessage, Logger } from "../shared/log.ts";
import type { FromWorker, ToWorker } from "./worker.ts";
import { slaveCommand, type SlaveOptions } from "./options.ts";

const log = new Logger("piw-slave");

function defaultBuildDir(): string {
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? "/tmp"}/.cache`;
  return `${cache}/piwheels/build`;
}

async function main(): Promise<number> {
  const options = parseCommand<SlaveOptions>(
    slaveCommand({ hostname: Deno.hostname().split(".")[0]!, buildDir: defaultBuildDir() }),
  );
  let curve: CurveClient | undefined;
  try {
    curve = await curveClientFrom(options);
  } catch (e) {
    if (!(e instanceof CurveOptionError)) throw e;
    log.error(e.message);
    return 2;
  }
  const slaveQueue = options.slaveQueue ?? `tcp://${options.master}:5555`;
  const fileQueue = options.fileQueue ?? `tcp://${options.master}:5556`;
  // held until the process ends: a second slave on the same directory is refused
  const buildDir = await BuildDir.claim(options.buildDir);
  log.debug(`holding the build directory ${buildDir.path} (${LOCK_FILE})`);
  if (buildDir.removed.length > 0) {
    log.info(
      `removed ${buildDir.removed.length} stale build director${
        buildDir.removed.length === 1 ? "y" : "ies"
      } from ${options.buildDir}: ${buildDir.removed.join(", ")}`,
    );
  }
  const builder = {
    python: options.python,
    buildDir: options.buildDir,
    timeout: options.timeout,
    sandbox: options.sandbox,
    network: options.network,
  };
  // worker.ts beside this module, or worker.js in a bundle (`deno task dist`)
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const worker = new Worker(new URL(`./worker${extension}`, import.meta.url), {
    type: "module",
    name: "piw-slave",
    deno: {
      permissions: slavePermissions({
        slaveQueue,
        fileQueue,
        python: options.python,
        buildDir: options.buildDir,
        sandbox: options.sandbox,
        logFile: options.logFile,
      }),
    },
  });
  const finished = Promise.withResolvers<FromWorker>();
  worker.addEventListener("message", (e: MessageEvent<FromWorker>) => finished.resolve(e.data));
  worker.addEventListener("error", (e: ErrorEvent) => {
    e.preventDefault();
    finished.resolve({ type: "failed", message: e.message });
  });
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) {
      log.warning("stopping now");
      worker.terminate();
      Deno.exit(1);
    }
    log.info("stopping: the build (if any) is killed and the master told BYE");
    worker.postMessage({ type: "stop" } satisfies ToWorker);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const start: ToWorker = {
    type: "start",
    session: {
      slaveQueue,
      fileQueue,
      timeout: options.timeout,
      label: options.label,
      masterTimeout: options.masterTimeout,
      sleep: options.sleep,
      curve,
    },
    builder,
    log: currentLogSettings(),
  };
  worker.postMessage(start);
  const result = await finished.promise;
  worker.terminate();
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  if (result.type === "failed") {
    log.error(result.message);
    return 1;
  }
  log.info(result.why === "DIE" ? "the master said DIE: goodbye" : "stopped");
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    log.error(errorMessage(e));
    Deno.exit(1);
  }
}
