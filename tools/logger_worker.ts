/**
 * piw-logger's Worker: everything that reads what a web server's clients wrote (the request
 * paths, the User-Agents: anyone's text) runs here, with only what it needs to hand the records
 * on (`loggerPermissions` in `tools/logger.ts`: the log queue, and the `-l` log file). The main
 * thread opens each source and gives the Worker its stream, one after another.
 *
 * @module
 */

import { configureLogging, errorMessage, Logger, type LogSettings } from "../shared/log.ts";
import { isConfined } from "../shared/permissions.ts";
import { compileLogFormat } from "./apache_log.ts";
import { load, type Tally } from "./log_loader.ts";
import { BlockingSender, DroppingSender, type LogSender } from "./log_sender.ts";

/** The main thread's messages to the Worker. */
export type ToLoggerWorker =
  | { type: "start"; format: string; logQueue: string; drop: boolean; log: LogSettings }
  | { type: "source"; name: string; stream: ReadableStream<Uint8Array> }
  | { type: "finish" };

/** The Worker's messages to the main thread. */
export type FromLoggerWorker =
  | { type: "loaded"; error?: string }
  | { type: "finished"; tally: Tally; sent: number; dropped: number }
  | { type: "failed"; message: string };

const self = globalThis as unknown as {
  postMessage(message: FromLoggerWorker): void;
  addEventListener(
    type: "message",
    listener: (event: MessageEvent<ToLoggerWorker>) => void,
  ): void;
};

let state: { sender: LogSender; format: ReturnType<typeof compileLogFormat> } | undefined;
const tally: Tally = { lines: 0, malformed: 0, ignored: 0 };
const log = new Logger("piw-logger");

self.addEventListener("message", async ({ data: message }) => {
  switch (message.type) {
    case "start": {
      configureLogging(message.log);
      if (!isConfined()) {
        const why = "piw-logger's Worker has its parent's permissions: refusing to read logs";
        log.error(why);
        return self.postMessage({ type: "failed", message: why });
      }
      log.debug("reading with permissions confined to the log queue and the log file");
      state = {
        sender: message.drop
          ? new DroppingSender(message.logQueue, log)
          : new BlockingSender(message.logQueue, log),
        format: compileLogFormat(message.format),
      };
      return;
    }
    case "source":
      try {
        await load(message.stream, message.name, state!.format, state!.sender, tally);
        return self.postMessage({ type: "loaded" });
      } catch (e) {
        return self.postMessage({ type: "loaded", error: errorMessage(e) });
      }
    case "finish": {
      const sender = state!.sender;
      await sender.close();
      return self.postMessage({
        type: "finished",
        tally,
        sent: sender.sent,
        dropped: sender.dropped,
      });
    }
  }
});
