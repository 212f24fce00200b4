import { assertEquals } from "../tests/assert.ts";
import { printable } from "./format.ts";

Deno.test("format: a peer's control characters never reach the terminal", () => {
  assertEquals(printable("evil\x1b]0;pwned\x07\nlabel\t"), "evil?]0;pwned??label?");
  assertEquals(printable("cp311 · building"), "cp311 · building");
});
