import { assertEquals, assertThrows } from "../tests/assert.ts";
import { TailBuffer } from "./tail.ts";

Deno.test("TailBuffer keeps everything under its limit", () => {
  const t = new TailBuffer(10);
  t.append("abc");
  t.append(new TextEncoder().encode("def"));
  t.append("");
  assertEquals(t.text(), "abcdef");
  assertEquals(t.dropped, 0);
});

Deno.test("TailBuffer keeps the last bytes and says how many it dropped", () => {
  const t = new TailBuffer(5);
  t.append("0123");
  t.append("4567");
  assertEquals(t.text(), "[3 bytes of earlier output dropped]\n34567");
  t.append("0123456789abc");
  assertEquals(t.text(), "[16 bytes of earlier output dropped]\n89abc");
  assertEquals(t.dropped, 16);
});

Deno.test("TailBuffer replaces a character cut in half rather than failing", () => {
  const t = new TailBuffer(4);
  t.append("aé€"); // 1 + 2 + 3 bytes: the cut falls inside é
  assertEquals(t.text(), "[2 bytes of earlier output dropped]\n\ufffd€");
});

Deno.test("TailBuffer refuses a limit that is not a positive number of bytes", () => {
  for (const limit of [0, -1, 1.5, NaN]) assertThrows(() => new TailBuffer(limit), RangeError);
});
