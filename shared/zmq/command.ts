/**
 * ZMTP commands (RFC 37): READY with its metadata, ERROR, PING, PONG, SUBSCRIBE and CANCEL,
 * each a frame with the COMMAND flag whose body is a one-byte name length, the name, and data.
 * (CURVE's handshake commands are in `curve.ts`.)
 *
 * @module
 */

import { ZmqError } from "./errors.ts";
import { encodeFrame, FLAG_COMMAND, readUint32 } from "./frame.ts";

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** A decoded command. */
export interface Command {
  /** The command's name, e.g. `READY`. */
  name: string;
  /** What follows the name. */
  data: Uint8Array;
}

/** Encodes a command frame (header included). */
export function encodeCommand(name: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const body = new Uint8Array(1 + name.length + data.length);
  body[0] = name.length;
  encoder.encodeInto(name, body.subarray(1));
  body.set(data, 1 + name.length);
  return encodeFrame(FLAG_COMMAND, body);
}

/** Decodes a command frame's body. */
export function parseCommand(body: Uint8Array): Command {
  const length = body[0];
  if (length === undefined || length === 0 || 1 + length > body.length) {
    throw new ZmqError("EPROTO", "malformed command name");
  }
  return { name: latin1.decode(body.subarray(1, 1 + length)), data: body.subarray(1 + length) };
}

/**
 * Encodes ZMTP metadata: per property a one-byte name length, the name, a four-byte big-endian
 * value length and the value.
 */
function encodeMetadata(properties: [string, Uint8Array][]): Uint8Array {
  let size = 0;
  for (const [name, value] of properties) size += 1 + name.length + 4 + value.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [name, value] of properties) {
    out[at] = name.length;
    encoder.encodeInto(name, out.subarray(at + 1));
    at += 1 + name.length;
    view.setUint32(at, value.length);
    out.set(value, at + 4);
    at += 4 + value.length;
  }
  return out;
}

/** Decodes ZMTP metadata; names are case-insensitive, so the keys are lower case. */
export function parseMetadata(data: Uint8Array): Map<string, Uint8Array> {
  const properties = new Map<string, Uint8Array>();
  let at = 0;
  while (at < data.length) {
    const nameLength = data[at]!;
    if (nameLength === 0 || at + 1 + nameLength + 4 > data.length) {
      throw new ZmqError("EPROTO", "malformed metadata property");
    }
    const name = latin1.decode(data.subarray(at + 1, at + 1 + nameLength)).toLowerCase();
    at += 1 + nameLength;
    const valueLength = readUint32(data, at);
    at += 4;
    if (at + valueLength > data.length) throw new ZmqError("EPROTO", "metadata value overruns");
    properties.set(name, data.subarray(at, at + valueLength));
    at += valueLength;
  }
  return properties;
}

/**
 * The metadata a socket announces in its handshake: Socket-Type, Identity when one is given,
 * and the socket's application (`X-…`) properties.
 */
export function encodeProperties(
  socketType: string,
  identity?: Uint8Array,
  extra: Readonly<Record<string, string>> = {},
): Uint8Array {
  const properties: [string, Uint8Array][] = [["Socket-Type", encoder.encode(socketType)]];
  if (identity) properties.push(["Identity", identity]);
  for (const [name, value] of Object.entries(extra)) properties.push([name, encoder.encode(value)]);
  return encodeMetadata(properties);
}

/** The READY command of the NULL mechanism, carrying {@linkcode encodeProperties}' metadata. */
export function encodeReady(
  socketType: string,
  identity?: Uint8Array,
  extra: Readonly<Record<string, string>> = {},
): Uint8Array {
  return encodeCommand("READY", encodeProperties(socketType, identity, extra));
}

/** The ERROR command; the reason is cut to 255 bytes. */
export function encodeError(reason: string): Uint8Array {
  const text = encoder.encode(reason).subarray(0, 255);
  const data = new Uint8Array(1 + text.length);
  data[0] = text.length;
  data.set(text, 1);
  return encodeCommand("ERROR", data);
}

/** The reason an ERROR command carries. */
export function errorReason(data: Uint8Array): string {
  return latin1.decode(data.subarray(1, 1 + (data[0] ?? 0)));
}

/** The PING command: a time-to-live in tenths of a second, and up to 16 bytes of context. */
export function encodePing(ttlDeciseconds: number, context: Uint8Array): Uint8Array {
  const data = new Uint8Array(2 + context.length);
  data[0] = ttlDeciseconds >>> 8;
  data[1] = ttlDeciseconds & 0xff;
  data.set(context, 2);
  return encodeCommand("PING", data);
}

/** The PONG command answering a PING's data: it echoes the context. */
export function encodePong(pingData: Uint8Array): Uint8Array {
  return encodeCommand("PONG", pingData.subarray(2, 18));
}

/** The time-to-live of a PING, in milliseconds (0: none). */
export function pingTtl(pingData: Uint8Array): number {
  return pingData.length < 2 ? 0 : ((pingData[0]! << 8) | pingData[1]!) * 100;
}
