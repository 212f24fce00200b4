/**
 * The build slave's Worker: everything piw-slave does beyond reading its command line runs
 * here, with the narrow permissions `slave/main.ts` gives it (the master's two queues, the build
 * directory, the interpreter and the sandbox by absolute path). It runs the session with the
 * master until DIE or until the main thread says stop.
 *
 * @module
 */

import { Duration } from "../shared/duration.ts";
import { configureLogging, errorMessage, Logger, type LogSettings } from "../shared/log.ts";
import { isConfined } from "../shared/permissions.ts";
import { type BuilderSettings, SlaveBuilder } from "./build_job.ts";
import { runSession, type SessionSettings } from "./session.ts";

/** The main thread's messages to the Worker. */
export type ToWorker =
  | { type: "start"; session: SessionSettings; builder: BuilderSettings; log: LogSettings }
  | { type: "stop" };

/** The Worker's messages to the main thread. */
export type FromWorker = { type: "finished"; why: "DIE" | "stopped" } | {
  type: "failed";
  message: string;
};

const self = globalThis as unknown as {
  postMessage(message: FromWorker): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
};

const stop = new AbortController();
self.addEventListener("message", async (event) => {
  const message = event.data;
  if (message.type === "stop") return stop.abort();
  configureLogging(message.log);
  const log = new Logger("piw-slave");
  // durations crossed the thread boundary as plain objects: make them Durations again
  const revive = (d: Duration) => new Duration(d.micros);
  const session: SessionSettings = {
    ...message.session,
    timeout: revive(message.session.timeout),
    masterTimeout: revive(message.session.masterTimeout),
    sleep: revive(message.session.sleep),
  };
  const builder: BuilderSettings = { ...message.builder, timeout: revive(message.builder.timeout) };
  if (!isConfined()) {
    const why = "the slave's Worker has its parent's permissions: refusing to build unconfined";
    log.error(why);
    return self.postMessage({ type: "failed", message: why });
  }
  log.debug("the Worker's permissions are confined to the master's queues and the build directory");
  try {
    const why = await runSession(session, new SlaveBuilder(builder, log), stop.signal, log);
    self.postMessage({ type: "finished", why });
  } catch (e) {
    log.error(errorMessage(e));
    self.postMessage({ type: "failed", message: errorMessage(e) });
  }
});
