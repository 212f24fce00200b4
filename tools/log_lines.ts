/**
 * The lines of a web server's access log, for piw-logger: from a file or stdin, gunzipped when
 * the bytes are gzip's (rotated logs: `access.log.2.gz`), split on newlines with a trailing
 * `\r` removed. A line longer than the limit is not kept in memory: it comes out as
 * {@linkcode TOO_LONG}, so that hostile input costs no more than the limit.
 *
 * @module
 */

import { Duplex } from "node:stream";
import { createGunzip } from "node:zlib";

/** The longest line kept (Apache limits a request line and each header to 8190 bytes, which
 * its escaping can make four times as long). */
export const MAX_LINE_LENGTH = 64 * 1024;

/** What a line over the limit comes out as. */
export const TOO_LONG: unique symbol = Symbol("a line over the length limit");

/** A line of the log, or {@linkcode TOO_LONG}. */
export type Line = string | typeof TOO_LONG;

/**
 * The stream itself, or its gunzipped content (every member of it) when it starts with gzip's
 * magic bytes.
 */
export async function gunzipped(
  stream: ReadableStream<Uint8Array>,
): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  let head = new Uint8Array(0);
  while (head.length < 2) {
    const { done, value } = await reader.read();
    if (done) break;
    const joined = new Uint8Array(head.length + value.length);
    joined.set(head);
    joined.set(value, head.length);
    head = joined;
  }
  const whole = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length) controller.enqueue(head);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  if (head[0] !== 0x1f || head[1] !== 0x8b) return whole;
  // node:zlib reads every member of a gzip file (`cat a.gz b.gz`) and ignores padding after
  // the last; the web's DecompressionStream failed after the first, with nothing read
  return whole.pipeThrough(Duplex.toWeb(createGunzip()) as TransformStream<Uint8Array, Uint8Array>);
}

/** The lines of a stream of text (UTF-8, invalid bytes replaced). */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  maxLength = MAX_LINE_LENGTH,
): AsyncGenerator<Line> {
  const decoder = new TextDecoder();
  let pending = "";
  let skipping = false;
  const finish = (text: string): Line => {
    const line = text.endsWith("\r") ? text.slice(0, -1) : text;
    return line.length > maxLength ? TOO_LONG : line;
  };
  const take = function* (text: string): Generator<Line> {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      if (skipping) {
        skipping = false;
        yield TOO_LONG;
      } else {
        yield finish(pending + text.slice(start, nl));
      }
      pending = "";
      start = nl + 1;
    }
    if (skipping) return;
    pending += text.slice(start);
    if (pending.length > maxLength + 1) {
      pending = "";
      skipping = true;
    }
  };
  for await (const chunk of stream) yield* take(decoder.decode(chunk, { stream: true }));
  yield* take(decoder.decode());
  if (skipping) yield TOO_LONG;
  else if (pending) yield finish(pending);
}
