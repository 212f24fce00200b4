import { assertEquals } from "../tests/assert.ts";
import { gunzipped, type Line, readLines, TOO_LONG } from "./log_lines.ts";

const encoder = new TextEncoder();

/** A stream of the given chunks. */
function chunks(...parts: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => (typeof p === "string" ? encoder.encode(p) : p)));
}

async function all(stream: ReadableStream<Uint8Array>, max?: number): Promise<Line[]> {
  return await Array.fromAsync(readLines(stream, max));
}

async function gzip(text: string): Promise<Uint8Array> {
  const stream = ReadableStream.from([encoder.encode(text)]).pipeThrough(
    new CompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("log lines: split across chunks, CRLF, a last line without a newline", async () => {
  assertEquals(await all(chunks("a\nb", "c\r\n", "\n", "d")), ["a", "bc", "", "d"]);
  assertEquals(await all(chunks("")), []);
  assertEquals(await all(chunks("x\n")), ["x"]);
});

Deno.test("log lines: a line over the limit is TOO_LONG, and what follows it is read", async () => {
  const huge = "y".repeat(50);
  assertEquals(await all(chunks("ok\n", huge.slice(0, 20), huge.slice(20), "\nnext\n"), 10), [
    "ok",
    TOO_LONG,
    "next",
  ]);
  assertEquals(await all(chunks("12345678901\n1234567890\n"), 10), [TOO_LONG, "1234567890"]);
  assertEquals(await all(chunks("ok\n", "z".repeat(30)), 10), ["ok", TOO_LONG]);
});

Deno.test("log lines: invalid UTF-8 becomes replacement characters, never an error", async () => {
  const binary = new Uint8Array([0xff, 0xfe, 0x00, 0x0a, 0x41, 0xc3, 0x0a]);
  assertEquals(await all(chunks(binary)), ["\ufffd\ufffd\0", "A\ufffd"]);
});

Deno.test("log lines: gzip is recognised by its bytes; anything else passes through", async () => {
  const zipped = await gzip("one\ntwo\n");
  assertEquals(await all(await gunzipped(chunks(zipped.slice(0, 1), zipped.slice(1)))), [
    "one",
    "two",
  ]);
  assertEquals(await all(await gunzipped(chunks("p", "lain\n"))), ["plain"]);
  assertEquals(await all(await gunzipped(chunks())), []);
  const truncated = zipped.slice(0, zipped.length - 12);
  let failed = false;
  await all(await gunzipped(chunks(truncated))).catch(() => (failed = true));
  assertEquals(failed, true, "a truncated gzip stream is an error for the file");
});

Deno.test("log lines: every member of a gzip file is read, and padding after the last", async () => {
  // `cat a.gz b.gz` is a gzip file too (gzip and Python's gzip read both): the first member was
  // all that was read, and then the whole file failed
  const a = await gzip("one\ntwo\n");
  const b = await gzip("three\n");
  const padding = new Uint8Array(512);
  assertEquals(await all(await gunzipped(chunks(a, b.slice(0, 5), b.slice(5), padding))), [
    "one",
    "two",
    "three",
  ]);
});
