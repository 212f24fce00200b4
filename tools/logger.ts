/**
 * piw-logger (manual chapter 10): feeds a web server's access log to the master's download
 * statistics. It reads log files (gzipped or not) or stdin (an Apache piped log:
 * `CustomLog "|/usr/local/bin/piw-logger --drop" combined`), parses each line in the given
 * format, and sends what counts (WIRE.md "Logger → Lumberjack": wheel downloads and simple-page
 * fetches by pip, project pages, project JSON, other pages; status 200 with a User-Agent only)
 * to the master's Lumberjack. Lines that do not parse are counted and skipped, never fatal.
 *
 * Run with the flags `TOOLS["piw-logger"]` of `shared/flags.ts` declares.
 *
 * @module
 */

import { Option } from "commander";
import { type CommonOptions, parseCommand, parsed, toolCommand } from "../shared/config.ts";
import { endpointValue } from "../shared/option_values.ts";
import { currentLogSettings, errorMessage, Logger } from "../shared/log.ts";
import { endpointPermissions, merge, type Permissions } from "../shared/permissions.ts";
import { compileLogFormat } from "./apache_log.ts";
import type { FromLoggerWorker, ToLoggerWorker } from "./logger_worker.ts";

/** piw-logger's options. */
interface Options extends CommonOptions {
  format: string;
  logQueue: string;
  drop?: boolean;
}

const log = new Logger("piw-logger");

/**
 * The permissions of piw-logger's Worker, which reads the lines: the log queue, and the `-l`
 * log file (appended to); nothing else.
 */
export function loggerPermissions(
  opts: { logQueue: string; logFile?: string | undefined },
): Permissions {
  return merge(endpointPermissions(opts.logQueue), opts.logFile ? { write: [opts.logFile] } : {});
}

function command() {
  return toolCommand(
    "piw-logger",
    "Load web server access logs into the piwheels database (downloads, searches, page hits). " +
      "Typically used as an Apache piped log; this must run on the same machine as piw-master.",
  )
    .argument("[files...]", "the log file(s) to load (gzipped or not); stdin if none or '-'")
    .addOption(
      new Option(
        "--format <FORMAT>",
        "the Apache LogFormat the lines are in: combined, or a format string that logs the " +
          'User-Agent, such as \'%h %l %u %t "%r" %>s %b "%{User-Agent}i"\' (common and ' +
          "common_vhost log none, so nothing in them would count: they are refused)",
      ).argParser(parsed((format) => (compileLogFormat(format), format))).default("combined"),
    )
    .option(
      "--log-queue <ADDR>",
      "the address of the queue used by piw-logger (this should always be an ipc address)",
      endpointValue("connect"),
      "ipc:///tmp/piw-logger",
    )
    .option(
      "--drop",
      "drop log records the master does not take within a second; use this when running as a " +
        "piped log, so that the web server never waits",
    );
}

/**
 * Apache stops its piped loggers with SIGTERM as it closes their stdin: piw-logger then reads
 * to the end, hands on (or drops) what it holds and reports, unless that takes longer than
 * this.
 */
const TERM_GRACE_MS = 3_000;

function finishOnTerm(): void {
  Deno.addSignalListener("SIGTERM", () => {
    log.debug("SIGTERM: finishing what was read");
    Deno.unrefTimer(setTimeout(() => Deno.exit(0), TERM_GRACE_MS));
  });
}

/** Runs piw-logger; resolves to the exit status. */
export async function main(args: string[] = Deno.args): Promise<number> {
  const cmd = command();
  const opts = parseCommand<Options>(cmd, args);
  finishOnTerm();
  const sources = cmd.args.length ? cmd.args : ["-"];
  // logger_worker.ts beside this module, or logger_worker.js in a bundle (`deno task dist`)
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const worker = new Worker(new URL(`./logger_worker${extension}`, import.meta.url), {
    type: "module",
    name: "piw-logger",
    deno: { permissions: loggerPermissions(opts) },
  });
  const replies: FromLoggerWorker[] = [];
  let wake: (() => void) | undefined;
  const arrived = (reply: FromLoggerWorker) => {
    replies.push(reply);
    wake?.();
  };
  worker.addEventListener("message", (e: MessageEvent<FromLoggerWorker>) => arrived(e.data));
  worker.addEventListener("error", (e: ErrorEvent) => {
    e.preventDefault();
    arrived({ type: "failed", message: e.message });
  });
  const tell = (message: ToLoggerWorker, transfer: Transferable[] = []) =>
    worker.postMessage(message, transfer);
  const reply = async (): Promise<FromLoggerWorker> => {
    while (replies.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const next = replies.shift()!;
    if (next.type === "failed") throw new Error(next.message);
    return next;
  };
  let failed = false;
  try {
    tell({
      type: "start",
      format: opts.format,
      logQueue: opts.logQueue,
      drop: opts.drop ?? false,
      log: currentLogSettings(),
    });
    for (const source of sources) {
      const name = source === "-" ? "stdin" : source;
      let stream: ReadableStream<Uint8Array>;
      try {
        stream = source === "-" ? Deno.stdin.readable : (await Deno.open(source)).readable;
      } catch (e) {
        log.error(`cannot read ${name}: ${errorMessage(e)}`);
        failed = true;
        continue;
      }
      tell({ type: "source", name, stream }, [stream as unknown as Transferable]);
      const loaded = await reply();
      if (loaded.type === "loaded" && loaded.error) {
        log.error(`cannot read ${name}: ${loaded.error}`);
        failed = true;
      }
    }
    tell({ type: "finish" });
    const finished = await reply();
    if (finished.type !== "finished") throw new Error(`unexpected ${finished.type}`);
    const { tally, sent, dropped } = finished;
    log.info(
      `${tally.lines} line(s): ${sent} record(s) sent${dropped ? `, ${dropped} dropped` : ""}, ` +
        `${tally.ignored} not counted, ${tally.malformed} malformed (skipped)`,
    );
  } catch (e) {
    log.error(errorMessage(e));
    return 1;
  } finally {
    worker.terminate();
  }
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
