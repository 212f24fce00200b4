/**
 * piw-master: starts every task of the manual's chapter 11.3 in a few Workers (the tasks of
 * one Worker share its narrowed permissions and talk over sockets like the others, without a
 * thread hop), binds the control (PULL) and status (PUB) queues of the monitors, relays PAUSE,
 * RESUME, KILL, HELLO and QUIT to the tasks, and shuts everything down cleanly on QUIT, SIGINT
 * or SIGTERM. A task that fails brings the whole master down (exit code 1) rather than leaving
 * it half alive.
 *
 * @module
 */

import { currentLogSettings, errorMessage, Logger } from "../shared/log.ts";
import {
  bigBrother,
  encodeMessage,
  masterControl,
  MAX_CONNECTIONS,
  MAX_STATUS_MESSAGE,
  reverse,
  slaveDriverControl,
  STATUS_EXTENSION,
  taskControl,
} from "../shared/protocols.ts";
import { VERSION } from "../shared/version.ts";
import { attachWorker, Publisher, Pull, Push } from "../shared/zmq/mod.ts";
import { defaultDataDir, type MasterOptions, parseMasterOptions } from "./options.ts";
import { checkStartup, StartupError } from "./startup.ts";
import type { Permissions } from "../shared/permissions.ts";
import { merge } from "../shared/permissions.ts";
import { taskPermissions } from "./permissions.ts";
import type { FileWriterPort } from "./file_writer.ts";
import { eachDecoded, eachMessage } from "../shared/receive.ts";
import {
  controlAddress,
  INTERNAL_STATUS,
  INTERNAL_STATUS_EXTENDED,
  type TaskReport,
  type WorkerInit,
} from "./task.ts";
import type { PeerInfo } from "../shared/zmq/mod.ts";

const log = new Logger("piw-master");

/** The Workers' modules are `.ts` beside this one, or `.js` in a bundle (`deno task dist`). */
const EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/**
 * The master's Workers (`master/workers/<group>.ts`, which imports the modules of these tasks
 * in this order) and the tasks each runs. Each is an isolate of its own (memory) and a
 * thread of its own (a message between two costs a wake-up): the database (Seraph and the
 * Oracles, whose connections nothing else touches) with the Lumberjack, which speaks mostly to
 * them; what the slaves and the admin tools speak to, which decides every build (the Slave
 * Driver, the File Juggler, Mr. Chase, the Architect); and the web site (the Secretary, the
 * Scribe, Big Brother) with Cloud Gazer, whose page rendering and reading of PyPI's answers
 * (hundreds of milliseconds for a large one) would otherwise hold the slaves or the database's
 * answers up.
 */
const WORKERS: Record<string, readonly (typeof TASKS)[number][]> = {
  database: ["seraph", "the_oracle", "lumberjack"],
  slaves: ["slave_driver", "file_juggler", "mr_chase", "the_architect"],
  web: ["the_secretary", "the_scribe", "big_brother", "cloud_gazer"],
};

/** The tasks in the order they stop (front first; the database last). */
const TASKS = [
  "cloud_gazer",
  "lumberjack",
  "mr_chase",
  "slave_driver",
  "file_juggler",
  "big_brother",
  "the_architect",
  "the_secretary",
  "the_scribe",
  "the_oracle",
  "seraph",
] as const;

/** How long a task may take to get ready (an embedded database is created on first start). */
const READY_TIMEOUT_MS = 120_000;
/** How long a task may take to stop before it is terminated. */
const STOP_TIMEOUT_MS = 10_000;
/** The same after a failure. */
const FAILED_STOP_MS = 2_000;

interface Running {
  name: string;
  module: string;
  worker: Worker;
  /** The Worker's tasks, this one included. */
  siblings: Running[];
  control: Push;
  ready: PromiseWithResolvers<void>;
  done: PromiseWithResolvers<void>;
  /** Whether it has ended (done, failed or crashed): there is nothing left to stop. */
  ended: boolean;
}

const toTask = reverse(taskControl);
const toDriver = reverse(slaveDriverControl);
const toStats = reverse(bigBrother);

