/**
 * How values cross between TypeScript and PostgreSQL, the same for both drivers: `bigint` comes
 * back as a number, `timestamptz` as a {@linkcode Timestamp}, `interval` as a
 * {@linkcode Duration} (both to the microsecond, which a `Date` would lose), `json`/`jsonb`
 * parsed; parameters that are timestamps or durations go out as text PostgreSQL reads back
 * exactly. JSON parameters are passed as strings (`JSON.stringify`), never as arrays, which
 * postgres.js would send as PostgreSQL arrays.
 *
 * @module
 */

import { Duration } from "../duration.ts";
import { Timestamp } from "../timestamp.ts";

/** PostgreSQL type OIDs the drivers convert. */
export const OID = {
  int8: 20,
  json: 114,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  jsonb: 3802,
} as const;

/** Parses a `bigint`; refuses one beyond `Number.MAX_SAFE_INTEGER` rather than round it. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${text} is beyond a safe integer`);
  return n;
}

/**
 * Parses a timestamp as PostgreSQL prints it (`2024-05-06 07:08:09.5+00`, or in JSON
 * `2024-05-06T07:08:09.5+00:00`); a time without an offset is UTC.
 */
export function parseTimestamp(text: string): Timestamp {
  return Timestamp.parse(text.replace(/([+-]\d{2})$/, "$1:00"));
}

/**
 * Parses an interval as PostgreSQL prints it in its default style (`00:01:02.5`,
 * `3 days 04:00:00`, `1 day`, `40:00:00`). Months and years have no fixed length and are
 * refused.
 */
export function parseInterval(text: string): Duration {
  return Duration.parse(text);
}

/** The parser of each converted type, by OID. */
export const PARSERS: Readonly<Record<number, (text: string) => unknown>> = {
  [OID.int8]: parseInt8,
  [OID.json]: JSON.parse,
  [OID.jsonb]: JSON.parse,
  [OID.timestamp]: parseTimestamp,
  [OID.timestamptz]: parseTimestamp,
  [OID.interval]: parseInterval,
};

/** A query parameter as a driver sends it: timestamps and durations become exact text. */
export function toParam(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toString();
  if (value instanceof Duration) return value.toInterval();
  return value;
}
