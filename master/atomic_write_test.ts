import { assertEquals } from "../tests/assert.ts";
import { writeAtomic } from "./atomic_write.ts";

Deno.test("atomic write: files replace what was there, leaving no temp files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeAtomic(`${dir}/a/b/page.html`, "one");
    await writeAtomic(`${dir}/a/b/page.html`, new TextEncoder().encode("two"));
    assertEquals(await Deno.readTextFile(`${dir}/a/b/page.html`), "two");
    const names = [...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name);
    assertEquals(names, ["page.html"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
