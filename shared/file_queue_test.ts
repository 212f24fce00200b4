import { assertEquals } from "../tests/assert.ts";
import { decimalFrame } from "./file_queue.ts";

Deno.test("file queue: numbers are plain ASCII decimal, nothing else", () => {
  const frame = (text: string) => new TextEncoder().encode(text);
  assertEquals(decimalFrame(frame("0")), 0);
  assertEquals(decimalFrame(frame("65536")), 65536);
  for (const bad of ["", "0x10", "1e3", "-1", " 1", "1.5", "١٢"]) {
    assertEquals(decimalFrame(frame(bad)), null, bad);
  }
  assertEquals(decimalFrame(frame("12345678901"), 10), null);
  assertEquals(decimalFrame(undefined), null);
});
