/**
 * A minimal XML-RPC client: enough to call PyPI's `changelog_since_serial` and read its answer
 * (arrays, structs, strings, integers, booleans, doubles, nil, dateTime, base64), hardened
 * against malformed answers: any fault is an {@linkcode XmlRpcError}, and an answer over
 * {@linkcode MAX_RESPONSE_BYTES} is not read further.
 *
 * @module
 */

import { errorMessage } from "../shared/log.ts";
import { boundedBody } from "./http_body.ts";

/**
 * The largest answer read: PyPI's `changelog_since_serial` gives at most 50,000 events, a few
 * MiB of XML, and the whole answer is held while it is read.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A value XML-RPC carries. */
export type XmlRpcValue =
  | string
  | number
  | boolean
  | null
  | Date
  | Uint8Array
  | XmlRpcValue[]
  | { [key: string]: XmlRpcValue };

/** Raised for a transport failure, an XML-RPC fault, or an answer that cannot be read. */
export class XmlRpcError extends Error {
  override name = "XmlRpcError";
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The XML-RPC `<value>` of a parameter. */
function encodeValue(v: XmlRpcValue): string {
  if (v === null) return "<value><nil/></value>";
  if (typeof v === "string") return `<value><string>${escapeXml(v)}</string></value>`;
  if (typeof v === "boolean") return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
  if (typeof v === "number") {
    return Number.isInteger(v)
      ? `<value><int>${v}</int></value>`
      : `<value><double>${v}</double></value>`;
  }
  if (v instanceof Date) {
    return `<value><dateTime.iso8601>${
      v.toISOString().replace(/\.\d+Z$/, "")
    }</dateTime.iso8601></value>`;
  }
  if (v instanceof Uint8Array) {
    return `<value><base64>${btoa(String.fromCharCode(...v))}</base64></value>`;
  }
  if (Array.isArray(v)) {
    return `<value><array><data>${v.map(encodeValue).join("")}</data></array></value>`;
  }
  const members = Object.entries(v).map(([k, x]) =>
    `<member><name>${escapeXml(k)}</name>${encodeValue(x)}</member>`
  );
  return `<value><struct>${members.join("")}</struct></value>`;
}

/** The body of a `methodCall`. */
export function encodeCall(method: string, params: XmlRpcValue[]): string {
  const ps = params.map((p) => `<param>${encodeValue(p)}</param>`).join("");
  return `<?xml version="1.0"?><methodCall><methodName>${
    escapeXml(method)
  }</methodName><params>${ps}</params></methodCall>`;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (m, e: string) => {
    if (e.startsWith("#")) {
      const code = e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (!(code <= 0x10ffff)) throw new XmlRpcError(`no such character ${clip(m, 40)}`);
      return String.fromCodePoint(code);
    }
    const named = ENTITIES[e];
    if (named === undefined) throw new XmlRpcError(`unknown entity ${clip(m, 40)}`);
    return named;
  });
}

/**
 * The most values one answer may hold: PyPI's largest (50,000 changelog rows of six values) has
 * 300,001. An answer of 64 MiB of empty values would otherwise be 8 million of them, and reading
 * it a minute's work on the thread.
 */
export const MAX_VALUES = 1_000_000;

