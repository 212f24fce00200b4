/**
 * Following PyPI: a {@linkcode ChangeFeed} turns PyPI's event log into the few kinds of event
 * the farm acts on. {@linkcode XmlRpcChangeFeed} reads the XML-RPC `changelog_since_serial`; a
 * PEP 691 or RSS feed can replace it behind the same interface.
 *
 * @module
 */

import { Timestamp, TimestampError } from "../shared/timestamp.ts";
import { call, XmlRpcError, type XmlRpcValue } from "./xmlrpc.ts";

/** What happened on PyPI, reduced to what the farm acts on. */
export type PyPIEventKind =
  /** A new project. */
  | "create"
  /** A release got a source distribution (it can be built). */
  | "source"
  /** A release got a binary file only (it is registered, skipped as binary-only). */
  | "binary"
  /** A release was removed. */
  | "remove-version"
  /** A project was removed. */
  | "remove-package"
  /** A release was yanked (PEP 592). */
  | "yank"
  /** A release was un-yanked. */
  | "unyank";

/** One event of the feed. */
export interface PyPIEvent {
  /** What happened. */
  kind: PyPIEventKind;
  /** The project, as PyPI spells it. */
  package: string;
  /** The release, when the event concerns one. */
  version: string | null;
  /** When it happened. */
  timestamp: Timestamp;
  /** PyPI's serial of the event. */
  serial: number;
}

/** A batch of events and the serial to continue from. */
export interface ChangeBatch {
  /** The events the farm acts on, oldest first. */
  events: PyPIEvent[];
  /** The highest serial seen (ignored actions included): where the next call starts. */
  serial: number;
  /** How many rows could not be read (and were skipped). */
  skipped: number;
  /** Why, for the first {@linkcode MAX_REASONS} of them. */
  reasons: string[];
  /**
   * How many rows were past the serial PyPI says is its last (`changelog_last_serial`): left
   * for a later batch, since taking one would make every later batch start after it.
   */
  ahead: number;
}

/** How many reasons for skipped rows a batch keeps. */
export const MAX_REASONS = 3;

/** A source of PyPI events after a serial. */
export interface ChangeFeed {
  /** The events after `serial`, oldest first (possibly a bounded batch of them). */
  since(serial: number): Promise<ChangeBatch>;
}

const ADD_FILE = /^add (\S+) file /;

/** Maps one PyPI changelog action to our event kind, or null for actions we ignore. */
export function classifyAction(action: string, version: string | null): PyPIEventKind | null {
  const add = ADD_FILE.exec(action);
  if (add) return add[1] === "source" ? "source" : "binary";
  if (action === "create") return "create";
  if (action === "remove project") return "remove-package";
  if (action === "remove" || action === "remove release") {
    return version ? "remove-version" : "remove-package";
  }
  if (action.startsWith("yank release")) return "yank";
  if (action.startsWith("unyank release")) return "unyank";
  return null;
}

/** A row's serial, when it has one the farm can keep (a safe integer), or null. */
function rowSerial(row: XmlRpcValue): number | null {
  const serial = Array.isArray(row) ? row[4] : undefined;
  return typeof serial === "number" && Number.isSafeInteger(serial) && serial >= 0 ? serial : null;
}

/** A row as an event; raises {@linkcode XmlRpcError} saying why it cannot be one. */
function asEvent(row: XmlRpcValue): Omit<PyPIEvent, "kind"> & { kind: PyPIEventKind | null } {
  if (!Array.isArray(row) || row.length < 5) {
    throw new XmlRpcError("changelog row is not [name, version, time, action, serial]");
  }
  const [name, version, time, action] = row;
  const serial = rowSerial(row);
  if (typeof name !== "string" || typeof action !== "string" || serial === null) {
    throw new XmlRpcError(`malformed changelog row ${JSON.stringify(row).slice(0, 200)}`);
  }
  const v = typeof version === "string" && version !== "" ? version : null;
  const kind = classifyAction(action, v);
  let timestamp;
  try {
    timestamp = typeof time === "number"
      ? Timestamp.fromEpochSeconds(time)
      : time instanceof Date
      ? Timestamp.fromDate(time)
      : Timestamp.now();
  } catch (e) {
    if (!(e instanceof TimestampError)) throw e;
    throw new XmlRpcError(`changelog row ${serial}: ${e.message}`);
  }
  return { kind, package: name, version: v, timestamp, serial };
}

/** PyPI's XML-RPC changelog (`changelog_since_serial`). */
export class XmlRpcChangeFeed implements ChangeFeed {
  /** Follows the XML-RPC service at `url` (e.g. `https://pypi.org/pypi`). */
  constructor(readonly url: string, readonly timeoutMs = 60_000) {}

  /**
   * The events after `serial`, oldest first. A row that cannot be read is skipped (and said
   * why), or the changelog would stop at it for good; a row at or before `serial` is one
   * applied already, replayed; a row past PyPI's last serial (asked after the batch) is left:
   * the serial kept only grows, so one such row would otherwise end following PyPI for good.
   */
  async since(serial: number): Promise<ChangeBatch> {
    const rows = await call(this.url, "changelog_since_serial", [serial], this.timeoutMs);
    if (!Array.isArray(rows)) throw new XmlRpcError("changelog_since_serial did not return a list");
    const newest = rows.length > 0 ? await this.lastSerial() : serial;
    const events: PyPIEvent[] = [];
    const reasons: string[] = [];
    let skipped = 0;
    let ahead = 0;
    let last = serial;
    for (const row of rows) {
      const at = rowSerial(row);
      if (at !== null && at <= serial) continue;
      if (at !== null && at > newest) {
        ahead++;
        continue;
      }
      if (at !== null) last = Math.max(last, at);
      try {
        const e = asEvent(row);
        if (e.kind !== null) events.push({ ...e, kind: e.kind });
      } catch (e) {
        if (!(e instanceof XmlRpcError)) throw e;
        if (skipped++ < MAX_REASONS) reasons.push(e.message);
      }
    }
    events.sort((a, b) => a.serial - b.serial);
    return { events, serial: last, skipped, reasons, ahead };
  }

  /** PyPI's last serial (`changelog_last_serial`). */
  async lastSerial(): Promise<number> {
    const last = await call(this.url, "changelog_last_serial", [], this.timeoutMs);
    if (typeof last !== "number" || !Number.isSafeInteger(last) || last < 0) {
      throw new XmlRpcError("changelog_last_serial did not return a serial");
    }
    return last;
  }
}
