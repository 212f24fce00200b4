/**
 * piw-import through its command line, as a subprocess with the flags it ships with, against
 * the real master (subprocess) on real PostgreSQL: the ERROR paths, what it derives from the
 * wheels, several files as one build, `--output`, `--duration`, `-y`, `-d`, the exit codes,
 * and the progress bar on a terminal.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { freePort, startFarm } from "../farm.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { run, runTool, toolArgs } from "../process.ts";
import { encodeNamedMessage, mrChase } from "../../shared/protocols.ts";
import { Router } from "../../shared/zmq/mod.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

Deno.test("piw-import: against the real master, every path", async (t) => {
  await using farm = await startFarm({ abis: [] });
  const { pypi, db, master } = farm;
  pypi.binaryRelease("dash-name", "1.0");
  pypi.binaryRelease("imported", "2.0");
  await master.waitForFile("project/imported/index.html");
  await master.waitForFile("project/dash-name/index.html");
  const dir = `${master.dir}/wheels`;
  await Deno.mkdir(dir);
  const save = async (w: TestWheel) => {
    await Deno.writeFile(`${dir}/${w.filename}`, w.bytes);
    return `${dir}/${w.filename}`;
  };
  const queues = ["--import-queue", master.importQueue, "--file-queue", master.fileQueue];
  const piwImport = (...args: string[]) => runTool("piw-import", [...queues, ...args]);
  const pure = makeWheel("dash-name", "1.0");
  const armv7 = makeWheel("dash-name", "1.0", {
    py: "cp311",
    abi: "cp311",
    platform: "linux_armv7l",
  });
  const purePath = await save(pure);
  const armv7Path = await save(armv7);
  const builds = () =>
    queryDb<{ n: number }>(db.superDsn, "SELECT count(*)::int AS n FROM builds").then((r) =>
      r[0]!.n
    );

  await t.step("without -y and with no terminal it asks nobody and imports nothing", async () => {
    const r = await piwImport(armv7Path);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "no terminal to ask on: run again with -y");
    assertEquals(await builds(), 0);
  });

  await t.step(
    "files that are not wheels, or not there, fail before the master is asked",
    async () => {
      await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
      const notWheel = await piwImport("-y", `${dir}/notes.txt`);
      assertEquals(notWheel.code, 1);
      assertStringIncludes(notWheel.stderr, "not a wheel");
      const missing = await piwImport("-y", `${dir}/missing-1.0-py3-none-any.whl`);
      assertEquals(missing.code, 1);
      assertStringIncludes(missing.stderr, "cannot import");
    },
  );

  await t.step("bad values are usage errors before any file is read or sent", async () => {
    // the master refused them once every wheel was hashed, in its protocol's words, exit 1
    for (
      const [args, says] of [
        [["--abi", "cp3.11"], "expected a PEP 425 tag"],
        [["--package", "../etc"], "../etc"],
        [["--package-version", ""], "version"],
        [[purePath], `${pure.filename} is given twice`],
      ] as const
    ) {
      const r = await piwImport("-y", "-d", ...args, purePath);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, says);
      assert(!r.stderr.includes("data["), r.stderr);
      assert(await exists(purePath));
    }
  });

  await t.step("a pure wheel needs --abi, as the deployed piw-import says", async () => {
    const r = await piwImport("-y", "-d", purePath);
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, "give the build ABI to import it for with --abi");
    assert(await exists(purePath));
  });

  await t.step("ERROR: an ABI that is not a build ABI; -d then keeps the file", async () => {
    const r = await piwImport("-y", "-d", "--abi", "cp311", purePath);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "cp311 is not a build ABI (they are: none)");
    assertStringIncludes(r.stderr, "no file was removed");
    assert(await exists(purePath));
  });

  await master.addAbis("cp311", "cp39");

  await t.step("ERROR: an unknown package, with advice when the name was derived", async () => {
    const other = await save(makeWheel("nonesuch", "1.0"));
    const r = await piwImport("-y", "-d", "--abi", "cp311", other);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "unknown package nonesuch");
    assertStringIncludes(r.stderr, "give --package and --package-version");
    assert(await exists(other));
  });

  await t.step("ERROR: an unknown version", async () => {
    const r = await piwImport("-y", "--package-version", "9.9", "--abi", "cp311", purePath);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "unknown version 9.9 of dash-name");
    assertStringIncludes(r.stderr, "give --package if");
    // what the user gave is not credited to the wheel
    assertStringIncludes(r.stderr, `(dash-name is what ${pure.filename} says;`);
  });

  await t.step("an --output larger than the master takes: said at once, nothing sent", async () => {
    // the IMPORT was dropped unread, and piw-import waited out its --timeout (60 s)
    const big = `${dir}/huge.log`;
    await Deno.writeFile(big, new Uint8Array(64 * 1024 * 1024));
    const r = await piwImport("-y", "--output", big, "--abi", "cp311", purePath);
    await Deno.remove(big);
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, "the master takes at most 63.0 MiB of build output");
    assertEquals(await exists(purePath), true);
  });

  await t.step("an --output that cannot be read is a usage error that names it", async () => {
    // it was "error: No such file or directory (os error 2): stat '/nonexistent'", exit 1
    for (
      const [output, says] of [
        [`${dir}/nonexistent.log`, "no such file"],
        [dir, "a directory"],
      ] as const
    ) {
      const r = await piwImport("-y", "-d", "--output", output, "--abi", "cp311", purePath);
      assertEquals(r.code, 2, r.stderr);
      assertStringIncludes(r.stderr, `--output ${output}`);
      assertStringIncludes(r.stderr, says);
      assert(await exists(purePath));
    }
  });

  await t.step("ERROR: a master that is not there", async () => {
    const r = await runTool("piw-import", [
      "--import-queue",
      `ipc://${master.dir}/nobody`,
      "-y",
      armv7Path,
    ]);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "cannot reach the master");
  });

  await t.step(
    "two files are one build, named by the wheel (dash-name, not dash_name)",
    async () => {
      await Deno.writeTextFile(`${dir}/build.log`, "compiled by hand on a Pi 4\n");
      const r = await piwImport(
        "-y",
        "-d",
        "--duration",
        "1m30s",
        "--output",
        `${dir}/build.log`,
        armv7Path,
        purePath,
      );
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stderr, "one build of dash-name 1.0 for cp311");
      assertStringIncludes(r.stderr, `sending ${armv7.filename}`);
      assert(!r.stderr.includes("\r"), "no progress bar without a terminal");
      assertEquals([await exists(purePath), await exists(armv7Path)], [false, false]);
      const [build] = await queryDb<{ abi: string; by: number; secs: number; output: string }>(
        db.superDsn,
        `SELECT b.abi_tag AS abi, b.built_by AS by, extract(epoch FROM b.duration)::int AS secs,
              o.output FROM builds AS b JOIN output AS o USING (build_id)
       WHERE b.package = 'dash-name'`,
      );
      assertEquals(build, {
        abi: "cp311",
        by: 0,
        secs: 90,
        output: "compiled by hand on a Pi 4\n",
      });
      const page = await master.waitForFile("simple/dash-name/index.html", armv7.filename);
      assertStringIncludes(page, `${pure.filename}#sha256=${pure.sha256}`);
      assertStringIncludes(page, `${armv7.filename}#sha256=${armv7.sha256}`);
      assertEquals(
        await Deno.readFile(`${master.output}/simple/dash-name/${pure.filename}`),
        pure.bytes,
      );
    },
  );

  await t.step(
    "a wheel of another project or version is refused, whatever it is called",
    async () => {
      const odd = makeWheel("something-else", "5.0");
      const r = await piwImport(
        "-y",
        "--package",
        "imported",
        "--package-version",
        "2.0",
        "--abi",
        "cp39",
        await save(odd),
      );
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, "is a wheel of something_else, not of imported");
      const older = makeWheel("imported", "1.0");
      const v = await piwImport(
        "-y",
        "--package-version",
        "2.0",
        "--abi",
        "cp39",
        await save(older),
      );
      assertEquals(v.code, 1, v.stderr);
      assertStringIncludes(v.stderr, "is a wheel of version 1.0, not 2.0");
      assertEquals(await builds(), 1, "only the build imported before");
    },
  );

  await t.step("--package, --package-version and --abi override the wheel's", async () => {
    // the project's name as the master knows it, the version in another spelling
    const odd = makeWheel("Imported", "2.0.post0");
    const r = await piwImport(
      "-y",
      "--package",
      "imported",
      "--package-version",
      "2.0",
      "--abi",
      "cp39",
      await save(odd),
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "is a wheel of version 2.0.post0, not 2.0");
    const same = makeWheel("Imported", "2.0");
    const ok = await piwImport(
      "-y",
      "--package",
      "imported",
      "--package-version",
      "2.0",
      "--abi",
      "cp39",
      await save(same),
    );
    assertEquals(ok.code, 0, ok.stderr);
    const [build] = await queryDb<{ abi: string; output: string }>(
      db.superDsn,
      `SELECT b.abi_tag AS abi, o.output FROM builds AS b JOIN output AS o USING (build_id)
       WHERE b.package = 'imported'`,
    );
    assertEquals(build, { abi: "cp39", output: "Imported manually via piw-import" });
    await master.waitForFile("simple/imported/index.html", same.filename);
    assert(await exists(`${dir}/${same.filename}`), "kept without -d");
  });

  await t.step("a file queue nobody listens on: it fails, and the master forgets it", async () => {
    const path = await save(makeWheel("imported", "2.0", { py: "cp311", abi: "cp311" }));
    const r = await runTool("piw-import", [
      ...["--import-queue", master.importQueue, "--file-queue", `tcp://127.0.0.1:${freePort()}`],
      ...["-y", "-d", path],
    ]);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "cannot reach the master's file queue");
    assert(await exists(path));
    const again = await piwImport("-y", path); // not "another import is in progress"
    assertEquals(again.code, 0, again.stderr);
  });

  await t.step("on a terminal, a progress bar shows each upload", async () => {
    const big = makeWheel("imported", "2.0", {
      py: "cp311",
      abi: "cp311",
      platform: "linux_aarch64",
      padding: 1_000_000,
    });
    const path = await save(big);
    const command = [Deno.execPath(), ...toolArgs("piw-import", [...queues, "-y", path])]
      .map((a) => `'${a}'`).join(" ");
    // script(1) gives the tool a pseudo-terminal for its stdin, stdout and stderr
    const r = await run("script", ["-qec", command, "/dev/null"], { env: { NO_COLOR: "1" } });
    assertEquals(r.code, 0, r.stdout);
    assertMatch(r.stdout, /\r[^\r]*imported-2\.0-cp311-cp311-linux_aarch64\.whl \[#+\] 100%/);
    assertStringIncludes(r.stdout, "1.0 of 1.0 MB");
    await master.waitForFile("simple/imported/index.html", big.filename);
  });
});

Deno.test("piw-import: a DONE before every file was sent is no import, and -d deletes nothing", async () => {
  // whoever holds the import queue's name while the master is down can answer DONE at once:
  // piw-import said "imported", and -d deleted the wheels
  const dir = await Deno.makeTempDir({ prefix: "piw-import-done-" });
  const queue = new Router({ linger: 0 });
  try {
    const address = await queue.bind(`ipc://${dir}/import`);
    const answering = (async () => {
      for (;;) {
        const frames = await queue.receive().catch(() => null);
        if (!frames) return;
        await queue.send([frames[0]!, new Uint8Array(), encodeNamedMessage(mrChase, "DONE")]);
      }
    })();
    const w = makeWheel("dash-name", "1.0", {
      py: "cp311",
      abi: "cp311",
      platform: "linux_armv7l",
    });
    const path = `${dir}/${w.filename}`;
    await Deno.writeFile(path, w.bytes);
    const r = await runTool("piw-import", ["--import-queue", address, "-y", "-d", path]);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `said DONE before ${w.filename} was sent`);
    assert(await exists(path), "the wheel is still there");
    await queue.close();
    await answering;
  } finally {
    await queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("piw-import: re-importing one wheel of a build keeps the build's other wheels", async () => {
  // log_build replaced every build holding a file sent again, whole: the other wheels of a
  // multi-wheel build went from the database and the disk, and piw-import said DONE
  await using farm = await startFarm();
  const { pypi, db, master } = farm;
  pypi.binaryRelease("imported", "2.0");
  await master.waitForFile("project/imported/index.html");
  const dir = `${master.dir}/wheels`;
  await Deno.mkdir(dir);
  const save = async (w: TestWheel) => {
    await Deno.writeFile(`${dir}/${w.filename}`, w.bytes);
    return `${dir}/${w.filename}`;
  };
  const queues = ["--import-queue", master.importQueue, "--file-queue", master.fileQueue];
  const piwImport = (...args: string[]) => runTool("piw-import", [...queues, "-y", ...args]);
  const wheel = (platform: string, padding?: number) =>
    makeWheel("imported", "2.0", { py: "cp311", abi: "cp311", platform, padding });
  const files = () =>
    queryDb<{ build: number; filename: string; filehash: string }>(
      db.superDsn,
      `SELECT build_id::int AS build, filename, filehash FROM files ORDER BY filename`,
    );
  const armv6 = wheel("linux_armv6l");
  const aarch64 = wheel("linux_aarch64");
  const both = await piwImport(await save(armv6), await save(aarch64));
  assertEquals(both.code, 0, both.stderr);
  const [first] = await files();
  assertEquals(await files(), [
    { build: first!.build, filename: aarch64.filename, filehash: aarch64.sha256 },
    { build: first!.build, filename: armv6.filename, filehash: armv6.sha256 },
  ]);

  const again = wheel("linux_armv6l", 100);
  const r = await piwImport(await save(again));
  assertEquals(r.code, 0, r.stderr);
  const after = await files();
  const newBuild = after.find((f) => f.filename === armv6.filename)?.build ?? 0;
  assertEquals(after, [
    { build: first!.build, filename: aarch64.filename, filehash: aarch64.sha256 },
    { build: newBuild, filename: armv6.filename, filehash: again.sha256 },
  ]);
  assert(newBuild > first!.build, "the wheel sent again is the new build's");
  const builds = await queryDb<{ build: number }>(
    db.superDsn,
    "SELECT build_id::int AS build FROM builds ORDER BY 1",
  );
  assertEquals(builds.map((b) => b.build), [first!.build, newBuild]);
  const page = await master.waitForFile("simple/imported/index.html", again.sha256);
  assertStringIncludes(page, `${aarch64.filename}#sha256=${aarch64.sha256}`);
  const output = `${master.output}/simple/imported`;
  assertEquals(await Deno.readFile(`${output}/${aarch64.filename}`), aarch64.bytes);
  assertEquals(await Deno.readFile(`${output}/${again.filename}`), again.bytes);
});