/** At most `max` characters of `text`, and how many more there were. */
function clip(text: string, max = 200): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}… (${text.length - max} characters more)`;
}

/** Text an answer held, quoted in an error: at most 200 characters of it. */
function quoted(text: string): string {
  return JSON.stringify(clip(text));
}

/** Whether the character at `i` is XML white space. */
function isSpace(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Whether `c` may start a tag's name (a letter). */
function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** Whether `c` may follow in a tag's name (a letter, a digit, `_` or `.`). */
function isNamePart(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e;
}

/** A cursor over XML-RPC response text: tags, text, and nothing fancier. */
class Parser {
  pos = 0;
  values = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new XmlRpcError(`${what} at offset ${this.pos}`);
  }

  /** Skips white space, `<?…?>` and comments, as many as follow. */
  skipSpaceAndProlog(): void {
    const text = this.text;
    for (;;) {
      while (isSpace(text, this.pos)) this.pos++;
      let end = -1;
      if (text.startsWith("<?", this.pos)) end = text.indexOf("?>", this.pos + 2) + 2;
      else if (text.startsWith("<!--", this.pos)) end = text.indexOf("-->", this.pos + 4) + 3;
      if (end <= this.pos) return;
      this.pos = end;
    }
  }

  /** Reads `<name>` (or `<name/>`, returning true for self-closing). */
  open(name: string): boolean {
    this.skipSpaceAndProlog();
    const text = this.text;
    let i = this.pos + 1 + name.length;
    if (text.charCodeAt(this.pos) !== 0x3c || !text.startsWith(name, this.pos + 1)) {
      this.fail(`expected <${name}>`);
    }
    while (isSpace(text, i)) i++;
    const empty = text.charCodeAt(i) === 0x2f;
    if (empty) i++;
    if (text.charCodeAt(i) !== 0x3e) this.fail(`expected <${name}>`);
    this.pos = i + 1;
    return empty;
  }

  close(name: string): void {
    this.skipSpaceAndProlog();
    const text = this.text;
    const end = this.pos + 2 + name.length;
    if (
      !text.startsWith("</", this.pos) || !text.startsWith(name, this.pos + 2) ||
      text.charCodeAt(end) !== 0x3e
    ) {
      this.fail(`expected </${name}>`);
    }
    this.pos = end + 1;
  }

  /** The next tag's name without consuming it, or null before a closing tag. */
  peek(): string | null {
    this.skipSpaceAndProlog();
    const text = this.text;
    if (text.charCodeAt(this.pos) !== 0x3c || !isNameStart(text.charCodeAt(this.pos + 1))) {
      return null;
    }
    let end = this.pos + 2;
    while (isNamePart(text.charCodeAt(end))) end++;
    return text.slice(this.pos + 1, end);
  }

  /** Raw text up to the next `<`. */
  textUntilTag(): string {
    const end = this.text.indexOf("<", this.pos);
    if (end < 0) this.fail("unterminated text");
    const raw = this.text.slice(this.pos, end);
    this.pos = end;
    return raw.includes("&") ? unescapeXml(raw) : raw;
  }

  value(depth: number): XmlRpcValue {
    if (depth > 64) this.fail("nesting too deep");
    if (++this.values > MAX_VALUES) this.fail(`more than ${MAX_VALUES} values`);
    if (this.open("value")) return "";
    const type = this.peek();
    let v: XmlRpcValue;
    if (type === null) {
      v = this.textUntilTag(); // an untyped value is a string
    } else {
      const empty = this.open(type);
      v = empty ? this.emptyOf(type) : this.typed(type, depth);
      if (!empty) this.close(type);
    }
    this.close("value");
    return v;
  }

  emptyOf(type: string): XmlRpcValue {
    switch (type) {
      case "nil":
        return null;
      case "string":
        return "";
      case "array":
        return [];
      case "struct":
        return {};
    }
    return this.fail(`empty <${clip(type, 40)}>`);
  }

  typed(type: string, depth: number): XmlRpcValue {
    switch (type) {
      case "string":
        return this.textUntilTag();
      case "int":
      case "i4":
      case "i8": {
        const t = this.textUntilTag().trim();
        if (!/^[+-]?\d+$/.test(t)) this.fail(`bad integer ${quoted(t)}`);
        return Number(t);
      }
      case "boolean": {
        const t = this.textUntilTag().trim();
        if (t !== "0" && t !== "1") this.fail(`bad boolean ${quoted(t)}`);
        return t === "1";
      }
      case "double": {
        const n = Number(this.textUntilTag().trim());
        if (Number.isNaN(n)) this.fail("bad double");
        return n;
      }
      case "dateTime.iso8601": {
        const t = this.textUntilTag().trim();
        const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(t);
        if (!m) this.fail(`bad dateTime ${quoted(t)}`);
        return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
      }
      case "base64": {
        try {
          return Uint8Array.from(
            atob(this.textUntilTag().replace(/\s+/g, "")),
            (c) => c.charCodeAt(0),
          );
        } catch {
          return this.fail("bad base64");
        }
      }
      case "array": {
        const out: XmlRpcValue[] = [];
        if (this.open("data")) return out;
        while (this.peek() === "value") out.push(this.value(depth + 1));
        this.close("data");
        return out;
      }
      case "struct": {
        const out: { [key: string]: XmlRpcValue } = {};
        while (this.peek() === "member") {
          this.open("member");
          this.open("name");
          const key = this.textUntilTag();
          this.close("name");
          Object.defineProperty(out, key, {
            value: this.value(depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
          this.close("member");
        }
        return out;
      }
    }
    return this.fail(`unknown type <${clip(type, 40)}>`);
  }
}

/** Reads a `methodResponse`: its single parameter, or an {@linkcode XmlRpcError} for a fault. */
export function decodeResponse(text: string): XmlRpcValue {
  const p = new Parser(text);
  p.open("methodResponse");
  if (p.peek() === "fault") {
    p.open("fault");
    const fault = p.value(0);
    const detail = typeof fault === "object" && fault !== null && !Array.isArray(fault) &&
        !(fault instanceof Date) && !(fault instanceof Uint8Array)
      ? `${clip(String(fault.faultCode ?? "?"), 40)}: ${clip(String(fault.faultString ?? ""))}`
      : clip(String(fault));
    throw new XmlRpcError(`XML-RPC fault ${detail}`);
  }
  p.open("params");
  p.open("param");
  const v = p.value(0);
  p.close("param");
  p.close("params");
  p.close("methodResponse");
  return v;
}

/** Calls `method` at `url` with `params`; times out after `timeoutMs`. */
export async function call(
  url: string,
  method: string,
  params: XmlRpcValue[],
  timeoutMs = 60_000,
): Promise<XmlRpcValue> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "text/xml", "user-agent": "piwheels-deno" },
      body: encodeCall(method, params),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new XmlRpcError(`${method} at ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new XmlRpcError(`${method} at ${url}: HTTP ${res.status}`);
  }
  const body = await boundedBody(
    res,
    MAX_RESPONSE_BYTES,
    (size) => new XmlRpcError(`${method} at ${url}: the answer is ${size}, over the limit`),
  ).catch((e) => {
    throw e instanceof XmlRpcError ? e : new XmlRpcError(`${method} at ${url}: ${errorMessage(e)}`);
  });
  return decodeResponse(new TextDecoder().decode(body));
}
