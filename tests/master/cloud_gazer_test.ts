/**
 * Cloud Gazer against the fake PyPI, through the real master: binary-only releases are
 * registered but skipped until a source arrives; yanks show on the pages (PEP 592); removed
 * releases and projects lose their files and pages; versions no slave could be sent are ignored.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
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

  await t.step("versions no slave could be sent are ignored, and the farm carries on", async () => {
    // PyPI has versions such as "1.0 beta"; the master used to queue them, and a BUILD that
    // cannot be encoded stopped it (a slave held on IDLE) or sent every slave DIE in turn
    const idle = slave.request("IDLE"); // nothing to build: held
    const long = "2".repeat(150);
    const sdist = new Uint8Array(10); // never fetched
    await pypi.release("oddly", "1.0 beta", sdist);
    await pypi.release("oddly", long, sdist);
    await pypi.release("oddly", "..", sdist); // its JSON API URL would be /pypi/oddly/json
    await master.waitForLog(/ignored PyPI's source of "oddly" "1\.0 beta": expected a version/);
    await master.waitForLog(new RegExp(`ignored PyPI's source of "oddly" "${long}"`));
    await master.waitForLog(/ignored PyPI's source of "oddly" "\.\.": expected a version/);
    await pypi.release("oddly", "3.0");
    let reply = await idle;
    while (reply.msg === "SLEEP") reply = await slave.request("IDLE");
    assertEquals(reply, { msg: "BUILD", data: ["oddly", "3.0"] });
    assertEquals(await slave.deliver([makeWheel("oddly", "3.0")]), { msg: "DONE" });
    const page = await master.waitForFile("project/oddly/index.html", "3.0");
    assert(!page.includes("1.0 beta"), "the ignored version is not listed");
    // one kept before (by an older master): the Architect leaves it out of the queue
    await queryDb(
      farm.db.superDsn,
      "INSERT INTO versions (package, version, released) VALUES ($1, $2, now())",
      [
        "oddly",
        "4.0 final",
      ],
    );
    await pypi.release("oddly", "5.0"); // the queue is read again
    await master.waitForLog(/left "oddly" "4\.0 final" out of the build queue: expected a version/);
    reply = await slave.request("IDLE");
    while (reply.msg === "SLEEP") reply = await slave.request("IDLE");
    assertEquals(reply, { msg: "BUILD", data: ["oddly", "5.0"] });
    assertEquals(await slave.deliver([makeWheel("oddly", "5.0")]), { msg: "DONE" });
    // and PyPI removing it removes it
    pypi.remove("oddly", "4.0 final");
    await eventually(
      "4.0 final is gone",
      async () =>
        (await queryDb(farm.db.superDsn, "SELECT 1 FROM versions WHERE version = '4.0 final'"))
          .length === 0,
    );
  });

  await t.step("a changelog row that cannot be read is skipped, and PyPI followed on", async () => {
    // a mirror's row whose time is past what a timestamp holds: it used to fail every poll
    const value = (v: string) => `<value>${v}</value>`;
    pypi.rawRow([
      value("<string>far-future</string>"),
      value("<string>1.0</string>"),
      value("<int>10413792000</int>"),
      value("<string>add source file far-future-1.0.tar.gz</string>"),
      value(`<int>${pypi.serial + 1}</int>`),
    ]);
    await pypi.release("unstalled", "1.0");
    await master.waitForLog(/skipped 1 changelog row\(s\) PyPI sent that cannot be read: /);
    await master.waitForFile("project/unstalled/index.html", "1.0");
    assert(!await exists(`${master.output}/project/far-future`));
  });

  await t.step(
    "a row whose serial is past PyPI's last serial does not end following it",
    async () => {
      // the serial kept only grows: taking this row made every later poll start past PyPI's end
      pypi.rowWithSerial("from-the-future", "1.0", Number.MAX_SAFE_INTEGER);
      await pypi.release("beside-it", "1.0");
      await master.waitForLog(/left 1 changelog row\(s\) whose serial is past PyPI's last serial/);
      await master.waitForFile("project/beside-it/index.html", "1.0");
      await pypi.release("after-it", "1.0");
      await master.waitForFile("project/after-it/index.html", "1.0");
      const [row] = await queryDb(farm.db.superDsn, "SELECT pypi_serial FROM configuration");
      assert(Number(row!.pypi_serial) <= pypi.serial, `the serial kept is ${row!.pypi_serial}`);
      assert(!await exists(`${master.output}/project/from-the-future`));
    },
  );

  await t.step("a fault of a megabyte is logged as a line of a few KiB", async () => {
    // each poll logged all of it: 60 MiB of log every 10 s from a broken mirror
    pypi.fault = "x".repeat(1 << 20);
    const line = await master.waitForLog(/cannot follow PyPI: [^\n]*/);
    pypi.fault = null;
    assertStringIncludes(line[0], "characters more)");
    assert(line[0].length < 1000, `a line of ${line[0].length} characters`);
    await pypi.release("after-the-fault", "1.0");
    await master.waitForFile("project/after-the-fault/index.html", "1.0");
  });
});