class Master {
  readonly tasks: Running[] = [];
  /** Threads that run no task: the File Juggler's writing thread. */
  readonly helpers: Worker[] = [];
  readonly failed = Promise.withResolvers<string>();
  /** Whether every task got ready: before that, stopping one that takes long warns nobody. */
  started = false;
  #stopping: Promise<void> | undefined;

  constructor(readonly options: MasterOptions, readonly permissions: Record<string, Permissions>) {}

  /** Starts a Worker running these tasks (module, name); resolves to them. */
  async start(group: string, tasks: { module: string; name: string }[]): Promise<Running[]> {
    const worker = new Worker(new URL(`./workers/${group}${EXTENSION}`, import.meta.url), {
      type: "module",
      name: group,
      deno: { permissions: merge(...tasks.map((t) => this.permissions[t.module]!)) },
    });
    attachWorker(worker);
    const running: Running[] = [];
    for (const { module, name } of tasks) {
      const control = new Push({ linger: 1000, sendTimeout: 5000 });
      await control.bind(controlAddress(name));
      running.push({
        name,
        module,
        worker,
        siblings: running,
        control,
        ready: Promise.withResolvers(),
        done: Promise.withResolvers(),
        ended: false,
      });
    }
    const byName = new Map(running.map((t) => [t.name, t]));
    const ended = (task: Running) => {
      task.ended = true;
      task.done.resolve();
    };
    worker.addEventListener("message", (event: MessageEvent) => {
      const report = event.data as TaskReport;
      const task = byName.get(report?.name);
      if (!task) return;
      if (report.type === "piwheels.ready") task.ready.resolve();
      else if (report.type === "piwheels.done") ended(task);
      else if (report.type === "piwheels.fatal") {
        ended(task); // its body has returned: nothing is left to stop
        task.ready.reject(new Error(report.message));
        this.failed.resolve(`${task.name} failed: ${report.message}`);
      }
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      event.preventDefault();
      const why = `${group} crashed: ${event.message}`;
      for (const task of running) {
        ended(task);
        task.ready.reject(new Error(why));
      }
      this.failed.resolve(why);
    });
    if (tasks.some((t) => t.module === "file_juggler")) this.#startFileWriter(worker);
    const init: WorkerInit = {
      type: "piwheels.init",
      tasks,
      options: this.options,
      log: currentLogSettings(),
    };
    worker.postMessage(init);
    this.tasks.push(...running);
    return running;
  }

