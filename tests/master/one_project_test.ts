/**
 * One project per normalised name, end to end: releases of `Tiny.Demo` and `tiny-demo` are one
 * project on one simple page (and its pages under each spelling), from which the real pip, through
 * the real Apache with our site, installs `Tiny.Demo==0.1` and then `tiny-demo==0.2`. And the
 * search index: written at start from the database, and joined by a new package at once.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startFarm, startMaster } from "../farm.ts";
import { apacheSite, startApache } from "../fixtures/apache.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { PYTHON, run } from "../process.ts";

Deno.test("master: Tiny.Demo 0.1 and tiny-demo 0.2 are one project, which pip installs through Apache", async () => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  await slave.hello();
  const wheels = [makeWheel("Tiny.Demo", "0.1"), makeWheel("tiny-demo", "0.2")];
  await pypi.release("Tiny.Demo", "0.1");
  assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["tiny-demo", "0.1"] });
  assertEquals(await slave.deliver([wheels[0]!]), { msg: "DONE" });
  await pypi.release("tiny-demo", "0.2");
  assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["tiny-demo", "0.2"] });
  assertEquals(await slave.deliver([wheels[1]!]), { msg: "DONE" });

  // one page lists both, and so does the page under the other spelling
  for (const name of ["tiny-demo", "Tiny.Demo"]) {
    const page = await master.waitForFile(`simple/${name}/index.html`, wheels[1]!.filename);
    for (const w of wheels) assertStringIncludes(page, `${w.filename}#sha256=${w.sha256}`);
  }
  const project = await master.waitForFile("project/tiny-demo/index.html", "<td>0.2</td>");
  assertStringIncludes(project, "<h1>tiny-demo</h1>"); // the spelling PyPI used last
  assertStringIncludes(project, "Also known as: Tiny.Demo");
  assertStringIncludes(project, "<td>0.1</td>");
  const index = await master.waitForFile("simple/index.html");
  assertEquals(index.match(/tiny-demo/g)?.length, 2, "one entry: its href and its text");

  // Apache serves the master's output as deployed (www-data reads it)
  await Deno.chmod(master.dir, 0o755);
  const logger = `${master.dir}/apache-logger.sh`;
  await Deno.writeTextFile(logger, "#!/bin/sh\nexec cat >/dev/null\n", { mode: 0o755 });
  await using apache = await startApache(
    `${master.dir}/apache`,
    await apacheSite(master.output, logger),
  );
  const venv = `${master.dir}/venv`;
  assertEquals((await run(PYTHON, ["-m", "venv", venv])).code, 0);
  const env = { PIP_DISABLE_PIP_VERSION_CHECK: "1", HOME: master.dir };
  const index_url = `http://127.0.0.1:${apache.port}/simple/`;
  const installed = async () =>
    (await run(`${venv}/bin/python`, [
      "-c",
      "import importlib.metadata as m; print(m.version('tiny-demo'))",
    ])).stdout.trim();
  const wanted: [string, string][] = [["Tiny.Demo==0.1", "0.1"], ["tiny-demo==0.2", "0.2"]];
  for (const [requirement, version] of wanted) {
    const pip = await run(`${venv}/bin/pip`, [
      "install",
      "--no-cache-dir",
      "--index-url",
      index_url,
      requirement,
    ], { env });
    assertEquals(pip.code, 0, `${requirement}: ${pip.stdout}${pip.stderr}`);
    assertEquals(await installed(), version, requirement);
  }
});

Deno.test("master: the search index is written at start, and a new package joins it at once", async () => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("Known.Before", "1.0");
  await master.waitForFile("project/known-before/index.html");
  await master.stop();

  // a new master on the same database has the index written when it says it is ready
  await using again = await startMaster({
    pypiXmlrpc: pypi.xmlrpcUrl,
    pypiSimple: pypi.simpleUrl,
    dsn: farm.db.userDsn,
    abis: [],
  });
  const atStart = JSON.parse(await Deno.readTextFile(`${again.output}/packages.json`));
  assertEquals(atStart, [["Known.Before", 0, 0]]);
  // a package that appears joins it within a second, long before the recount (every minute in
  // development mode, ten otherwise)
  await pypi.release("fresh", "1.0");
  const index = await again.waitForFile("packages.json", '"fresh"', 20_000);
  assertEquals(JSON.parse(index), [["fresh", 0, 0], ["Known.Before", 0, 0]]);
  assert(!again.stderr.includes("error:"), again.stderr);
});

Deno.test("master: a project keeps 16 spellings, however many PyPI's changelog uses", async () => {
  // each spelling gets a copy of the pages, each page listing every spelling: a feed of ever
  // new mixes of letter cases made the pages grow with the square of their number
  await using farm = await startFarm();
  const { pypi, master } = farm;
  const spellings = Array.from(
    { length: 40 },
    (_, i) => [..."manynames"].map((c, j) => (i >> j) & 1 ? c.toUpperCase() : c).join(""),
  );
  assertEquals(new Set(spellings).size, 40);
  for (const name of spellings) {
    pypi.rawRow([name, null, Math.floor(Date.now() / 1000), "create", pypi.serial + 1].map(
      (v) =>
        v === null
          ? "<value><nil/></value>"
          : typeof v === "number"
          ? `<value><int>${v}</int></value>`
          : `<value><string>${v}</string></value>`,
    ));
  }
  await pypi.release("manynames", "1.0");
  const page = await master.waitForFile("project/manynames/index.html", "<td>1.0</td>");
  const aliases = page.match(/Also known as: (.*)<\/p>/)?.[1]?.split(", ") ?? [];
  assertEquals(aliases.length, 15, "the 16 spellings but the one shown");
  const dirs = [...Deno.readDirSync(`${master.output}/project`)].map((e) => e.name);
  assertEquals(dirs.filter((d) => d.toLowerCase() === "manynames").length, 16);
});
