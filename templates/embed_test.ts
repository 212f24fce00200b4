import { assertEquals } from "../tests/assert.ts";
import { embeddedSource } from "./embed.ts";

Deno.test("templates: mod.ts embeds the current .vto files (run `deno task templates`)", async () => {
  const current = await Deno.readTextFile(new URL("mod.ts", import.meta.url));
  assertEquals(current, await embeddedSource());
});
