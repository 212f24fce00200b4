/**
 * What every master task shares. Each task is a module Worker started by `master/main.ts`; it
 * calls {@linkcode runTask} with its body, gets its options and logging from the main thread,
 * listens on its control queue (PAUSE, RESUME, QUIT and, for the Slave Driver, KILL and HELLO),
 * and tells the main thread when it is ready, when it is done, and when it failed.
 *
 * Tasks talk to each other only over ZeroMQ sockets; the main thread only starts them, relays
 * control and watches their lifecycle messages.
 *
 * @module
 */

import { configureLogging, errorMessage, Logger, type LogSettings } from "../shared/log.ts";
import { type Message, type MessageMap, type Protocol, taskControl } from "../shared/protocols.ts";
import { Pull, type Socket } from "../shared/zmq/mod.ts";
import type { MasterOptions } from "./options.ts";
import { eachDecoded } from "../shared/receive.ts";

/** The main thread's first message to a task. */
export interface TaskInit {
  /** Marks the message. */
  type: "piwheels.init";
  /** The task's name (for logs and its control queue). */
  name: string;
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
}

/** This Worker's side of its channel to the main thread. */
const self = globalThis as unknown as {
  postMessage(message: TaskReport): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent) => void): void;
};

function waitForInit(): Promise<TaskInit> {
  return new Promise((resolve) => {
    const listener = (event: MessageEvent) => {
      const data = event.data as TaskInit | undefined;
      if (data?.type === "piwheels.init") {
        self.removeEventListener("message", listener);
        resolve(data);
      }
    };
    self.addEventListener("message", listener);
  });
}

/**
 * Runs a task body in this Worker with the control protocol `control` (default: PAUSE,
 * RESUME, QUIT). Messages of `control` beyond those three go to `onControl`. When the body
 * returns (it should return once `ctx.signal` is aborted), every registered socket is closed
 * and the main thread hears `done`; if it throws, the main thread hears `fatal`.
 */
export async function runTask<R extends MessageMap = typeof taskControl.recv>(
  body: (ctx: TaskContext) => Promise<void>,
  control: Protocol<R, MessageMap> = taskControl as unknown as Protocol<R, MessageMap>,
  onControl?: (message: Message<R>) => void | Promise<void>,
): Promise<void> {
  const init = await waitForInit();
  configureLogging(init.log);
  const log = new Logger(`${init.name}`);
  const quit = new AbortController();
  const sockets: Socket[] = [];
  const timers = new Set<ReturnType<typeof setInterval>>();
  let paused = false;
  const ctx: TaskContext = {
    name: init.name,
    options: init.options,
    log,
    signal: quit.signal,
    get paused() {
      return paused;
    },
    socket(socket) {
      sockets.push(socket);
      return socket;
    },
    ready() {
      self.postMessage({ type: "piwheels.ready", name: init.name });
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
  controlSocket.connect(controlAddress(init.name));
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
  });

  try {
    await body(ctx);
    quit.abort();
  } catch (e) {
    quit.abort();
    log.error(`failed: ${errorMessage(e)}`);
    for (const id of timers) clearInterval(id);
    await Promise.allSettled(sockets.map((s) => s.close()));
    self.postMessage({ type: "piwheels.fatal", name: init.name, message: errorMessage(e) });
    return;
  }
  for (const id of timers) clearInterval(id);
  await Promise.allSettled(sockets.map((s) => s.close()));
  await controlLoop.catch(() => {});
  self.postMessage({ type: "piwheels.done", name: init.name });
}
