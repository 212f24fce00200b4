/**
 * What every master task shares. Each task is a module that calls {@linkcode runTask} with its
 * body; the Workers `master/main.ts` starts (`master/worker.ts`) import the modules of the
 * tasks they run and start each with its name, the master's options and logging. A task
 * listens on its control queue (PAUSE, RESUME, QUIT and, for the Slave Driver, KILL and HELLO),
 * and tells the main thread when it is ready, when it is done, and when it failed.
 *
 * Tasks talk to each other only over ZeroMQ sockets, whether they share a Worker or not; the
 * main thread only starts them, relays control and watches their lifecycle messages.
 *
 * @module
 */

import { errorMessage, Logger, type LogSettings } from "../shared/log.ts";
import {
  bigBrother,
  encodeMessage,
  type Message,
  type MessageMap,
  type Protocol,
  reverse,
  taskControl,
} from "../shared/protocols.ts";
import { Pull, Push, type Socket } from "../shared/zmq/mod.ts";
import { Metrics } from "../shared/metrics.ts";
import type { MasterOptions } from "./options.ts";
import { eachDecoded } from "../shared/receive.ts";

/** The main thread's first message to a Worker: the tasks it is to run. */
export interface WorkerInit {
  /** Marks the message. */
  type: "piwheels.init";
  /** Each task: its module (`master/tasks/<module>.ts`) and its name (for logs and control). */
  tasks: { module: string; name: string }[];
  /** The master's options. */
  options: MasterOptions;
  /** Logging as the main thread has it. */
  log: LogSettings;
}

/** What a task tells the main thread. */
export type TaskReport =
  | { type: "piwheels.ready"; name: string }
  | { type: "piwheels.done"; name: string }
  | { type: "piwheels.fatal"; name: string; message: string };

/** The control queue address of a task. */
export function controlAddress(name: string): string {
  return `inproc://control/${name}`;
}

/** The queue on which tasks hand status messages to the main thread (which publishes them). */
export const INTERNAL_STATUS = "inproc://status";

/**
 * The queue on which tasks hand the main thread status messages for our own monitors only
 * (MASTER), published to the subscribers that announce `STATUS_EXTENSION`.
 */
export const INTERNAL_STATUS_EXTENDED = "inproc://status-extended";

/** The queue the Architect listens on for REFRESH. */
export const ARCHITECT_CONTROL = "inproc://architect";

/** The queue the Seraph hands requests to the oracles on. */
export const ORACLES = "inproc://oracles";

/** The queue between the Secretary and the Scribe. */
export const SCRIBE_QUEUE = "inproc://scribe";

/** What a task body gets. */
export interface TaskContext {
  /** The task's name. */
  readonly name: string;
  /** The master's options. */
  readonly options: MasterOptions;
  /** The task's logger. */
  readonly log: Logger;
  /** Aborted when the task is told to QUIT. */
  readonly signal: AbortSignal;
  /** Whether the master is paused. */
  readonly paused: boolean;
  /** Registers a socket to be closed as soon as the task is told to QUIT (which ends the
   * loops receiving from it); returns it. */
  socket<S extends Socket>(socket: S): S;
  /** Tells the main thread the task is set up (its sockets bound). */
  ready(): void;
  /** Runs `fn` every `ms` milliseconds until the task ends (never overlapping itself). */
  every(ms: number, fn: () => Promise<void> | void): void;
  /** Resolves after `ms` milliseconds, or when the task is told to quit. */
  sleep(ms: number): Promise<void>;
  /** Called on PAUSE and RESUME, after `paused` changed. */
  onPauseChange?: (paused: boolean) => void;
  /**
   * The task's metrics: with `--metrics-file`, a snapshot goes to Big Brother every
   * {@linkcode METRICS_MS} (development mode: every second), which merges and writes them.
   */
  readonly metrics: Metrics;
}

/** How often each task's metrics go to Big Brother, and the metrics file is written. */
export const METRICS_MS = 5_000;

/**
 * Statistics are gathered on request (HOME: a monitor saying HELLO, `piw-rebuild home`) at most
 * this often; the requests that come sooner are answered together by one gathering when the
 * time is up (our monitors are told MASTER at once, so that they wait for it). Gathering reads
 * the whole database's figures, so a monitor saying HELLO in a loop must not make the database
 * do it back to back.
 */
export const HOME_MIN_MS = 5_000;

/** This Worker's side of its channel to the main thread. */
const self = globalThis as unknown as { postMessage(message: TaskReport): void };

/** A task as its module defines it: its body and its control protocol. */
export interface TaskDefinition {
  /** The task's work (see {@linkcode runTask}). */
  body: (ctx: TaskContext) => Promise<void>;
  /** Its control protocol. */
  control: Protocol<MessageMap, MessageMap>;
  /** What it does with control messages beyond PAUSE, RESUME and QUIT. */
  onControl?: (message: Message<MessageMap>) => void | Promise<void>;
}

/** The tasks defined by the modules this Worker imported, by module name. */
const defined = new Map<string, TaskDefinition>();

/**
 * Defines the task of the module `module` (`master/tasks/<module>.ts`): `body` with the control
 * protocol `control` (default: PAUSE, RESUME, QUIT); messages of `control` beyond those three go
 * to `onControl`. The Worker that imports the module runs it (as often as it is told to, each
 * with its own name). The module is named, not inferred from the order modules were imported
 * in: a bundle evaluates modules in an order of its own.
 */
