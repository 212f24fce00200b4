/**
 * Following PyPI: a {@linkcode ChangeFeed} turns PyPI's event log into the few kinds of event
 * the farm acts on. {@linkcode XmlRpcChangeFeed} reads the XML-RPC `changelog_since_serial`; a
 * PEP 691 or RSS feed can replace it behind the same interface.
 *
 * @module
 */

import { Timestamp } from "../shared/timestamp.ts";
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
}

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

function asEvent(row: XmlRpcValue): Omit<PyPIEvent, "kind"> & { kind: PyPIEventKind | null } {
  if (!Array.isArray(row) || row.length < 5) {
    throw new XmlRpcError("changelog row is not [name, version, time, action, serial]");
  }
  const [name, version, time, action, serial] = row;
  if (typeof name !== "string" || typeof action !== "string" || typeof serial !== "number") {
    throw new XmlRpcError(`malformed changelog row ${JSON.stringify(row)}`);
  }
  const v = typeof version === "string" && version !== "" ? version : null;
  const kind = classifyAction(action, v);
  const timestamp = typeof time === "number"
    ? Timestamp.fromEpochSeconds(time)
    : time instanceof Date
    ? Timestamp.fromDate(time)
    : Timestamp.now();
  return { kind, package: name, version: v, timestamp, serial };
}

/** PyPI's XML-RPC changelog (`changelog_since_serial`). */
export class XmlRpcChangeFeed implements ChangeFeed {
  /** Follows the XML-RPC service at `url` (e.g. `https://pypi.org/pypi`). */
  constructor(readonly url: string, readonly timeoutMs = 60_000) {}

  /** The events after `serial`, oldest first; malformed rows raise {@linkcode XmlRpcError}. */
  async since(serial: number): Promise<ChangeBatch> {
    const rows = await call(this.url, "changelog_since_serial", [serial], this.timeoutMs);
    if (!Array.isArray(rows)) throw new XmlRpcError("changelog_since_serial did not return a list");
    const events: PyPIEvent[] = [];
    let last = serial;
    for (const row of rows) {
      const e = asEvent(row);
      last = Math.max(last, e.serial);
      if (e.kind !== null) events.push({ ...e, kind: e.kind });
    }
    return { events: events.sort((a, b) => a.serial - b.serial), serial: last };
  }
}
