/**
 * A release removed (piw-remove, or PyPI's changelog) loses its files only once no page lists
 * them: they were removed first, and pip reading the index just before got a 404 for each,
 * for as long as the Scribe took to rewrite it (a moment, or minutes behind a full rewrite).
 * The Scribe is held up here by a lock on a table it reads, so that the order shows.
 */

import { assert, assertEquals } from "../assert.ts";
import { Duration } from "../../shared/duration.ts";
import { lockTable, queryDb, waitsForLock } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { importWheel } from "../fixtures/admin.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { runTool } from "../process.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("master: a removed release's files go once no page lists them", async (t) => {
  await using farm = await startFarm();
  const { pypi, db, master } = farm;
  const wheels = [makeWheel("by-tool", "1.0"), makeWheel("by-pypi", "1.0")];
  const project = (w: TestWheel) => w.tags[0].replaceAll("_", "-");
  for (const w of wheels) {
    await pypi.release(project(w), "1.0");
    await master.waitForFile(`project/${project(w)}/index.html`);
    await importWheel(master, w);
    await master.waitForFile(`simple/${project(w)}/index.html`, w.filename);
  }

  for (const [w, how] of [[wheels[0]!, "piw-remove"], [wheels[1]!, "PyPI"]] as const) {
    await t.step(`removed by ${how}`, async () => {
      const pkg = project(w);
      const file = `${master.output}/simple/${pkg}/${w.filename}`;
      const lock = await lockTable(db.superDsn, "package_names", "ACCESS EXCLUSIVE");
      let removing: ReturnType<typeof runTool> | undefined;
      try {
        if (how === "piw-remove") {
          removing = runTool("piw-remove", [
            "-y",
            "--import-queue",
            master.importQueue,
            pkg,
            "1.0",
          ]);
        } else {
          pypi.remove(pkg, "1.0");
        }
        // the Scribe is reading the package's data to write its pages without the file
        await eventually("the Scribe waits", () => waitsForLock(db.superDsn, "get_project_data"));
        assert(await exists(file), "the file went while the index still lists it");
        const page = await Deno.readTextFile(`${master.output}/simple/${pkg}/index.html`);
        assert(page.includes(w.filename));
      } finally {
        await lock.release();
      }
      if (removing) assertEquals((await removing).code, 0, (await removing).stderr);
      await eventually("the file is removed", async () => !await exists(file));
      const page = await Deno.readTextFile(`${master.output}/simple/${pkg}/index.html`);
      assert(!page.includes(w.filename), "the index no longer lists it");
    });
  }

  await t.step("a rebuild logged while the pages are rewritten keeps its file", async () => {
    // piw-remove without --skip is how a version is built again: its rebuild, logged during
    // the wait, put its wheel at the same name, which the removal then deleted (listed, gone)
    const w = makeWheel("rebuilt", "1.0");
    await pypi.release("rebuilt", "1.0");
    await master.waitForFile("project/rebuilt/index.html");
    await importWheel(master, w);
    await master.waitForFile("simple/rebuilt/index.html", w.filename);
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "rebuilder");
    assertEquals((await slave.hello()).msg, "ACK");
    const lock = await lockTable(db.superDsn, "package_names", "ACCESS EXCLUSIVE");
    let removing: ReturnType<typeof runTool> | undefined;
    try {
      removing = runTool("piw-remove", [
        "-y",
        "--import-queue",
        master.importQueue,
        "rebuilt",
        "1.0",
      ]);
      await eventually("the Scribe waits", () => waitsForLock(db.superDsn, "get_project_data"));
      let reply = await slave.request("IDLE");
      // the releases removed above are pending again too: those fail
      while (reply.msg === "SLEEP" || (reply.msg === "BUILD" && reply.data[0] !== "rebuilt")) {
        if (reply.msg === "BUILD") {
          assertEquals((await slave.request("BUILT", [false, Duration.ZERO, "", []])).msg, "DONE");
        }
        reply = await slave.request("IDLE");
      }
      assertEquals(reply, { msg: "BUILD", data: ["rebuilt", "1.0"] });
      assertEquals(await slave.deliver([w]), { msg: "DONE" });
    } finally {
      await lock.release();
    }
    const removed = await removing!;
    assertEquals(removed.code, 0, removed.stderr);
    const listed = await queryDb<{ filename: string }>(
      db.superDsn,
      "SELECT f.filename FROM builds b JOIN files f USING (build_id) WHERE b.package = 'rebuilt'",
    );
    assertEquals(listed.map((r) => r.filename), [w.filename]);
    assert(await exists(`${master.output}/simple/rebuilt/${w.filename}`), "listed, and gone");
  });
});