  /**
   * Starts the File Juggler's writing thread (`master/file_writer.ts`), and hands it and the
   * Juggler's Worker `juggler` the two ports of a channel, before the Juggler starts.
   */
  #startFileWriter(juggler: Worker): void {
    const writer = new Worker(new URL(`./workers/file_writer${EXTENSION}`, import.meta.url), {
      type: "module",
      name: "file_writer",
      deno: { permissions: this.permissions.file_writer! },
    });
    writer.addEventListener("error", (event: ErrorEvent) => {
      event.preventDefault();
      this.failed.resolve(`the file writing thread crashed: ${event.message}`);
    });
    const { port1, port2 } = new MessageChannel();
    writer.postMessage({ type: "piwheels.file_writer", port: port1 } satisfies FileWriterPort, [
      port1,
    ]);
    juggler.postMessage({ type: "piwheels.file_writer", port: port2 } satisfies FileWriterPort, [
      port2,
    ]);
    this.helpers.push(writer);
  }

  async tell(names: string[], msg: "PAUSE" | "RESUME" | "QUIT"): Promise<void> {
    await Promise.all(
      this.tasks.filter((t) => names.includes(t.module)).map((t) =>
        t.control.send(encodeMessage(toTask, msg)).catch(() => {})
      ),
    );
  }

  /** Tells the Slave Driver `frame` (a message of `slaveDriverControl`). */
  async driver(frame: Uint8Array): Promise<void> {
    const task = this.tasks.find((t) => t.module === "slave_driver");
    await task?.control.send(frame).catch(() => {});
  }

  /**
   * Stops the tasks: front first, each within {@linkcode STOP_TIMEOUT_MS}, so that the last
   * ones (the Secretary saving its pending work, the Oracles) still have the database; after a
   * failure, all at once within {@linkcode FAILED_STOP_MS} (tasks may be waiting on the one
   * that failed). A task that has ended is not waited for; one that is terminated is warned
   * about only once the master had started (before, it had nothing to save, and was likely
   * waiting on the task that failed).
   */
  stop(failed: boolean): Promise<void> {
    const quit = async (t: Running, ms: number) => {
      if (!t.ended) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
        // the wait starts now: a task that does not take QUIT must not hold it up further
        t.control.send(encodeMessage(toTask, "QUIT")).catch(() => {});
        if (await Promise.race([t.done.promise, timeout]) === "timeout") {
          const why = `${t.name} did not stop in time; terminating it`;
          if (this.started) log.warning(why);
          else log.debug(why);
        }
        clearTimeout(timer);
      }
      await t.control.close();
      // the Worker goes once the last of its tasks has
      if (t.siblings.every((x) => x.ended)) t.worker.terminate();
    };
    this.#stopping ??= (async () => {
      if (failed) {
        await Promise.all(this.tasks.map((t) => quit(t, FAILED_STOP_MS)));
      } else {
        for (const module of TASKS) {
          const group = this.tasks.filter((t) => t.module === module);
          await Promise.all(group.map((t) => quit(t, STOP_TIMEOUT_MS)));
        }
      }
      // a task that did not stop in time leaves its Worker behind: it goes now
      for (const t of this.tasks) t.worker.terminate();
      for (const helper of this.helpers) helper.terminate();
    })();
    return this.#stopping;
  }
}

/** A signal or QUIT that came before every task was ready. */
class Stopped extends Error {
  override name = "Stopped";
}

/**
 * Lets the master's group use an ipc:// queue (the monitors' control and status queues), as
 * deployed masters do: a monitor run by another user of the group may connect to it.
 */
async function groupWritable(endpoint: string): Promise<void> {
  if (!endpoint.startsWith("ipc://")) return;
  const path = endpoint.slice("ipc://".length);
  const { mode } = await Deno.stat(path);
  if (mode !== null) await Deno.chmod(path, (mode & 0o7777) | 0o020);
}

