/**
 * What piw-logger does with each line of a log (run in its Worker, `tools/logger_worker.ts`):
 * parses it in the log format, classifies it and hands the LOG* message of what counts to the
 * sender. Lines that do not parse are counted and skipped, never fatal.
 *
 * @module
 */

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
  type LogParser,
  type LogRecord,
  parsePipUserAgent,
} from "./apache_log.ts";
import { gunzipped, readLines, TOO_LONG } from "./log_lines.ts";
import type { LogSender } from "./log_sender.ts";

/** How many malformed lines are shown (with `-v`, every one is). */
const SHOWN_MALFORMED = 5;

const log = new Logger("piw-logger");
const toMaster = reverse(lumberjack);

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
export async function load(
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
