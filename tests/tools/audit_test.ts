/**
 * piw-audit through its command line (a subprocess with the flags it ships with), against the
 * real master on real PostgreSQL and on its embedded database: a sound site passes; a site
 * damaged on purpose (a missing wheel, an extra file, a wrong hash, a missing .metadata, a
 * missing log, an extra log, directories of no package, a broken and a missing project
 * directory, temporary files of page writes) shows each problem on its own line and exits 1;
 * repairs happen only when asked, and only where they are safe.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { type MasterRun, startEmbeddedFarm, startFarm } from "../farm.ts";
import { importWheel } from "../fixtures/admin.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { runTool } from "../process.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

async function scenario(t: Deno.TestContext, master: MasterRun, pypi: FakePyPI): Promise<void> {
  const out = master.output;
  const audit = async (...args: string[]) => {
    const r = await runTool("piw-audit", [
      "--import-queue",
      master.importQueue,
      "-o",
      out,
      ...args,
    ]);
    return { ...r, lines: r.stdout.split("\n").filter((l) => l).sort() };
  };
  await pypi.release("Audit.Me", "1.0");
  await pypi.release("other", "1.0");
  await master.waitForFile("project/audit-me/index.html");
  await master.waitForFile("project/other/index.html");
  const mine = makeWheel("audit_me", "1.0");
  const theirs = makeWheel("other", "1.0");
  for (const w of [mine, theirs]) await importWheel(master, w);
  await master.waitForFile("simple/audit-me/index.html", mine.filename);
  await master.waitForFile("simple/other/index.html", theirs.filename);
  const json = JSON.parse(await master.waitForFile("project/audit-me/json/index.json", "/logs/"));
  const myLog = (json.releases["1.0"].builds[0].log as string).slice(1);
  await master.waitForFile(myLog);
  await master.waitForFile("packages.json", "Audit.Me");

  await t.step("a sound site: nothing to say, exit 0", async () => {
    const r = await audit("all", "--hashes");
    assertEquals([r.code, r.lines], [0, []], r.stderr);
    assertStringIncludes(r.stderr, "all: no problem found");
  });

  const temporaries = [
    "index.html.4242.9.tmp",
    "project/other/index.html.4242.7.tmp",
    "project/other/json/index.json.4242.8.tmp",
    "simple/index.html.4242.10.tmp",
  ];
  await t.step("the site damaged on purpose: each problem on its own line, exit 1", async () => {
    await Deno.remove(`${out}/simple/audit-me/${mine.filename}`);
    await Deno.writeTextFile(`${out}/simple/audit-me/leftover.txt`, "left over");
    await Deno.writeFile(`${out}/simple/other/${theirs.filename}`, new Uint8Array([1, 2, 3]));
    await Deno.remove(`${out}/simple/other/${theirs.filename}.metadata`);
    await Deno.remove(`${out}/${myLog}`);
    await Deno.mkdir(`${out}/logs/0000/099`, { recursive: true });
    await Deno.writeTextFile(`${out}/logs/0000/099/999.txt.gz`, "not a build's");
    await Deno.mkdir(`${out}/simple/junk`);
    await Deno.mkdir(`${out}/project/junk/json`, { recursive: true });
    await Deno.remove(`${out}/project/other/json/index.json`);
    await Deno.remove(`${out}/project/Audit.Me`, { recursive: true });
    // what a master killed while writing pages leaves beside them
    for (const temporary of temporaries) await Deno.writeTextFile(`${out}/${temporary}`, "half");

    const tree = await audit("tree");
    assertEquals(tree.code, 1, tree.stderr);
    assertEquals(tree.lines, [
      "broken directory project/other: no json/index.json",
      "extra directory project/junk",
      "extra directory simple/junk",
      ...temporaries.map((path) => `extra file ${path}`),
      "missing directory project/Audit.Me",
    ]);
    assertStringIncludes(tree.stderr, "tree: 8 problem(s)");

    const packages = await audit("packages", "--hashes");
    assertEquals(packages.code, 1, packages.stderr);
    assertEquals(packages.lines, [
      `broken wheel simple/other/${theirs.filename}: its SHA-256 is ` +
      "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81, the database says " +
      theirs.sha256,
      "extra file simple/audit-me/leftover.txt",
      `missing metadata simple/other/${theirs.filename}.metadata`,
      `missing wheel simple/audit-me/${mine.filename}`,
    ]);
    // without --hashes no file is read; one package can be named, by any spelling
    const quick = await audit("packages", "OTHER");
    assertEquals(quick.lines, [`missing metadata simple/other/${theirs.filename}.metadata`]);

    const logs = await audit("logs");
    assertEquals(logs.code, 1, logs.stderr);
    const id = Number(/(\d+)\/(\d+)\/(\d+)\.txt\.gz$/.exec(myLog)!.slice(1).join(""));
    assertEquals(logs.lines, [
      "extra log logs/0000/099/999.txt.gz",
      `missing log ${myLog} (build ${id})`,
    ]);
    // reading changed nothing
    assert(await exists(`${out}/simple/junk`));
    assert(await exists(`${out}/logs/0000/099/999.txt.gz`));
  });

  await t.step("repairs happen only where asked, and where safe", async () => {
    // deleting asks first: with no terminal to ask on and no -y, nothing goes
    const unasked = await audit("logs", "--delete-extra");
    assertStringIncludes(unasked.stderr, "delete 1 path(s) under");
    assertStringIncludes(unasked.stderr, "run again with -y");
    assert(await exists(`${out}/logs/0000/099/999.txt.gz`), "nothing was deleted unasked");
    const logs = await audit("logs", "--rebuild", "--delete-extra", "-y");
    assertEquals(logs.code, 1, "it reports what it found");
    assert(!await exists(`${out}/logs/0000/099/999.txt.gz`), "the extra log was deleted");
    await master.waitForFile(myLog);
    assertEquals((await audit("logs")).lines, []);

    const tree = await audit("tree", "--rebuild", "--delete-extra", "-y");
    assertEquals(tree.code, 1);
    assert(!await exists(`${out}/simple/junk`) && !await exists(`${out}/project/junk`));
    for (const temporary of temporaries) assert(!await exists(`${out}/${temporary}`), temporary);
    await master.waitForFile("project/Audit.Me/index.html");
    await master.waitForFile("project/other/json/index.json");
    const again = await audit("tree");
    assertEquals([again.code, again.lines], [0, []], again.stderr);

    // a missing or broken wheel cannot be made again from the database: only reported
    const packages = await audit("packages", "--hashes", "--rebuild", "--delete-extra", "-y");
    assertEquals(packages.code, 1);
    assert(!await exists(`${out}/simple/audit-me/leftover.txt`));
    assertEquals((await audit("packages")).lines, [
      `missing metadata simple/other/${theirs.filename}.metadata`,
      `missing wheel simple/audit-me/${mine.filename}`,
    ]);
  });

  await t.step("usage errors exit 2; a path with no site, or no master, exits 1", async () => {
    const extra = await audit("tree", "other");
    assertEquals(extra.code, 2);
    assertStringIncludes(extra.stderr, "tree takes no packages");
    const bad = await audit("everything");
    assertEquals(bad.code, 2);
    assertStringIncludes(bad.stderr, "Allowed choices are tree, packages, logs, all");
    const nowhere = await runTool("piw-audit", [
      "--import-queue",
      master.importQueue,
      "-o",
      `${master.dir}/nowhere`,
      "tree",
    ]);
    assertEquals(nowhere.code, 1);
    assertStringIncludes(nowhere.stderr, "holds no web site");
    const nobody = await runTool("piw-audit", [
      "--import-queue",
      `ipc://${master.dir}/nobody`,
      "-o",
      out,
      "--timeout",
      "2s",
      "tree",
    ]);
    assertEquals(nobody.code, 1);
    assertStringIncludes(nobody.stderr, "cannot reach the master");
  });
}

Deno.test("piw-audit: a damaged site, against the real master on PostgreSQL", async (t) => {
  await using farm = await startFarm();
  await scenario(t, farm.master, farm.pypi);
});

Deno.test("piw-audit: a damaged site, against the real master on its embedded database", async (t) => {
  await using farm = await startEmbeddedFarm();
  await scenario(t, farm.master, farm.pypi);
});
