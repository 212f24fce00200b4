/**
 * piw-add and piw-remove --yank through their command lines (subprocesses with the flags they
 * ship with), against the real master on real PostgreSQL and on its embedded database: adding a
 * package and a version by hand, changing them (description, priority, aliases, skip, yank),
 * the refusals and usage errors, every tool taking any spelling of a name, and an operator's
 * priority putting a package's builds first.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { type MasterRun, startEmbeddedFarm, startFarm } from "../farm.ts";
import { importWheel } from "../fixtures/admin.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { runTool } from "../process.ts";

/** Runs piw-add (or another admin tool) on the master's queue; its exit code and stderr. */
function tool(master: MasterRun, name: "piw-add" | "piw-remove" | "piw-rebuild") {
  return (...args: string[]) => runTool(name, ["--import-queue", master.importQueue, ...args]);
}

/** The whole scenario, on a master whatever its database; `sql` reads PostgreSQL's. */
async function scenario(
  t: Deno.TestContext,
  master: MasterRun,
  pypi: FakePyPI,
  sql?: (query: string) => Promise<Record<string, unknown>[]>,
): Promise<void> {
  const add = tool(master, "piw-add");
  const remove = tool(master, "piw-remove");
  const rebuild = tool(master, "piw-rebuild");
  const page = (path: string, text?: string) => master.waitForFile(path, text);

  await t.step("piw-add adds a package with a description, priority and alias", async () => {
    const r = await add(
      "-y",
      "-d",
      "A tiny demo",
      "--priority",
      "5",
      "-a",
      "tiny_demo",
      "Tiny.Demo",
    );
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "added package tiny-demo");
    const html = await page("project/tiny-demo/index.html", "A tiny demo");
    assertStringIncludes(html, "<h1>Tiny.Demo</h1>");
    assertStringIncludes(html, "Build priority: 5");
    assertStringIncludes(html, "Also known as: tiny-demo, tiny_demo");
    // every spelling gets the pages
    await page("project/tiny_demo/index.html", "A tiny demo");
    await page("simple/Tiny.Demo/index.html");
    if (sql) {
      assertEquals(await sql("SELECT package, priority FROM packages"), [
        { package: "tiny-demo", priority: 5 },
      ]);
      assertEquals(await sql("SELECT name FROM package_names ORDER BY name"), [
        { name: "Tiny.Demo" },
        { name: "tiny_demo" },
      ]);
    }
    const again = await add("-y", "-d", "A tiny demo, again", "TINY-demo");
    assertEquals(again.code, 0, again.stderr);
    assertStringIncludes(again.stderr, "updated package tiny-demo");
    await page("project/tiny-demo/index.html", "A tiny demo, again");
  });

  await t.step("piw-add adds a version released when it says, once", async () => {
    const r = await add("-y", "-r", "2024-01-01 00:00:00", "tiny-demo", "0.1");
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "added tiny-demo 0.1");
    const html = await page("project/tiny-demo/index.html", "<td>0.1</td><td>2024-01-01</td>");
    assertStringIncludes(html, '<td class="pending">pending</td>');
    const moved = await add("-y", "-r", "2024-02-01T00:00:00Z", "tiny-demo", "0.1");
    assertEquals(moved.code, 1);
    assertStringIncludes(moved.stderr, "its release time cannot be changed");
  });

  await t.step("piw-add --skip and --unskip a version, by any spelling", async () => {
    const skipped = await add("-y", "-s", "broken sdist", "TINY_DEMO", "0.1");
    assertEquals(skipped.code, 0, skipped.stderr);
    assertStringIncludes(skipped.stderr, "updated tiny-demo 0.1");
    await page("project/tiny-demo/index.html", "skipped: broken sdist");
    const unskipped = await add("-y", "--unskip", "Tiny.Demo", "0.1");
    assertEquals(unskipped.code, 0, unskipped.stderr);
    await page("project/tiny-demo/index.html", '<td class="pending">pending</td>');
  });

  const wheel = makeWheel("tiny_demo", "0.1");
  await t.step("piw-remove --yank yanks a version and keeps its files (PEP 592)", async () => {
    await importWheel(master, wheel);
    await page("simple/tiny-demo/index.html", wheel.filename);
    const r = await remove("-y", "--yank", "Tiny.Demo", "0.1");
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "yanked Tiny.Demo 0.1");
    const html = await page("simple/tiny-demo/index.html", 'data-yanked=""');
    assertStringIncludes(html, wheel.filename);
    await page("simple/Tiny.Demo/index.html", 'data-yanked=""');
    await page("simple/tiny-demo/index.json", '"yanked":true');
    await page("project/tiny-demo/index.html", '<span class="yank">(yanked)</span>');
    const json = JSON.parse(await page("project/tiny-demo/json/index.json", '"yanked":true'));
    assertEquals(json.releases["0.1"].yanked, true);
    assert((await Deno.stat(`${master.output}/simple/tiny-demo/${wheel.filename}`)).isFile);
    const unknown = await remove("-y", "--yank", "tiny-demo", "9.9");
    assertEquals(unknown.code, 1);
    assertStringIncludes(unknown.stderr, "unknown version 9.9 of tiny-demo");
  });

  await t.step("piw-add --unyank", async () => {
    const r = await add("-y", "--unyank", "tiny-demo", "0.1");
    assertEquals(r.code, 0, r.stderr);
    await page("simple/tiny-demo/index.json", '"yanked":false');
    const html = await page("simple/tiny-demo/index.html", wheel.filename);
    assert(!html.includes("data-yanked"), html);
  });

  await t.step("usage errors exit 2 and change nothing; no -y and no terminal asks", async () => {
    const cases: [string[], string][] = [
      [["-y", "-a", "other", "tiny-demo"], "alias other is not a spelling of tiny-demo"],
      [["-y", "--yank", "tiny-demo"], "--yank needs a version"],
      [["-y", "-r", "2024-01-01 00:00:00", "tiny-demo"], "--released needs a version"],
      [["-y", "--skip", "x", "--unskip", "tiny-demo"], "--skip and --unskip contradict"],
      [["-y", "--priority", "5000", "tiny-demo"], "from -1000 to 1000"],
      [["-y", "-r", "yesterday", "tiny-demo", "0.2"], "not an RFC 3339 timestamp"],
      [["-y", "../etc", "0.2"], "expected a project name"],
      // past what ADDPKG takes: refused as it is read, not by the master (exit 1)
      [["-y", "-d", "x".repeat(10_001), "tiny-demo"], "<=10000 characters"],
    ];
    for (const [args, says] of cases) {
      const r = await add(...args);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertStringIncludes(r.stderr, says);
    }
    const asked = await add("tiny-demo", "0.2");
    assertEquals(asked.code, 1);
    assertStringIncludes(asked.stderr, "run again with -y");
    const html = await Deno.readTextFile(`${master.output}/project/tiny-demo/index.html`);
    assert(!html.includes("<td>0.2</td>"), "nothing was added");
  });

  await t.step("piw-add takes a description as long as ADDPKG does", async () => {
    // it refused any over 1000 characters, which the master takes up to 10,000
    const long = "A long description. ".repeat(500);
    const r = await add("-y", "-d", long, "tiny-demo");
    assertEquals(r.code, 0, r.stderr);
    await page("project/tiny-demo/index.html", long);
    const back = await add("-y", "-d", "A tiny demo, again", "tiny-demo");
    assertEquals(back.code, 0, back.stderr);
    await page("project/tiny-demo/index.html", "A tiny demo, again");
  });

  await t.step("piw-rebuild and piw-remove take any spelling", async () => {
    await Deno.remove(`${master.output}/project/tiny-demo/index.html`);
    const r = await rebuild("project", "TINY.demo");
    assertEquals(r.code, 0, r.stderr);
    await page("project/tiny-demo/index.html", "A tiny demo, again");
    const removed = await remove("-y", "Tiny_Demo", "0.1");
    assertEquals(removed.code, 0, removed.stderr);
    const html = await page("simple/tiny-demo/index.json", '"files":[]');
    assert(!html.includes(wheel.filename));
  });

  await t.step("an operator's priority builds a package before newer releases", async () => {
    await pypi.release("newer", "1.0");
    await page("project/newer/index.html", "pending");
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
    await slave.hello();
    assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["tiny-demo", "0.1"] });
  });
}

Deno.test("piw-add and piw-remove --yank: against the real master on PostgreSQL", async (t) => {
  await using farm = await startFarm();
  await scenario(
    t,
    farm.master,
    farm.pypi,
    (query) => queryDb(farm.db.superDsn, query),
  );
});

Deno.test("piw-add and piw-remove --yank: against the real master on its embedded database", async (t) => {
  await using farm = await startEmbeddedFarm();
  await scenario(t, farm.master, farm.pypi);
});
