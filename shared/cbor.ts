/**
 * The CBOR (RFC 8949) codec of every piwheels queue, byte-exact with `spec/WIRE.md` and with
 * the Python piwheels peers (cbor2):
 *
 * - definite lengths and the shortest integer forms; integers beyond 2^53 travel as `bigint`
 *   (never as floats); floats as float64, as cbor2 writes them;
 * - {@linkcode Duration} ⇄ tag 2001 over `[days, seconds, microseconds]`;
 * - {@linkcode Timestamp} ⇄ tag 0 over an RFC 3339 UTC string (tag 1, epoch, accepted);
 * - `Set` ⇄ tag 258 over an array;
 * - {@linkcode NO_DATA} ⇄ tag 2002 over null;
 * - maps whose keys are all text decode to plain objects, any other map to a `Map`.
 *
 * The decoder is written for hostile input: every length is checked against the bytes left
 * before anything is allocated, nesting is bounded, and any fault is a {@linkcode CborError}.
 *
 * @module
 */

import { Duration } from "./duration.ts";
import { Timestamp } from "./timestamp.ts";

/** The "no data" marker carried inside data (tag 2002 over null). */
export const NO_DATA: unique symbol = Symbol.for("piwheels.noData");

/** The type of {@linkcode NO_DATA}. */
export type NoData = typeof NO_DATA;

/** A tag this codec has no type for, kept as decoded so that it can be re-encoded. */
export class Tagged {
  /** Pairs a tag number with its content. */
  constructor(readonly tag: number, readonly value: CborValue) {}
}

/** Every value the codec reads and writes. */
export type CborValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Duration
  | Timestamp
  | NoData
  | Tagged
  | CborValue[]
  | Set<CborValue>
  | Map<CborValue, CborValue>
  | { [key: string]: CborValue };

/** Raised for anything the codec cannot encode or decode. */
export class CborError extends Error {
  /** The error's name, for logs and `instanceof`-free checks. */
  override name = "CborError";
}

const TAG_DATETIME = 0;
const TAG_EPOCH = 1;
const TAG_POS_BIGNUM = 2;
const TAG_NEG_BIGNUM = 3;
const TAG_SET = 258;
const TAG_DURATION = 2001;
const TAG_NO_DATA = 2002;