async function main(): Promise<number> {
  const options = parseMasterOptions();
  options.dsn ??= `pglite://${defaultDataDir()}/db`;
  // what monitors send (subscriptions, control messages) is small: nothing larger is read
  const limits = { maxMessageSize: MAX_STATUS_MESSAGE, maxConnections: MAX_CONNECTIONS.other };
  const status = new Publisher({ linger: 0, ...limits });
  const control = new Pull(limits);
  const bind = (socket: Publisher | Pull, option: string, address: string) =>
    socket.bind(address).catch((e) => {
      throw new StartupError(`cannot bind ${option} ${address}: ${errorMessage(e)}`);
    });
  try {
    await checkStartup({ ...options, dsn: options.dsn });
    await groupWritable(await bind(status, "--status-queue", options.statusQueue));
    await groupWritable(await bind(control, "--control-queue", options.controlQueue));
  } catch (e) {
    await Promise.all([status.close(), control.close()]);
    if (!(e instanceof StartupError)) throw e;
    log.error(e.message);
    return 2;
  }
  log.info(`piw-master ${VERSION} starting: database ${options.dsn.replace(/:[^:@/]*@/, ":***@")}`);
  const master = new Master(options, taskPermissions(options));

  const internal = new Pull();
  await internal.bind(INTERNAL_STATUS);
  const relaying = eachMessage(internal, (frames) => status.send(frames).catch(() => {}));
  // what deployed monitors would reject goes only to ours, which announce the extension
  const ours = (peer: PeerInfo) =>
    peer.peerMetadata.get(STATUS_EXTENSION.property.toLowerCase()) === STATUS_EXTENSION.value;
  const internalExtended = new Pull();
  await internalExtended.bind(INTERNAL_STATUS_EXTENDED);
  const relayingExtended = eachMessage(
    internalExtended,
    (frames) => status.send(frames, ours).catch(() => {}),
  );
  const stats = new Push({ linger: 0, sendTimeout: 1000 });
  stats.connect(options.statsQueue);

  const quit = Promise.withResolvers<string>();
  const onSignal = (signal: Deno.Signal) => () => quit.resolve(`received ${signal}`);
  const signals: [Deno.Signal, () => void][] = [["SIGINT", onSignal("SIGINT")], [
    "SIGTERM",
    onSignal("SIGTERM"),
  ]];
  for (const [signal, handler] of signals) Deno.addSignalListener(signal, handler);

  const controlling = eachDecoded(control, masterControl, log, async (m) => {
    log.info(`control: ${m.msg}${m.msg === "KILL" ? ` ${m.data}` : ""}`);
    switch (m.msg) {
      case "QUIT":
        return quit.resolve("told to QUIT");
      case "PAUSE":
      case "RESUME":
        return await master.tell([...TASKS], m.msg);
      case "KILL":
        return await master.driver(encodeMessage(toDriver, "KILL", m.data));
      case "HELLO":
        await master.driver(encodeMessage(toDriver, "HELLO"));
        await stats.send(encodeMessage(toStats, "HOME")).catch(() => {});
    }
  });

  let code = 0;
  try {
    const oracles = options.dsn.startsWith("pglite://") ? 1 : 3;
    const started: Running[] = [];
    for (const [group, modules] of Object.entries(WORKERS)) {
      const tasks = modules.flatMap((module): { module: string; name: string }[] =>
        module === "the_oracle"
          ? Array.from({ length: oracles }, (_, i) => ({ module, name: `the_oracle_${i + 1}` }))
          : [{ module, name: module }]
      );
      started.push(...await master.start(group, tasks));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) =>
      timer = setTimeout(
        () => reject(new Error("the tasks did not get ready in time")),
        READY_TIMEOUT_MS,
      )
    );
    const stopped = await Promise.race([
      Promise.all(started.map((t) => t.ready.promise)).then(() => null),
      quit.promise,
      timeout,
      master.failed.promise.then((why) => {
        throw new Error(why);
      }),
    ]).finally(() => clearTimeout(timer));
    if (stopped !== null) throw new Stopped(stopped);
    master.started = true;
    // the Slave Driver publishes the slaves' states only while something subscribes to them;
    // one MONITORS out at a time, the latest state after it (a peer subscribing and cancelling
    // in a loop queues nothing)
    let told: boolean | undefined;
    let telling = false;
    const tellMonitors = async () => {
      if (telling) return;
      telling = true;
      try {
        while (told !== status.subscribed) {
          told = status.subscribed;
          await master.driver(encodeMessage(toDriver, "MONITORS", told));
        }
      } finally {
        telling = false;
      }
    };
    status.onSubscribedChange = () => void tellMonitors();
    await tellMonitors();
    log.info(
      `ready: slaves on ${options.slaveQueue}, files on ${options.fileQueue}, web site in ${options.outputPath}`,
    );
    const why = await Promise.race([
      quit.promise,
      master.failed.promise.then((w) => {
        code = 1;
        return w;
      }),
    ]);
    log.info(`stopping: ${why}`);
  } catch (e) {
    if (e instanceof Stopped) {
      log.info(`stopping before every task was ready: ${e.message}`);
    } else {
      log.error(errorMessage(e));
      code = 1;
    }
  }
  await master.stop(code !== 0);
  for (const [signal, handler] of signals) Deno.removeSignalListener(signal, handler);
  await Promise.all([
    control.close(),
    internal.close(),
    internalExtended.close(),
    status.close(),
    stats.close(),
  ]);
  await Promise.allSettled([controlling, relaying, relayingExtended]);
  log.info(code === 0 ? "stopped" : "stopped after a failure");
  return code;
}

if (import.meta.main) Deno.exit(await main());
