/**
 * A length of time with microsecond resolution: the manual's "timedelta".
 *
 * Every duration in piwheels (build timeouts, build durations, total build time) is a
 * {@linkcode Duration}, never a bare number of seconds, so a unit can never be mistaken. On the
 * wire it is CBOR tag 2001 over `[days, seconds, microseconds]` (see `shared/cbor.ts`).
 *
 * @module
 */

const US_PER_MS = 1_000;
const US_PER_SECOND = 1_000_000;
const US_PER_MINUTE = 60 * US_PER_SECOND;
const US_PER_HOUR = 60 * US_PER_MINUTE;
const US_PER_DAY = 24 * US_PER_HOUR;

const UNITS: Record<string, number> = {
  d: US_PER_DAY,
  day: US_PER_DAY,
  days: US_PER_DAY,
  h: US_PER_HOUR,
  hr: US_PER_HOUR,
  hour: US_PER_HOUR,
  hours: US_PER_HOUR,
  m: US_PER_MINUTE,
  min: US_PER_MINUTE,
  mins: US_PER_MINUTE,
  minute: US_PER_MINUTE,
  minutes: US_PER_MINUTE,
  s: US_PER_SECOND,
  sec: US_PER_SECOND,
  secs: US_PER_SECOND,
  second: US_PER_SECOND,
  seconds: US_PER_SECOND,
  ms: US_PER_MS,
};

/** Raised when a duration cannot be parsed or is out of range. */
export class DurationError extends RangeError {
  /** The error's name, for logs and `instanceof`-free checks. */
  override name = "DurationError";
}

/** An immutable length of time, held as a whole number of microseconds. */
export class Duration {
  /** The length in microseconds (may be negative). Always a safe integer. */
  readonly micros: number;

  /** Wraps a whole number of microseconds. */
  constructor(micros: number) {
    if (!Number.isSafeInteger(micros)) {
      throw new DurationError(`duration of ${micros} microseconds is not a safe integer`);
    }
    this.micros = micros === 0 ? 0 : micros; // no -0
  }

  /** The zero duration. */
  static readonly ZERO: Duration = new Duration(0);

  /** A duration of the given number of seconds (fractions kept to the microsecond). */
  static fromSeconds(seconds: number): Duration {
    if (!Number.isFinite(seconds)) throw new DurationError(`not a finite duration: ${seconds}`);
    return new Duration(Math.round(seconds * US_PER_SECOND));
  }

  /** A duration of the given number of milliseconds (fractions kept to the microsecond). */
  static fromMillis(ms: number): Duration {
    if (!Number.isFinite(ms)) throw new DurationError(`not a finite duration: ${ms}`);
    return new Duration(Math.round(ms * US_PER_MS));
  }

  /** A duration from named parts, each optional: `Duration.of({ hours: 3 })`. */
  static of(parts: {
    days?: number;
    hours?: number;
    minutes?: number;
    seconds?: number;
    milliseconds?: number;
    microseconds?: number;
  }): Duration {
    const total = (parts.days ?? 0) * US_PER_DAY + (parts.hours ?? 0) * US_PER_HOUR +
      (parts.minutes ?? 0) * US_PER_MINUTE + (parts.seconds ?? 0) * US_PER_SECOND +
      (parts.milliseconds ?? 0) * US_PER_MS + (parts.microseconds ?? 0);
    return new Duration(Math.round(total));
  }