export function runTask<R extends MessageMap = typeof taskControl.recv>(
  module: string,
  body: (ctx: TaskContext) => Promise<void>,
  control: Protocol<R, MessageMap> = taskControl as unknown as Protocol<R, MessageMap>,
  onControl?: (message: Message<R>) => void | Promise<void>,
): void {
  if (defined.has(module)) throw new Error(`the task of ${module} is defined twice`);
  defined.set(module, {
    body,
    control: control as unknown as Protocol<MessageMap, MessageMap>,
    onControl: onControl as TaskDefinition["onControl"],
  });
}

/** The task the module `module` defined, if it was imported. */
export function definitionOf(module: string): TaskDefinition | undefined {
  return defined.get(module);
}

/**
 * Runs a task as `name` with the master's options. When its body returns (it should return once
 * `ctx.signal` is aborted), every socket it registered is closed and the main thread hears
 * `done`; if it throws, the main thread hears `fatal`.
 */
export async function startTask(
  task: TaskDefinition,
  name: string,
  options: MasterOptions,
): Promise<void> {
  const { body, control, onControl } = task;
  const log = new Logger(name);
  const quit = new AbortController();
  const sockets: Socket[] = [];
  const timers = new Set<ReturnType<typeof setInterval>>();
  let paused = false;
  const ctx: TaskContext = {
    name: name,
    options: options,
    log,
    metrics: new Metrics(),
    signal: quit.signal,
    get paused() {
      return paused;
    },
    socket(socket) {
      sockets.push(socket);
      return socket;
    },
    ready() {
      self.postMessage({ type: "piwheels.ready", name: name });
    },
    every(ms, fn) {
      let running = false;
      const id = setInterval(async () => {
        if (running || quit.signal.aborted) return;
        running = true;
        try {
          await fn();
        } catch (e) {
          log.error(`periodic work failed: ${errorMessage(e)}`);
        } finally {
          running = false;
        }
      }, ms);
      timers.add(id);
    },
    sleep(ms) {
      return new Promise((resolve) => {
        if (quit.signal.aborted) return resolve();
        const id = setTimeout(done, ms);
        function done() {
          clearTimeout(id);
          quit.signal.removeEventListener("abort", done);
          resolve();
        }
        quit.signal.addEventListener("abort", done, { once: true });
      });
    },
  };

  quit.signal.addEventListener("abort", () => {
    for (const id of timers) clearInterval(id);
    for (const socket of sockets) socket.close();
  }, { once: true });

  const controlSocket = ctx.socket(new Pull());
  controlSocket.connect(controlAddress(name));
  // the main thread is our own code, over inproc://
  const controlLoop = eachDecoded(controlSocket, control, log, async (message) => {
    switch (message.msg) {
      case "QUIT":
        quit.abort();
        break;
      case "PAUSE":
      case "RESUME":
        paused = message.msg === "PAUSE";
        ctx.onPauseChange?.(paused);
        log.debug(paused ? "paused" : "resumed");
        break;
      default:
        await onControl?.(message);
    }
  }, { trusted: true });

  if (options.metricsFile) {
    reportHeap(ctx);
    reportMetrics(ctx);
  }
  try {
    await body(ctx);
    quit.abort();
  } catch (e) {
    quit.abort();
    log.error(`failed: ${errorMessage(e)}`);
    for (const id of timers) clearInterval(id);
    await Promise.allSettled(sockets.map((s) => s.close()));
    self.postMessage({ type: "piwheels.fatal", name: name, message: errorMessage(e) });
    return;
  }
  for (const id of timers) clearInterval(id);
  await Promise.allSettled(sockets.map((s) => s.close()));
  await controlLoop.catch(() => {});
  self.postMessage({ type: "piwheels.done", name: name });
}

const toBigBrother = reverse(bigBrother);

/** Whether a task of this Worker reports the Worker's heap (the first one started does). */
let heapReported = false;

/**
 * Has the first task started in this Worker report the Worker's V8 heap (labelled with the
 * Worker's name), so that the metrics show which of the master's isolates holds its memory.
 */
function reportHeap(ctx: TaskContext): void {
  if (heapReported) return;
  heapReported = true;
  const worker = (globalThis as { name?: string }).name || ctx.name;
  const heap = ctx.metrics.gauge(
    "piwheels_worker_heap_bytes",
    "V8 heap of each of the master's Workers: used, total (reserved) and external (buffers)",
  );
  ctx.metrics.onCollect(() => {
    const m = Deno.memoryUsage();
    heap.set(m.heapUsed, { worker, kind: "used" });
    heap.set(m.heapTotal, { worker, kind: "total" });
    heap.set(m.external, { worker, kind: "external" });
  });
}

/** Sends the task's metrics to Big Brother periodically, once it has any. */
function reportMetrics(ctx: TaskContext): void {
  const stats = ctx.socket(new Push({ linger: 0, sendTimeout: 1000 }));
  stats.connect(ctx.options.statsQueue);
  ctx.every(ctx.options.devMode ? 1_000 : METRICS_MS, async () => {
    if (ctx.metrics.empty) return;
    const message = encodeMessage(toBigBrother, "METRICS", [ctx.name, ctx.metrics.snapshot()]);
    await stats.send(message).catch(() => {});
  });
}
