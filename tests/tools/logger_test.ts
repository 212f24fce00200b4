/**
 * piw-logger through its command line, as a subprocess with the flags it ships with, against
 * the real master (subprocess) on real PostgreSQL: every kind of record reaches the database
 * with pip's ten User-Agent fields, hostile lines are counted and skipped while the good ones
 * around them are logged, gzipped files and stdin, other formats, `--drop`, the exit codes,
 * and the counts in the search index and on the project page. The lines are read in a Worker
 * that can reach the log queue and the log file, and nothing else.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { BROWSER_AGENT, combinedLine, PIP_AGENT_FIELDS } from "../fixtures/access_log.ts";
import { importWheel } from "../fixtures/admin.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { runTool } from "../process.ts";
import { loggerPermissions } from "../../tools/logger.ts";

const encoder = new TextEncoder();

Deno.test("piw-logger: against the real master, every kind and every hostile line", async (t) => {
  await using farm = await startFarm();
  const { pypi, db, master } = farm;
  pypi.binaryRelease("logged", "1.0");
  await master.waitForFile("project/logged/index.html");
  const wheel = makeWheel("logged", "1.0");
  await importWheel(master, wheel);
  const logger = (args: string[], stdin?: string) =>
    runTool("piw-logger", ["--log-queue", master.logQueue, ...args], { stdin });
  const count = async (sql: string) =>
    (await queryDb<{ n: number }>(db.superDsn, `SELECT count(*)::int AS n FROM ${sql}`))[0]!.n;
  const good = [
    combinedLine(`/simple/logged/${wheel.filename}`),
    combinedLine("/simple/logged/"),
    combinedLine("/project/logged/", { agent: BROWSER_AGENT }),
    combinedLine("/project/logged/json/", { agent: "curl/7.88.1" }),
    combinedLine("/", { agent: BROWSER_AGENT }),
    combinedLine("/faq.html", { agent: BROWSER_AGENT }),
  ];
  const notCounted = [
    combinedLine("/simple/logged/", { status: 404 }),
    combinedLine("/project/logged/", { agent: "-" }),
    combinedLine("/simple/../", {}), // no such project name: the protocol refuses it
  ];
  const hostile = [
    good[0]!.slice(0, 60), // truncated
    String.fromCharCode(0, 1, 2, 0x7f, 0xff, 0xfe) + "\u0000\u00ff binary", // binary
    combinedLine(`/simple/logged/${"A".repeat(200_000)}.whl`), // huge
    `192.0.2.7 - - [01/Mar/2026:10:00:00 +0000] "GET /simple/logged/ HTTP/1.1" 200 99`, // common
    "", // empty
    good[1]!.replace(/\[[^\]]*\]/, "[31/Foo/2026:99:00:00 +0000]"), // a date that is not one
    good[1]!.replace(/\[[^\]]*\]/, "[31/Dec/9999:23:59:59 -2359]"), // beyond a timestamp
  ];
  const lines = [
    good[0],
    hostile[0],
    good[1],
    hostile[1],
    notCounted[0],
    good[2],
    hostile[2],
    notCounted[1],
    good[3],
    hostile[3],
    hostile[4],
    good[4],
    notCounted[2],
    hostile[5],
    hostile[6],
    good[5],
  ];
  const log = `${lines.join("\n")}\n`;
  const tally = (sent: number, times = 1) =>
    `${lines.length * times} line(s): ${sent} record(s) sent, ${notCounted.length * times} not ` +
    `counted, ${hostile.length * times} malformed (skipped)`;

  await t.step("a log file: every kind recorded, hostile lines counted and skipped", async () => {
    await Deno.writeTextFile(`${master.dir}/access.log`, log);
    const r = await logger(["-v", `${master.dir}/access.log`]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, tally(good.length));
    assertStringIncludes(r.stderr, "reading with permissions confined to the log queue");
    assertStringIncludes(r.stderr, "line 2: not in the log format, skipped");
    assertStringIncludes(r.stderr, "line 7: not in the log format, skipped: (too long)");
    await eventually(
      "every record is in the database",
      async () =>
        await count("downloads") + await count("searches") + await count("web_hits") === 6,
    );
    const [download] = await queryDb(
      db.superDsn,
      `SELECT d.filename, d.package, d.accessed_by AS host, a.agent
       FROM downloads AS d JOIN user_agents AS a USING (agent_id)`,
    );
    assertEquals(download, {
      filename: wheel.filename,
      package: "logged",
      host: "192.0.2.7",
      agent: PIP_AGENT_FIELDS,
    });
    const [search] = await queryDb(
      db.superDsn,
      "SELECT s.package, a.agent FROM searches AS s JOIN user_agents AS a USING (agent_id)",
    );
    assertEquals(search, { package: "logged", agent: PIP_AGENT_FIELDS });
    const hits = await queryDb(
      db.superDsn,
      "SELECT kind, name, user_agent AS agent FROM web_hits ORDER BY kind, name",
    );
    assertEquals(hits, [
      { kind: "json", name: "logged", agent: "curl" }, // as piwheels logs it
      { kind: "page", name: "faq", agent: BROWSER_AGENT },
      { kind: "page", name: "home", agent: BROWSER_AGENT },
      { kind: "project", name: "logged", agent: BROWSER_AGENT },
    ]);
  });

  await t.step("stdin and a gzipped file, in one run", async () => {
    const gz = new Uint8Array(
      await new Response(
        ReadableStream.from([encoder.encode(log)]).pipeThrough(new CompressionStream("gzip")),
      ).arrayBuffer(),
    );
    await Deno.writeFile(`${master.dir}/access.log.2.gz`, gz);
    const r = await logger(["-", `${master.dir}/access.log.2.gz`], log);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, tally(2 * good.length, 2));
    await eventually("three downloads", async () => await count("downloads") === 3);
  });

  await t.step("other formats: a custom LogFormat; common (no User-Agent) is refused", async () => {
    const vhost = `pi.example.org 198.51.100.4 [01/Mar/2026:10:00:00 +0000] ` +
      `"GET /project/logged/ HTTP/2.0" 200 "${BROWSER_AGENT}"`;
    const custom = await logger(["--format", '%v %h %t "%r" %>s "%{User-Agent}i"'], `${vhost}\n`);
    assertEquals(custom.code, 0, custom.stderr);
    assertStringIncludes(custom.stderr, "1 line(s): 1 record(s) sent");
    await eventually(
      "the custom format's hit",
      async () => await count("web_hits WHERE accessed_by = '198.51.100.4'") === 1,
    );
    // nothing in it would count: said at once, rather than a tally of nothing sent
    const r = await logger(["--format", "common"], "");
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, "the format must log the User-Agent");
  });

  await t.step("a format it cannot use is a usage error", async () => {
    const r = await logger(["--format", "%h %Z"], "");
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "unsupported directive %Z");
  });

  await t.step("a file it cannot read fails the run, after loading the others", async () => {
    await Deno.writeTextFile(`${master.dir}/one.log`, `${good[0]}\n`);
    const r = await logger([`${master.dir}/missing.log`, `${master.dir}/one.log`]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, `cannot read ${master.dir}/missing.log`);
    assertStringIncludes(r.stderr, "1 line(s): 1 record(s) sent");
    await eventually("four downloads", async () => await count("downloads") === 4);
  });

  await t.step("--drop: with no master, records are dropped and the logger ends", async () => {
    const r = await runTool("piw-logger", ["--drop", "--log-queue", `ipc://${master.dir}/none`], {
      stdin: log,
    });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "0 record(s) sent, 6 dropped");
  });

  await t.step("the counts show in the search index and on the project page", async () => {
    const search = await runTool("piw-rebuild", ["--import-queue", master.importQueue, "search"]);
    assertEquals(search.code, 0, search.stderr);
    await master.waitForFile("packages.json", '["logged",4,4]');
    const project = await runTool("piw-rebuild", [
      ...["--import-queue", master.importQueue],
      ...["project", "logged"],
    ]);
    assertEquals(project.code, 0, project.stderr);
    await master.waitForFile("project/logged/index.html", "last 30 days: 4; ever: 4.");
  });
});

Deno.test("piw-logger: the Worker that reads the lines reaches the log queue and the log file only", async () => {
  const dir = await Deno.makeTempDir();
  const queue = Deno.listen({ transport: "unix", path: `${dir}/queue` });
  const other = Deno.listen({ transport: "unix", path: `${dir}/other` });
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = [queue, other, tcp].map(async (l) => {
    for await (const conn of l) conn.close();
  });
  try {
    await Deno.writeTextFile(`${dir}/secret`, "not the logger's");
    const worker = new Worker(new URL("../fixtures/probe_worker.ts", import.meta.url), {
      type: "module",
      deno: {
        permissions: loggerPermissions({
          logQueue: `ipc://${dir}/queue`,
          logFile: `${dir}/piw-logger.log`,
        }),
      },
    });
    const results = new Promise<string[]>((resolve) => (worker.onmessage = (e) => resolve(e.data)));
    worker.postMessage([
      { kind: "unix", path: `${dir}/queue` },
      { kind: "write", path: `${dir}/piw-logger.log` },
      { kind: "unix", path: `${dir}/other` },
      { kind: "connect", hostname: "127.0.0.1", port: (tcp.addr as Deno.NetAddr).port },
      { kind: "read", path: `${dir}/secret` },
      { kind: "read", path: "/etc/passwd" },
      { kind: "write", path: `${dir}/elsewhere` },
      { kind: "run", command: "/bin/sh" },
    ]);
    assertEquals(await results, [
      "ok",
      "ok",
      "NotCapable",
      "NotCapable",
      "NotCapable",
      "NotCapable",
      "NotCapable",
      "NotCapable",
    ]);
    worker.terminate();
  } finally {
    for (const l of [queue, other, tcp]) l.close();
    await Promise.allSettled(accepting);
    await Deno.remove(dir, { recursive: true });
  }
});