  /**
   * A duration from Python's normalised `timedelta` fields, as carried by CBOR tag 2001.
   * `seconds` must be in 0..86399 and `microseconds` in 0..999999; `days` carries the sign.
   */
  static fromParts(days: number, seconds: number, microseconds: number): Duration {
    if (!Number.isSafeInteger(days)) throw new DurationError(`days must be an integer: ${days}`);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86399) {
      throw new DurationError(`seconds must be an integer in 0..86399: ${seconds}`);
    }
    if (!Number.isInteger(microseconds) || microseconds < 0 || microseconds > 999999) {
      throw new DurationError(`microseconds must be an integer in 0..999999: ${microseconds}`);
    }
    return new Duration(days * US_PER_DAY + seconds * US_PER_SECOND + microseconds);
  }

  /**
   * Parses what a person types for a duration: `3h`, `1h30m`, `90s`, `1.5h`, `2d 4h`,
   * `250ms`, `1:30:00`, Python's `2 days, 1:30:00`, or a plain number of seconds.
   */
  static parse(text: string): Duration {
    const s = text.trim().toLowerCase();
    if (s === "") throw new DurationError("empty duration");
    if (/^[+-]?\d+(\.\d+)?$/.test(s)) return Duration.fromSeconds(Number(s));
    const clock = /^(?:([+-]?\d+)\s*days?,?\s*)?(\d+):([0-5]?\d):([0-5]?\d(?:\.\d{1,6})?)$/.exec(
      s,
    );
    if (clock) {
      const [, days = "0", h = "0", m = "0", sec = "0"] = clock;
      return new Duration(
        Number(days) * US_PER_DAY + Number(h) * US_PER_HOUR + Number(m) * US_PER_MINUTE +
          Math.round(Number(sec) * US_PER_SECOND),
      );
    }
    const part = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?\s*/gy;
    let total = 0;
    let pos = 0;
    let sign = 1;
    if (s.startsWith("-")) {
      sign = -1;
      pos = 1;
    }
    part.lastIndex = pos;
    let match: RegExpExecArray | null;
    let seen = false;
    while ((match = part.exec(s)) !== null) {
      const [, amount = "", unit = ""] = match;
      const scale = UNITS[unit];
      if (scale === undefined) throw new DurationError(`unknown unit ${unit} in ${text}`);
      total += Number(amount) * scale;
      pos = part.lastIndex;
      seen = true;
    }
    if (!seen || pos !== s.length) throw new DurationError(`cannot parse duration: ${text}`);
    return new Duration(sign * Math.round(total));
  }

  /** Python's normalised `days` field (floor division; carries the sign). */
  get days(): number {
    return Math.floor(this.micros / US_PER_DAY);
  }

  /** Python's normalised `seconds` field, 0..86399. */
  get seconds(): number {
    return Math.floor((this.micros - this.days * US_PER_DAY) / US_PER_SECOND);
  }

  /** Python's normalised `microseconds` field, 0..999999. */
  get microseconds(): number {
    return this.micros - this.days * US_PER_DAY - this.seconds * US_PER_SECOND;
  }

  /** The length in (fractional) seconds. */
  totalSeconds(): number {
    return this.micros / US_PER_SECOND;
  }

  /** The length in (fractional) milliseconds, as timers want it. */
  totalMillis(): number {
    return this.micros / US_PER_MS;
  }

  /** The sum of this and another duration. */
  plus(other: Duration): Duration {
    return new Duration(this.micros + other.micros);
  }

  /** Whether both durations are the same length. */
  equals(other: Duration): boolean {
    return this.micros === other.micros;
  }

  /** Compares by length, for sorting. */
  compare(other: Duration): number {
    return this.micros - other.micros;
  }

  /** A compact form that {@linkcode Duration.parse} reads back: `3h`, `1h30m5.5s`, `0s`. */
  toString(): string {
    if (this.micros === 0) return "0s";
    let rest = Math.abs(this.micros);
    let out = this.micros < 0 ? "-" : "";
    for (
      const [unit, scale] of [["d", US_PER_DAY], ["h", US_PER_HOUR], ["m", US_PER_MINUTE]] as const
    ) {
      const n = Math.floor(rest / scale);
      if (n) out += `${n}${unit}`;
      rest -= n * scale;
    }
    if (rest) out += `${rest / US_PER_SECOND}s`;
    return out;
  }

  /** The form PostgreSQL reads as an `interval`. */
  toInterval(): string {
    return `${this.micros} microseconds`;
  }

  /** Serialises as the compact string form. */
  toJSON(): string {
    return this.toString();
  }
}
