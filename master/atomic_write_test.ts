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

Deno.test("atomic write: a missing directory is made, and made again once removed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeAtomic(`${dir}/a/b/c/page.html`, "one");
    assertEquals(await Deno.readTextFile(`${dir}/a/b/c/page.html`), "one");
    await Deno.remove(`${dir}/a`, { recursive: true });
    await writeAtomic(`${dir}/a/b/c/page.html`, "two");
    assertEquals(await Deno.readTextFile(`${dir}/a/b/c/page.html`), "two");
    assertEquals([...Deno.readDirSync(`${dir}/a/b/c`)].map((e) => e.name), ["page.html"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomic write: a write that fails otherwise is an error, and leaves nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "not a directory");
    let failed = false;
    await writeAtomic(`${dir}/file/page.html`, "x").catch(() => failed = true);
    assertEquals(failed, true);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["file"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
