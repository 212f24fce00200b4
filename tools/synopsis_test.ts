import { assertEquals, assertThrows } from "../tests/assert.ts";
import { currentReadme, withSynopses } from "./synopsis.ts";

Deno.test("readme: each synopsis block is the tool's --help (run `deno task readme`)", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  assertEquals(readme, await currentReadme());
});

Deno.test("readme: synopsis blocks are rewritten in place, and a missing or unknown one is refused", () => {
  const readme = "# x\n\n<!-- synopsis:piw-remove -->\nold\n<!-- /synopsis -->\n\ntail\n";
  assertEquals(
    withSynopses(readme, { "piw-remove": "Usage: piw-remove\n" }),
    "# x\n\n<!-- synopsis:piw-remove -->\n\n```text\nUsage: piw-remove\n```\n\n<!-- /synopsis -->\n\ntail\n",
  );
  assertThrows(() => withSynopses(readme, {}), Error, "synopsis block of piw-remove: no tool");
  assertThrows(
    () => withSynopses(readme, { "piw-remove": "", "piw-logger": "" }),
    Error,
    "no synopsis block of piw-logger",
  );
});
