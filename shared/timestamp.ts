/**
 * A UTC point in time with microsecond resolution, as Python's `datetime` and PostgreSQL's
 * `timestamp` carry it (a JavaScript `Date` keeps only milliseconds, which would change the
 * bytes of a timestamp relayed through us). On the wire it is CBOR tag 0 (see `shared/cbor.ts`).
 *
 * @module
 */

import { Duration } from "./duration.ts";

/** Raised when a timestamp cannot be parsed or is out of range. */
export class TimestampError extends RangeError {
  /** The error's name, for logs and `instanceof`-free checks. */
  override name = "TimestampError";
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** An immutable UTC instant, held as whole microseconds since the Unix epoch. */
export class Timestamp {
  /** Microseconds since 1970-01-01T00:00:00Z. Always a safe integer. */
  readonly micros: number;

  /** Wraps a whole number of microseconds since the epoch. */
  constructor(micros: number) {
    if (!Number.isSafeInteger(micros)) {
      throw new TimestampError(`timestamp of ${micros} microseconds is not a safe integer`);
    }
    this.micros = micros === 0 ? 0 : micros;
  }

  /** The current time (millisecond resolution, as the clock gives it). */
  static now(): Timestamp {
    return new Timestamp(Date.now() * 1000);
  }

  /** The instant a `Date` represents. */
  static fromDate(date: Date): Timestamp {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new TimestampError("invalid Date");
    return new Timestamp(ms * 1000);
  }

  /** The instant a (fractional) number of seconds after the epoch, as CBOR tag 1 carries. */
  static fromEpochSeconds(seconds: number): Timestamp {
    if (!Number.isFinite(seconds)) throw new TimestampError(`not a finite time: ${seconds}`);
    return new Timestamp(Math.round(seconds * 1_000_000));
  }

  /**
   * Parses an RFC 3339 date-time (also PostgreSQL's `2020-01-02 03:04:05.5+00` form). A time
   * without an offset is taken as UTC. Fractions beyond microseconds are truncated.
   */
  static parse(text: string): Timestamp {
    const m = RFC3339.exec(text);
    if (!m) throw new TimestampError(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
    const [, y, mo, d, h, mi, s, frac = "", , sign, oh = "0", om = "0"] = m;
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    const check = new Date(ms);
    if (
      Number.isNaN(ms) || check.getUTCMonth() !== Number(mo) - 1 ||
      check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) ||
      check.getUTCMinutes() !== Number(mi) || check.getUTCSeconds() !== Number(s)
    ) {
      throw new TimestampError(`not a valid date and time: ${JSON.stringify(text)}`);
    }
    const offset = (Number(oh) * 60 + Number(om)) * 60_000_000 * (sign === "-" ? -1 : 1);
    const fraction = Number(frac.padEnd(6, "0").slice(0, 6));
    return new Timestamp(ms * 1000 + fraction - (sign ? offset : 0));
  }

  /** The instant as a `Date` (microseconds are truncated to milliseconds). */
  toDate(): Date {
    return new Date(Math.floor(this.micros / 1000));
  }

  /** Seconds since the epoch, with the fraction. */
  toEpochSeconds(): number {
    return this.micros / 1_000_000;
  }

  /** The time elapsed from this instant until `later` (default: now). */
  until(later: Timestamp = Timestamp.now()): Duration {
    return new Duration(later.micros - this.micros);
  }

  /** This instant moved by a duration. */
  plus(duration: Duration): Timestamp {
    return new Timestamp(this.micros + duration.micros);
  }

  /** Whether both are the same instant. */
  equals(other: Timestamp): boolean {
    return this.micros === other.micros;
  }

  /** Compares chronologically, for sorting. */
  compare(other: Timestamp): number {
    return this.micros - other.micros;
  }

  /**
   * The wire form: `2020-01-02T03:04:05Z`, with `.ffffff` only when the microseconds are not
   * zero (as Python's `isoformat()` writes it).
   */
  toString(): string {
    const ms = Math.floor(this.micros / 1000);
    const us = this.micros - ms * 1000;
    const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
    const fraction = (ms % 1000 + 1000) % 1000 * 1000 + us;
    const base = iso.slice(0, 19);
    return fraction === 0 ? `${base}Z` : `${base}.${String(fraction).padStart(6, "0")}Z`;
  }

  /** Serialises as the wire string. */
  toJSON(): string {
    return this.toString();
  }
}
