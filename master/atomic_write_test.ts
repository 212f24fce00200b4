import { assertEquals, assertThrows } from "../tests/assert.ts";
import { writeAtomic, writeAtomicSync } from "./atomic_write.ts";

for (const [flavour, write] of [["async", writeAtomic], ["sync", writeAtomicSync]] as const) {
  Deno.test(`atomic write (${flavour}): files replace what was there, leaving no temp files`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await write(`${dir}/a/b/page.html`, "one");
      await write(`${dir}/a/b/page.html`, new TextEncoder().encode("two"));
      await write(`${dir}/a/c/page.html`, "three");
      assertEquals(await Deno.readTextFile(`${dir}/a/b/page.html`), "two");
      assertEquals(await Deno.readTextFile(`${dir}/a/c/page.html`), "three");
      const names = [...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name);
      assertEquals(names, ["page.html"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("atomic write (sync): a file that cannot be put in place leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/a/page.html`, { recursive: true });
    await Deno.writeTextFile(`${dir}/a/page.html/x`, "a directory in the way");
    assertThrows(() => writeAtomicSync(`${dir}/a/page.html`, "one"));
    const names = [...Deno.readDirSync(`${dir}/a`)].map((e) => e.name);
    assertEquals(names, ["page.html"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
