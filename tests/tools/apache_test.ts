/**
 * piw-logger as Apache's piped logger, end to end: the real master (subprocess) on real
 * PostgreSQL writes the site, Debian's Apache serves it with our site (`deploy/`), whose
 * `CustomLog "|/usr/local/bin/piw-logger --drop" combined` starts our logger (a script in the
 * binary's place that runs it with the flags it ships with), the real pip downloads a wheel
 * through Apache, a browser looks at the pages, and the records land in the database and in the
 * counts of `packages.json` and the project page.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { BROWSER_AGENT, PIP_AGENT_FIELDS } from "../fixtures/access_log.ts";
import { importWheel } from "../fixtures/admin.ts";
import { apacheSite, startApache } from "../fixtures/apache.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { PYTHON, run, runTool, writeToolScript } from "../process.ts";

Deno.test("piw-logger under Apache: pip's download reaches the database and the counts", async () => {
  await using farm = await startFarm();
  const { pypi, db, master } = farm;
  pypi.binaryRelease("served", "1.0");
  await master.waitForFile("project/served/index.html");
  const wheel = makeWheel("served", "1.0");
  await importWheel(master, wheel);
  const admin = ["--import-queue", master.importQueue];
  await master.waitForFile("simple/served/index.html", wheel.filename);
  assertEquals((await runTool("piw-rebuild", [...admin, "home"])).code, 0);
  await master.waitForFile("index.html");

  // Apache serves the master's output as www-data (when root), so the way there must be open
  await Deno.chmod(master.dir, 0o755);
  const dir = `${master.dir}/apache`;
  await Deno.mkdir(dir);
  await writeToolScript(`${dir}/piw-logger`, "piw-logger");
  const site = await apacheSite(master.output, `${dir}/piw-logger --log-queue ${master.logQueue}`);
  await using apache = await startApache(dir, site);

  const base = `http://127.0.0.1:${apache.port}`;
  const pip = await run(PYTHON, [
    ...["-m", "pip", "download", "--no-deps", "--no-cache-dir"],
    ...["--index-url", `${base}/simple/`, "--dest", `${dir}/downloads`, "served==1.0"],
  ], { env: { PIP_DISABLE_PIP_VERSION_CHECK: "1", HOME: dir } });
  assertEquals(pip.code, 0, pip.stdout + pip.stderr);
  assertEquals(await Deno.readFile(`${dir}/downloads/${wheel.filename}`), wheel.bytes);
  for (const path of ["/", "/project/served/", "/project/served/json/index.json", "/nowhere"]) {
    const page = await fetch(`${base}${path}`, { headers: { "user-agent": BROWSER_AGENT } });
    await page.body?.cancel();
  }

  const count = async (sql: string) =>
    (await queryDb<{ n: number }>(db.superDsn, `SELECT count(*)::int AS n FROM ${sql}`))[0]!.n;
  await eventually(
    "pip's download, pip's search and the three page hits are recorded",
    async () =>
      await count("downloads") === 1 && await count("searches") === 1 &&
      await count("web_hits") === 3,
  ).catch(async (e) => {
    throw new Error(`${e.message}; Apache's error log:\n${await apache.errorLog()}`);
  });
  const [download] = await queryDb(
    db.superDsn,
    `SELECT d.filename, d.package, d.accessed_by AS host, a.agent->>'installer_name' AS installer,
            a.agent->>'py_name' AS py
     FROM downloads AS d JOIN user_agents AS a USING (agent_id)`,
  );
  assertEquals(download, {
    filename: wheel.filename,
    package: "served",
    host: "127.0.0.1",
    installer: PIP_AGENT_FIELDS.installer_name,
    py: "CPython",
  });
  const hits = await queryDb(db.superDsn, "SELECT kind, name FROM web_hits ORDER BY kind");
  assertEquals(hits, [
    { kind: "json", name: "served" },
    { kind: "page", name: "home" },
    { kind: "project", name: "served" },
  ]);

  assertEquals((await runTool("piw-rebuild", [...admin, "search"])).code, 0);
  await master.waitForFile("packages.json", '["served",1,1]');
  assertEquals((await runTool("piw-rebuild", [...admin, "project", "served"])).code, 0);
  await master.waitForFile("project/served/index.html", "last 30 days: 1; ever: 1.");

  // Apache stops its piped logger as it stops; the logger reads to the end and reports
  await apache.stop();
  await eventually(
    "piw-logger reports as Apache stops",
    async () => (await apache.errorLog()).includes("record(s) sent"),
  );
  const errors = await apache.errorLog();
  assertEquals(errors.includes("piw-logger: error"), false, errors);
  assertStringIncludes(errors, "5 record(s) sent");
});
