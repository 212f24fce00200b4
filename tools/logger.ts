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
import { errorMessage, Logger } from "../shared/log.ts";
import { encodeMessage, lumberjack, reverse } from "../shared/protocols.ts";
import {
  DownloadState,
  JSONState,
  PageState,
  ProjectState,
  SearchState,
} from "../shared/states.ts";
import { Timestamp } from "../shared/timestamp.ts";
import {
  type Classified,
  classify,
  compileLogFormat,
  type LogParser,
  type LogRecord,
  parsePipUserAgent,
} from "./apache_log.ts";
import { gunzipped, readLines, TOO_LONG } from "./log_lines.ts";
import { BlockingSender, DroppingSender, type LogSender } from "./log_sender.ts";

/** piw-logger's options. */
interface Options extends CommonOptions {
  format: LogParser;
  logQueue: string;
  drop?: boolean;
}

/** How many malformed lines are shown (with `-v`, every one is). */
const SHOWN_MALFORMED = 5;

const log = new Logger("piw-logger");
const toMaster = reverse(lumberjack);

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
      ).argParser(parsed(compileLogFormat)).default(compileLogFormat("combined"), "combined"),
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

/** The LOG* message of a record that counts. */
export function logMessage(record: LogRecord, what: Classified): Uint8Array {
  const { host, userAgent } = record;
  const at = record.time ?? Timestamp.now();
  switch (what.kind) {
    case "LOGDOWNLOAD": {
      const state = new DownloadState(what.filename, host, at, parsePipUserAgent(userAgent));
      return encodeMessage(toMaster, "LOGDOWNLOAD", state.asMessage());
    }
    case "LOGSEARCH": {
      const state = new SearchState(what.package, host, at, parsePipUserAgent(userAgent));
      return encodeMessage(toMaster, "LOGSEARCH", state.asMessage());
    }
    case "LOGPROJECT":
      return encodeMessage(
        toMaster,
        "LOGPROJECT",
        new ProjectState(what.package, host, at, userAgent).asMessage(),
      );
    case "LOGJSON": {
      // as piwheels logs a JSON hit: the agent's name alone, lower-cased (`curl/7.88.1` → `curl`)
      const agent = userAgent.split("/", 1)[0]!.toLowerCase();
      return encodeMessage(
        toMaster,
        "LOGJSON",
        new JSONState(what.package, host, at, agent).asMessage(),
      );
    }
    case "LOGPAGE":
      return encodeMessage(
        toMaster,
        "LOGPAGE",
        new PageState(what.page, host, at, userAgent).asMessage(),
      );
  }
}

/** What became of the lines read. */
export interface Tally {
  /** Lines read. */
  lines: number;
  /** Lines that did not parse in the format (or were too long), skipped. */
  malformed: number;
  /** Lines that parsed but count for nothing (not status 200, no User-Agent, other files). */
  ignored: number;
}

/** Parses, classifies and hands on every line of one source. */
async function load(
  stream: ReadableStream<Uint8Array>,
  name: string,
  parser: LogParser,
  sender: LogSender,
  tally: Tally,
): Promise<void> {
  let number = 0;
  for await (const line of readLines(await gunzipped(stream))) {
    tally.lines++;
    number++;
    const record = line === TOO_LONG ? null : parser.parse(line);
    if (record === null) {
      const shown = line === TOO_LONG ? "(too long)" : JSON.stringify(line.slice(0, 200));
      const why = `${name}, line ${number}: not in the log format, skipped: ${shown}`;
      if (++tally.malformed <= SHOWN_MALFORMED) log.warning(why);
      else log.debug(why);
      continue;
    }
    const what = classify(record);
    if (what === null) {
      tally.ignored++;
      continue;
    }
    let frame: Uint8Array;
    try {
      frame = logMessage(record, what);
    } catch (e) {
      // what the protocol refuses (a package name no project has), or anything else odd about
      // the line: it is skipped like the rest, never fatal
      log.debug(`${name}, line ${number}: ${errorMessage(e)}`);
      tally.ignored++;
      continue;
    }
    await sender.send(frame);
  }
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
  const sender = opts.drop
    ? new DroppingSender(opts.logQueue, log)
    : new BlockingSender(opts.logQueue, log);
  const tally: Tally = { lines: 0, malformed: 0, ignored: 0 };
  let failed = false;
  for (const source of sources) {
    try {
      const stream = source === "-" ? Deno.stdin.readable : (await Deno.open(source)).readable;
      await load(stream, source === "-" ? "stdin" : source, opts.format, sender, tally);
    } catch (e) {
      log.error(`cannot read ${source === "-" ? "stdin" : source}: ${errorMessage(e)}`);
      failed = true;
    }
  }
  await sender.close();
  const dropped = sender.dropped ? `, ${sender.dropped} dropped` : "";
  log.info(
    `${tally.lines} line(s): ${sender.sent} record(s) sent${dropped}, ${tally.ignored} not ` +
      `counted, ${tally.malformed} malformed (skipped)`,
  );
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
