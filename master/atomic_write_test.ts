import { assertEquals } from "../tests/assert.ts";
import { writeAtomic, writeAtomicSync } from "./atomic_write.ts";

/** Both forms, each as a promise (which the sync form's error rejects). */
const forms = {
  async: writeAtomic,
  // deno-lint-ignore require-await
  sync: async (path: string, data: string | Uint8Array) => writeAtomicSync(path, data),
};

for (const [form, write] of Object.entries(forms)) {
  Deno.test(`atomic write (${form}): files replace what was there, leaving no temp files`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await write(`${dir}/a/b/page.html`, "one");
      await write(`${dir}/a/b/page.html`, new TextEncoder().encode("two"));
      assertEquals(await Deno.readTextFile(`${dir}/a/b/page.html`), "two");
      const names = [...Deno.readDirSync(`${dir}/a/b`)].map((e) => e.name);
      assertEquals(names, ["page.html"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`atomic write (${form}): a missing directory is made, and again once removed`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await write(`${dir}/a/b/c/page.html`, "one");
      assertEquals(await Deno.readTextFile(`${dir}/a/b/c/page.html`), "one");
      await Deno.remove(`${dir}/a`, { recursive: true });
      await write(`${dir}/a/b/c/page.html`, "two");
      assertEquals(await Deno.readTextFile(`${dir}/a/b/c/page.html`), "two");
      assertEquals([...Deno.readDirSync(`${dir}/a/b/c`)].map((e) => e.name), ["page.html"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`atomic write (${form}): a write that fails otherwise is an error, leaving nothing`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/file`, "not a directory");
      let failed = false;
      await write(`${dir}/file/page.html`, "x").catch(() => failed = true);
      assertEquals(failed, true);
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["file"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`atomic write (${form}): text of any size and script is written as it is`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      // fits the encoding buffer; does not once encoded (3 bytes a character); a short text
      // after a long one; longer than the buffer in characters
      const texts = ["pip <3 ✓ 😀", "€".repeat(200_000), "short", "ab".repeat(200_000)];
      for (const text of texts) {
        await write(`${dir}/page.html`, text);
        assertEquals(await Deno.readTextFile(`${dir}/page.html`), text);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
