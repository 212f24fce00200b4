/**
 * piw-rebuild and piw-remove through their command lines, as subprocesses with the flags they
 * ship with, against the real master (subprocess) on real PostgreSQL: every part, the question
 * before "all packages", `-y`, `--skip`, the ERROR paths and the exit codes.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { importWheel } from "../fixtures/admin.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { runTool } from "../process.ts";

const PIP_UA = 'pip/23.0.1 {\\"cpu\\":\\"armv7l\\"}';

Deno.test("piw-rebuild and piw-remove: against the real master, every path", async (t) => {
  await using farm = await startFarm();
  const { pypi, db, master } = farm;
  pypi.binaryRelease("gone", "1.0");
  await pypi.release("kept", "1.0");
  await master.waitForFile("project/gone/index.html");
  await master.waitForFile("project/kept/index.html");
  const queue = ["--import-queue", master.importQueue];
  const wheels = [makeWheel("gone", "1.0"), makeWheel("kept", "1.0")];
  for (const w of wheels) await importWheel(master, w);
  const [gone] = wheels;
  await master.waitForFile("simple/gone/index.html", gone!.filename);
  const rebuild = (...args: string[]) => runTool("piw-rebuild", [...queue, ...args]);
  const remove = (...args: string[]) => runTool("piw-remove", [...queue, ...args]);
  /** Deletes a page, runs piw-rebuild, and waits for the master to write the page again. */
  const rewrites = async (page: string, args: string[], text?: string) => {
    await Deno.remove(`${master.output}/${page}`);
    const r = await rebuild(...args);
    assertEquals(r.code, 0, r.stderr);
    return await master.waitForFile(page, text);
  };

  await t.step("piw-rebuild home, search, project and index of one package", async () => {
    await rewrites("index.html", ["home"]);
    await rewrites("packages.json", ["search"], '"gone"');
    await rewrites("project/gone/index.html", ["project", "gone"], gone!.filename);
    await rewrites("simple/gone/index.html", ["index", "gone"], gone!.filename);
  });

  await t.step("piw-rebuild of every package asks first; -y goes ahead", async () => {
    const asked = await rebuild("index");
    assertEquals(asked.code, 1);
    assertStringIncludes(asked.stderr, "of every package");
    assertStringIncludes(asked.stderr, "run again with -y");
    await rewrites("simple/kept/index.html", ["-y", "index"], wheels[1]!.filename);
    await rewrites("project/kept/index.html", ["-y", "project"]);
  });

  await t.step(
    "piw-rebuild of every package writes them all, more than are under way at once",
    async () => {
      // the Scribe has 128 orders under way; these are more than twice as many
      const many = 300;
      await queryDb(
        db.superDsn,
        `INSERT INTO packages (package, description)
         SELECT 'many-' || i, 'number ' || i FROM generate_series(1, ${many}) AS i`,
      );
      const r = await rebuild("-y", "project");
      assertEquals(r.code, 0, r.stderr);
      const missing = async () => {
        let n = 0;
        for (let i = 1; i <= many; i++) {
          if (
            !(await Deno.stat(`${master.output}/project/many-${i}/index.html`).catch(() => null))
          ) n++;
        }
        return n;
      };
      await eventually("every package's project page", async () => await missing() === 0);
      assertStringIncludes(await master.waitForFile("project/many-300/index.html"), "number 300");
    },
  );

  await t.step("piw-rebuild of every package: a package list not read is an error", async () => {
    // the master answered DONE before it read the list, and said why it stopped in its log
    // alone: piw-rebuild exited 0 having queued nothing
    await queryDb(db.superDsn, `REVOKE SELECT ON packages FROM ${db.user}`);
    try {
      const r = await rebuild("-y", "index");
      assertEquals(r.code, 1, r.stderr);
      assertMatch(
        r.stderr,
        /the master refused the rebuild: cannot read the package list: .*permission denied/,
      );
      assert(!r.stderr.includes("queued the rebuild"), r.stderr);
    } finally {
      await queryDb(db.superDsn, `GRANT SELECT ON packages TO ${db.user}`);
    }
    await rewrites("project/kept/index.html", ["-y", "project"]);
  });

  await t.step("piw-rebuild: an unknown package is an ERROR; usage errors exit 2", async () => {
    const unknown = await rebuild("project", "nonesuch");
    assertEquals(unknown.code, 1);
    assertStringIncludes(unknown.stderr, "unknown package nonesuch");
    const extra = await rebuild("home", "gone");
    assertEquals(extra.code, 2);
    assertStringIncludes(extra.stderr, "home takes no package");
    const part = await rebuild("everything");
    assertEquals(part.code, 2);
    assertStringIncludes(part.stderr, "Allowed choices are home, search, project, index");
    // what the master would refuse is refused as it is read, not in the master's words
    const path = await rebuild("project", "../etc");
    assertEquals(path.code, 2, path.stderr);
    assertStringIncludes(path.stderr, "../etc");
    assert(!path.stderr.includes("data[1]"), path.stderr);
    const bad = await remove("-y", "gone", "not a version");
    assertEquals(bad.code, 2, bad.stderr);
    // a skip reason longer than the master takes: it printed the plan, sent REMOVE, and failed
    // with the protocol's "mr chase: REMOVE: data[2]: Too big", exit 1
    const long = await remove("-y", "-s", "x".repeat(1001), "gone", "1.0");
    assertEquals(long.code, 2, long.stderr);
    assertStringIncludes(long.stderr, "--skip");
    assertStringIncludes(long.stderr, "1000");
    assert(!long.stderr.includes("data["), long.stderr);
    assert(!long.stderr.includes("remove every build"), "no plan for what cannot be sent");
    assert((await Deno.stat(`${master.output}/simple/gone/${gone!.filename}`)).isFile);
  });

  await t.step("piw-remove: an unknown version is an ERROR", async () => {
    const r = await remove("-y", "gone", "9.9");
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "unknown version 9.9 of gone");
  });

  await t.step("piw-remove asks first, and without -y or a terminal removes nothing", async () => {
    const r = await remove("gone", "1.0");
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "run again with -y");
    assert((await Deno.stat(`${master.output}/simple/gone/${gone!.filename}`)).isFile);
  });

  await t.step(
    "piw-remove -s: builds, files and downloads go; the version is skipped",
    async () => {
      const line = `10.1.2.3 - - [01/Mar/2026:10:00:00 +0000] "GET /simple/gone/${
        gone!.filename
      } HTTP/1.1" 200 99 "-" "${PIP_UA}"\n`;
      const logged = await runTool("piw-logger", ["--log-queue", master.logQueue], { stdin: line });
      assertEquals(logged.code, 0, logged.stderr);
      const downloads = async () =>
        (await queryDb<{ n: number }>(
          db.superDsn,
          "SELECT count(*)::int AS n FROM downloads WHERE package = 'gone'",
        ))[0]!.n;
      await eventually("the download is recorded", async () => await downloads() === 1);
      const r = await remove("-y", "--skip", "withdrawn by its author", "gone", "1.0");
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stderr, "it will not be built again");
      await master.waitForFile("project/gone/index.html", "skipped: withdrawn by its author");
      const page = await Deno.readTextFile(`${master.output}/simple/gone/index.html`);
      assertEquals(page.includes(gone!.filename), false);
      let present = true;
      await Deno.stat(`${master.output}/simple/gone/${gone!.filename}`).catch(
        () => (present = false),
      );
      assertEquals(present, false);
      assertEquals(await downloads(), 0);
      const builds = await queryDb(db.superDsn, "SELECT 1 FROM builds WHERE package = 'gone'");
      assertEquals(builds.length, 0);
    },
  );

  await t.step("piw-remove without -s leaves the version to be built again", async () => {
    const r = await remove("-y", "kept", "1.0");
    assertEquals(r.code, 0, r.stderr);
    const [version] = await queryDb<{ skip: string; builds: number }>(
      db.superDsn,
      `SELECT skip, (SELECT count(*)::int FROM builds WHERE package = 'kept') AS builds
       FROM versions WHERE package = 'kept'`,
    );
    assertEquals(version, { skip: "", builds: 0 });
  });

  await t.step("a master that is not there is an error, not a hang", async () => {
    const r = await runTool("piw-rebuild", [
      "--import-queue",
      `ipc://${master.dir}/nobody`,
      "home",
    ]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "cannot reach the master");
  });
});
