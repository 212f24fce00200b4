/**
 * Cloud Gazer against the fake PyPI, through the real master: binary-only releases are
 * registered but skipped until a source arrives; yanks show on the pages (PEP 592); removed
 * releases and projects lose their files and pages.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("master: Cloud Gazer applies PyPI's releases, yanks and removals", async (t) => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  await slave.hello();

  await t.step(
    "a binary-only release is skipped; its source arriving later makes it buildable",
    async () => {
      pypi.binaryRelease("later", "1.0");
      await master.waitForFile("project/later/index.html", "skipped: binary only");
      await pypi.release("later", "1.0");
      await master.waitForFile("project/later/index.html", "pending");
      assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["later", "1.0"] });
      assertEquals(await slave.deliver([makeWheel("later", "1.0")]), { msg: "DONE" });
    },
  );

  const wheel = makeWheel("later", "1.0");
  await t.step("a yank shows on the simple page (PEP 592) and the project page", async () => {
    await master.waitForFile("simple/later/index.html", wheel.filename);
    pypi.yank("later", "1.0");
    const page = await master.waitForFile("simple/later/index.html", 'data-yanked=""');
    assertStringIncludes(page, wheel.filename);
    const json = JSON.parse(await master.waitForFile("simple/later/index.json", '"yanked":true'));
    assertEquals(json.files[0].yanked, true);
    await master.waitForFile("project/later/index.html", 'class="yanked"');
  });

  await t.step("a removed release loses its files and leaves the pages", async () => {
    pypi.remove("later", "1.0");
    await master.waitForFile("project/later/index.html");
    for (
      let i = 0;
      i < 200 && await exists(`${master.output}/simple/later/${wheel.filename}`);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(
      !await exists(`${master.output}/simple/later/${wheel.filename}`),
      "the wheel was deleted",
    );
    const page = await master.waitForFile("simple/later/index.html");
    for (
      let i = 0;
      i < 200 &&
      (await Deno.readTextFile(`${master.output}/simple/later/index.html`)).includes(
        wheel.filename,
      );
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(
      !(await Deno.readTextFile(`${master.output}/simple/later/index.html`)).includes(
        wheel.filename,
      ),
      page,
    );
  });

  await t.step("a removed project loses its pages", async () => {
    pypi.remove("later");
    for (let i = 0; i < 200 && await exists(`${master.output}/project/later`); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(!await exists(`${master.output}/project/later`));
    assert(!await exists(`${master.output}/simple/later`));
  });
});
