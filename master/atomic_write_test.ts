import { assertEquals } from "../tests/assert.ts";
import { symlinkAtomic, writeAtomic } from "./atomic_write.ts";

Deno.test("atomic write: files and links replace what was there, leaving no temp files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeAtomic(`${dir}/a/b/page.html`, "one");
    await writeAtomic(`${dir}/a/b/page.html`, new TextEncoder().encode("two"));
    assertEquals(await Deno.readTextFile(`${dir}/a/b/page.html`), "two");
    await Deno.mkdir(`${dir}/simple/foo-bar`, { recursive: true });
    await symlinkAtomic("foo-bar", `${dir}/simple/Foo.Bar`);
    await symlinkAtomic("foo-bar", `${dir}/simple/Foo.Bar`);
    assertEquals(await Deno.readLink(`${dir}/simple/Foo.Bar`), "foo-bar");
    const names = [...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name);
    assertEquals(names, ["page.html"]);
    assertEquals([...Deno.readDirSync(`${dir}/simple`)].map((e) => e.name).sort(), [
      "Foo.Bar",
      "foo-bar",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