/** The deepest nesting the decoder accepts. */
const MAX_DEPTH = 64;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  head(major: number, n: number): void {
    const m = major << 5;
    this.reserve(9);
    if (n < 24) {
      this.buf[this.pos++] = m | n;
    } else if (n < 0x100) {
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.buf[this.pos++] = m | 25;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else if (n < 0x100000000) {
      this.buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    } else {
      this.buf[this.pos++] = m | 27;
      this.view.setBigUint64(this.pos, BigInt(n));
      this.pos += 8;
    }
  }

  bigHead(major: number, n: bigint): void {
    if (n < 0x100000000n) return this.head(major, Number(n));
    this.reserve(9);
    this.buf[this.pos++] = (major << 5) | 27;
    this.view.setBigUint64(this.pos, n);
    this.pos += 8;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  text(s: string): void {
    // Worst case is three bytes per UTF-16 unit; write in place, then fix up the header.
    const max = s.length * 3;
    const headSize = max < 24 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
    this.reserve(headSize + max);
    const start = this.pos;
    const { written } = textEncoder.encodeInto(s, this.buf.subarray(start + headSize));
    const actualHead = written < 24 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5;
    if (actualHead !== headSize) {
      this.buf.copyWithin(start + actualHead, start + headSize, start + headSize + written);
    }
    this.head(3, written);
    this.pos = start + actualHead + written;
  }

  float(n: number): void {
    this.reserve(9);
    if (Number.isNaN(n)) {
      this.buf.set([0xf9, 0x7e, 0x00], this.pos);
      this.pos += 3;
    } else if (!Number.isFinite(n)) {
      this.buf.set([0xf9, n > 0 ? 0x7c : 0xfc, 0x00], this.pos);
      this.pos += 3;
    } else {
      this.buf[this.pos++] = 0xfb;
      this.view.setFloat64(this.pos, n);
      this.pos += 8;
    }
  }

  value(v: CborValue): void {
    switch (typeof v) {
      case "string":
        return this.text(v);
      case "number":
        if (Number.isSafeInteger(v)) return v >= 0 ? this.head(0, v) : this.head(1, -1 - v);
        return this.float(v);
      case "bigint":
        return this.bigint(v);
      case "boolean":
        this.reserve(1);
        this.buf[this.pos++] = v ? 0xf5 : 0xf4;
        return;
      case "undefined":
        this.reserve(1);
        this.buf[this.pos++] = 0xf7;
        return;
      case "symbol":
        if (v === NO_DATA) {
          this.head(6, TAG_NO_DATA);
          this.reserve(1);
          this.buf[this.pos++] = 0xf6;
          return;
        }
        break;
      case "object":
        return this.object(v);
    }
    throw new CborError(`cannot encode a value of type ${typeof v}`);
  }

  bigint(v: bigint): void {
    if (v >= 0n) {
      if (v <= 0xffffffffffffffffn) return this.bigHead(0, v);
      this.head(6, TAG_POS_BIGNUM);
      return this.byteString(bigintBytes(v));
    }
    const n = -1n - v;
    if (n <= 0xffffffffffffffffn) return this.bigHead(1, n);
    this.head(6, TAG_NEG_BIGNUM);
    return this.byteString(bigintBytes(n));
  }

  byteString(data: Uint8Array): void {
    this.head(2, data.length);
    this.bytes(data);
  }

  object(v: Exclude<CborValue, string | number | bigint | boolean | undefined | NoData>): void {
    if (v === null) {
      this.reserve(1);
      this.buf[this.pos++] = 0xf6;
    } else if (Array.isArray(v)) {
      this.head(4, v.length);
      for (const item of v) this.value(item);
    } else if (v instanceof Uint8Array) {
      this.byteString(v);
    } else if (v instanceof Duration) {
      this.head(6, TAG_DURATION);
      this.head(4, 3);
      this.value(v.days);
      this.head(0, v.seconds);
      this.head(0, v.microseconds);
    } else if (v instanceof Timestamp) {
      this.head(6, TAG_DATETIME);
      this.text(v.toString());
    } else if (v instanceof Set) {
      this.head(6, TAG_SET);
      this.head(4, v.size);
      for (const item of v) this.value(item);
    } else if (v instanceof Map) {
      this.head(5, v.size);
      for (const [key, item] of v) {
        this.value(key);
        this.value(item);
      }
    } else if (v instanceof Tagged) {
      this.head(6, v.tag);
      this.value(v.value);
    } else if (isPlainObject(v)) {
      const keys = Object.keys(v);
      this.head(5, keys.length);
      for (const key of keys) {
        this.text(key);
        this.value(v[key]);
      }
    } else {
      throw new CborError(
        `cannot encode an object of type ${(v as object).constructor?.name ?? "unknown"}`,
      );
    }
  }
}

function isPlainObject(v: object): v is { [key: string]: CborValue } {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function bigintBytes(n: bigint): Uint8Array {
  const hex = n.toString(16);
  const padded = hex.length % 2 ? `0${hex}` : hex;
  const out = new Uint8Array(padded.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(padded.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Encodes one value as one CBOR item. */
export function encode(value: CborValue): Uint8Array {
  const w = new Writer();
  w.value(value);
  return w.buf.slice(0, w.pos);
}

const BREAK = Symbol("break");

class Reader {
  readonly view: DataView;
  pos = 0;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new CborError(`truncated: needed ${n} more byte(s) at offset ${this.pos}`);
    }
  }

  /** Reads the argument of a head; returns -1 for the indefinite-length marker. */
  argument(info: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24:
        this.need(1);
        return this.buf[this.pos++]!;
      case 25: {
        this.need(2);
        const n = this.view.getUint16(this.pos);
        this.pos += 2;
        return n;
      }
      case 26: {
        this.need(4);
        const n = this.view.getUint32(this.pos);
        this.pos += 4;
        return n;
      }
      case 27: {
        this.need(8);
        const n = this.view.getBigUint64(this.pos);
        this.pos += 8;
        return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
      }
      case 31:
        return -1;
    }
    throw new CborError(`reserved additional information ${info} at offset ${this.pos - 1}`);
  }

  /** A length: a non-negative safe integer not beyond what the rest of the input can hold. */
  length(info: number, perItem: number): number {
    const n = this.argument(info);
    if (typeof n === "bigint" || n * perItem > this.buf.length - this.pos) {
      throw new CborError(`length ${n} exceeds the ${this.buf.length - this.pos} byte(s) left`);
    }
    return n;
  }

  item(depth: number): CborValue | typeof BREAK {
    if (depth > MAX_DEPTH) throw new CborError(`nesting deeper than ${MAX_DEPTH}`);
    this.need(1);
    const initial = this.buf[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0: {
        const n = this.argument(info);
        if (n === -1) throw new CborError("indefinite-length integer");
        return n;
      }
      case 1: {
        const n = this.argument(info);
        if (n === -1) throw new CborError("indefinite-length integer");
        if (typeof n === "bigint") return -1n - n;
        return n >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(n) : -1 - n;
      }
      case 2:
      case 3:
        return this.string(major, info, depth);
      case 4:
        return this.array(info, depth);
      case 5:
        return this.map(info, depth);
      case 6:
        return this.tagged(info, depth);
      default:
        return this.simple(info);
    }
  }

  value(depth: number): CborValue {
    const v = this.item(depth);
    if (v === BREAK) throw new CborError(`unexpected break at offset ${this.pos - 1}`);
    return v;
  }

  string(major: number, info: number, depth: number): string | Uint8Array {
    if (info === 31) {
      const parts: Uint8Array[] = [];
      for (;;) {
        this.need(1);
        if (this.buf[this.pos] === 0xff) {
          this.pos++;
          break;
        }
        const chunk = this.item(depth + 1);
        const ok = major === 2 ? chunk instanceof Uint8Array : typeof chunk === "string";
        if (!ok) throw new CborError("indefinite string chunk of the wrong type");
        parts.push(typeof chunk === "string" ? textEncoder.encode(chunk) : chunk as Uint8Array);
      }
      const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
      return major === 2 ? joined : decodeText(joined);
    }
    const n = this.length(info, 1);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return major === 2 ? bytes.slice() : decodeText(bytes);
  }

  array(info: number, depth: number): CborValue[] {
    const out: CborValue[] = [];
    if (info === 31) {
      for (;;) {
        const v = this.item(depth + 1);
        if (v === BREAK) return out;
        out.push(v);
      }
    }
    const n = this.length(info, 1);
    for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
    return out;
  }

  map(info: number, depth: number): Map<CborValue, CborValue> | { [key: string]: CborValue } {
    const keys: CborValue[] = [];
    const values: CborValue[] = [];
    if (info === 31) {
      for (;;) {
        const k = this.item(depth + 1);
        if (k === BREAK) break;
        keys.push(k);
        values.push(this.value(depth + 1));
      }
    } else {
      const n = this.length(info, 2);
      for (let i = 0; i < n; i++) {
        keys.push(this.value(depth + 1));
        values.push(this.value(depth + 1));
      }
    }
    if (keys.every((k) => typeof k === "string")) {
      const obj: { [key: string]: CborValue } = {};
      keys.forEach((k, i) => {
        if (k === "__proto__") {
          Object.defineProperty(obj, k, {
            value: values[i],
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else {
          obj[k as string] = values[i];
        }
      });
      return obj;
    }
    return new Map(keys.map((k, i) => [k, values[i]]));
  }

  tagged(info: number, depth: number): CborValue {
    const tag = this.argument(info);
    if (tag === -1) throw new CborError("indefinite-length tag");
    const content = this.value(depth + 1);
    switch (tag) {
      case TAG_DATETIME:
        if (typeof content !== "string") throw new CborError("tag 0 needs a text string");
        try {
          return Timestamp.parse(content);
        } catch (e) {
          throw new CborError(`tag 0: ${(e as Error).message}`);
        }
      case TAG_EPOCH:
        if (typeof content !== "number") throw new CborError("tag 1 needs a number");
        try {
          return Timestamp.fromEpochSeconds(content);
        } catch (e) {
          throw new CborError(`tag 1: ${(e as Error).message}`);
        }
      case TAG_POS_BIGNUM:
      case TAG_NEG_BIGNUM: {
        if (!(content instanceof Uint8Array)) throw new CborError(`tag ${tag} needs a byte string`);
        if (content.length > 64) throw new CborError(`tag ${tag}: bignum too large`);
        let n = 0n;
        for (const b of content) n = (n << 8n) | BigInt(b);
        return tag === TAG_POS_BIGNUM ? n : -1n - n;
      }
      case TAG_SET:
        if (!Array.isArray(content)) throw new CborError("tag 258 needs an array");
        return new Set(content);
      case TAG_DURATION: {
        if (!Array.isArray(content) || content.length !== 3) {
          throw new CborError("tag 2001 needs [days, seconds, microseconds]");
        }
        const [days, seconds, micros] = content;
        if (
          typeof days !== "number" || typeof seconds !== "number" || typeof micros !== "number"
        ) {
          throw new CborError("tag 2001 needs three integers");
        }
        try {
          return Duration.fromParts(days, seconds, micros);
        } catch (e) {
          throw new CborError(`tag 2001: ${(e as Error).message}`);
        }
      }
      case TAG_NO_DATA:
        if (content !== null) throw new CborError("tag 2002 must wrap null");
        return NO_DATA;
    }
    if (typeof tag === "bigint") throw new CborError(`tag ${tag} out of range`);
    return new Tagged(tag, content);
  }

  simple(info: number): CborValue | typeof BREAK {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25: {
        this.need(2);
        const v = halfToFloat(this.view.getUint16(this.pos));
        this.pos += 2;
        return v;
      }
      case 26: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      case 31:
        return BREAK;
    }
    throw new CborError(`unsupported simple value ${info} at offset ${this.pos - 1}`);
  }
}

function decodeText(bytes: Uint8Array): string {
  if (bytes.length < 48) {
    // Short ASCII strings (names, tags, hashes) are most of what we decode: skip TextDecoder.
    let ascii = "";
    let i = 0;
    for (; i < bytes.length && bytes[i]! < 0x80; i++) ascii += String.fromCharCode(bytes[i]!);
    if (i === bytes.length) return ascii;
  }
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new CborError("text string is not valid UTF-8");
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Decodes exactly one CBOR item; trailing bytes are an error. */
export function decode(bytes: Uint8Array): CborValue {
  const r = new Reader(bytes);
  const v = r.value(0);
  if (r.pos !== bytes.length) {
    throw new CborError(`${bytes.length - r.pos} trailing byte(s) after the item`);
  }
  return v;
}
