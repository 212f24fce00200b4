/**
 * Every tool, run as it ships (`runTool`: its entry and the flags of `shared/flags.ts`), given
 * what an operator gets wrong: an unknown option, a bad value of each kind (duration, DSN,
 * ZeroMQ address, host, URL, path), a configuration file that cannot be read or holds a bad
 * value, a log file that cannot be opened, a DSN whose server cannot be reached. Each is one
 * line on stderr naming the value and what was expected, exit status 2, no stack trace, and
 * nothing started.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { freePort, MasterRun } from "../farm.ts";
import { superDsn } from "../db.ts";
import { type Finished, runTool } from "../process.ts";
import type { TOOLS } from "../../shared/flags.ts";

type Tool = keyof typeof TOOLS;

/** A bad input: the arguments, and what the one line must name. */
type Case = [args: string[], named: string];

/** How many tools run at once (the machine has two cores, shared). */
const AT_ONCE = 3;

/** Runs `cases` of `tool` (a few at a time) in a fresh HOME under `dir`. */
async function runCases(tool: Tool, cases: Case[], dir: string): Promise<[Case, Finished][]> {
  const home = await Deno.makeTempDir({ dir, prefix: "home-" });
  const results: [Case, Finished][] = [];
  for (let i = 0; i < cases.length; i += AT_ONCE) {
    const batch = cases.slice(i, i + AT_ONCE);
    const done = await Promise.all(
      batch.map(([args]) => runTool(tool, args, { env: { HOME: home } })),
    );
    batch.forEach((c, j) => results.push([c, done[j]!]));
  }
  return results;
}

/** The run was refused as a usage error: exit 2, one line naming `named`, no stack trace. */
function assertRefused(tool: Tool, [args, named]: Case, r: Finished): void {
  const what = `${tool} ${JSON.stringify(args)}:\n${r.stderr}`;
  assertEquals(r.code, 2, what);
  assertMatch(r.stderr, new RegExp(`^${tool}: error: [^\\n]+\\n$`), what);
  assertStringIncludes(r.stderr, named, what);
  assert(!/at file:\/\/|Uncaught| {4}at /.test(r.stderr + r.stdout), what);
  assertEquals(r.stdout, "", what);
}

/**
 * What every tool has: an unknown option, a configuration file that is missing or a directory,
 * one whose section names no option of the tool or holds `bad` (a key = value the tool refuses),
 * and a log file in a directory that does not exist. `args` are arguments the tool needs.
 */
async function commonCases(dir: string, section: string, bad: string, args: string[]) {
  const conf = await Deno.makeTempFile({ dir, suffix: ".conf" });
  await Deno.writeTextFile(conf, `[${section}]\n${bad}\n`);
  const unknown = await Deno.makeTempFile({ dir, suffix: ".conf" });
  await Deno.writeTextFile(unknown, `[${section}]\nfrobnicate = 1\n`);
  return [
    [["--frobnicate", ...args], "'--frobnicate'"],
    [["-c", `${dir}/missing.conf`, ...args], `${dir}/missing.conf`],
    [["-c", dir, ...args], dir],
    [["-c", conf, ...args], bad.split(" = ")[1]!],
    [["-c", unknown, ...args], "frobnicate"],
    [["-l", `${dir}/no/such/dir/log`, ...args], `${dir}/no/such/dir/log`],
  ] as Case[];
}

/** Runs a tool's cases (in `dir`) and checks each was refused. */
async function refusesAll(tool: Tool, cases: Case[], dir: string): Promise<void> {
  for (const [c, r] of await runCases(tool, cases, dir)) assertRefused(tool, c, r);
}

/** Runs `fn` with a new temporary directory, removed after. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "piw-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli: piw-master refuses bad options, values, files and addresses in one line", () =>
  inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a-file`, "");
    // settings that would otherwise work, so that only the bad one is refused
    const ok = ["-o", `${dir}/www`, "-d", `pglite://${dir}/db`];
    const queues = ["--status-queue", `ipc://${dir}/status`, "--control-queue"];
    await refusesAll("piw-master", [
      ...await commonCases(dir, "master", "dsn = mysql://conf", []),
      [["-d", "mysql://foo"], "mysql://foo"],
      [["-d", "postgres://db.example:99999/piwheels"], "postgres://db.example:99999/piwheels"],
      [["-d", "postgres://exa mple/piwheels"], "exa mple"],
      [["--slave-queue", "tcp://*:65536"], "tcp://*:65536"],
      [["--file-queue", "5556"], "5556"],
      [["--status-queue", "/tmp/piw-status"], "/tmp/piw-status"],
      [["--import-queue", "udp://host:1"], "udp://host:1"],
      [["--stats-queue", "tcp://*:7000"], "tcp://*:7000"],
      [["--pypi-xmlrpc", "pypi.org/pypi"], "pypi.org/pypi"],
      [["--pypi-simple", "ftp://pypi.org/simple"], "ftp://pypi.org/simple"],
      [["--base-url", "piwheels.example.org"], "piwheels.example.org"],
      [["--base-url", "https://piwheels.example.org/?x"], "https://piwheels.example.org/?x"],
      // found before any task starts: the output path, and the control queue's address
      [[...ok, "-o", `${dir}/a-file/www`], `${dir}/a-file/www`],
      [[...ok, ...queues, `ipc://${dir}/no/such/dir/control`], `${dir}/no/such/dir`],
    ], dir);
  }));

Deno.test("cli: piw-master and piw-initdb name a database server that cannot be reached", () =>
  inTempDir(async (dir) => {
    const port = freePort();
    const server = new URL(superDsn());
    const wrongLogin = `postgres://piwheels_nobody:wrong-secret@${server.host}/piwheels`;
    const cases: Case[] = [
      [["-d", `postgres://piwheels@127.0.0.1:${port}/piwheels`], `127.0.0.1:${port}`],
      [["-d", `postgres:///piwheels?host=${dir}/nowhere`], `${dir}/nowhere/.s.PGSQL.5432`],
      [["-d", wrongLogin], `${server.host}`],
    ];
    const master = await runCases(
      "piw-master",
      cases.map(([args, named]) => [[...args, "-o", `${dir}/www`], named]),
      dir,
    );
    const initdb = await runCases("piw-initdb", cases.map(([a, n]) => [[...a, "-y"], n]), dir);
    for (const [tool, results] of [["piw-master", master], ["piw-initdb", initdb]] as const) {
      for (const [c, r] of results) {
        assertRefused(tool, c, r);
        assertStringIncludes(r.stderr, "cannot connect to the database server at");
        assert(!r.stderr.includes("wrong-secret"), r.stderr);
      }
    }
    const [refused, missing, login] = master.map(([, r]) => r.stderr);
    assertStringIncludes(refused!, "connection refused");
    assertStringIncludes(missing!, "no such socket");
    assertStringIncludes(login!, "piwheels_nobody");
  }));

Deno.test("cli: piw-slave refuses bad durations, hosts, addresses and paths in one line", () =>
  inTempDir(async (dir) => {
    await refusesAll("piw-slave", [
      ...await commonCases(dir, "slave", "timeout = -1h", []),
      [["-t", "-5s"], "'-5s'"],
      [["-t", "0"], "expected a duration above 0"],
      [["-t", "30d"], "'30d'"],
      [["-t", "3 fortnights"], "'3 fortnights'"],
      [["--master-timeout", "0s"], "--master-timeout"],
      [["--sleep", "-1"], "--sleep"],
      [["-m", "bad host"], "'bad host'"],
      [["--slave-queue", "tcp://*:5555"], "tcp://*:5555"],
      [["--file-queue", "inproc://files"], "inproc://files"],
      [["--python", "python3"], "'python3'"],
      [["--build-dir", "build"], "'build'"],
      [["--sandbox", "docker"], "'docker'"],
      [["--label", ""], "--label"],
    ], dir);
  }));

Deno.test("cli: piw-monitor and piw-sense refuse bad addresses and durations in one line", () =>
  inTempDir(async (dir) => {
    for (const tool of ["piw-monitor", "piw-sense"] as const) {
      await refusesAll(tool, [
        ...await commonCases(dir, tool.slice(4), "control-queue = nowhere", ["--once"]),
        [["--once", "--status-queue", "localhost:5557"], "localhost:5557"],
        [["--once", "--control-queue", "tcp://*:5558"], "tcp://*:5558"],
        [["--once", "--status-queue", "inproc://status"], "inproc://status"],
        [["--once", "--timeout", "0"], "--timeout"],
        [["--once", "--timeout", "-10s"], "'-10s'"],
      ], dir);
    }
    await refusesAll("piw-sense", [
      [["--once", "--alert-after", "-30s"], "'-30s'"],
      [["--once", "--long-build", "0"], "--long-build"],
    ], dir);
  }));

Deno.test("cli: the admin tools refuse bad values in one line", () =>
  inTempDir(async (dir) => {
    const wheel = `${dir}/foo-1.0-py3-none-any.whl`;
    await refusesAll("piw-initdb", [
      ...await commonCases(dir, "initdb", "dsn = mysql://conf", ["-y"]),
      [["-d", "mysql://x", "-y"], "mysql://x"],
      [["-u", "", "-y"], "--user"],
    ], dir);
    await refusesAll("piw-import", [
      ...await commonCases(dir, "import", "duration = -1s", ["-y", wheel]),
      [["--duration", "-5s", "-y", wheel], "'-5s'"],
      [["--import-queue", "nowhere", "-y", wheel], "nowhere"],
      [["--file-queue", "tcp://*:5556", "-y", wheel], "tcp://*:5556"],
      [["-y"], "files"],
    ], dir);
    await refusesAll("piw-rebuild", [
      ...await commonCases(dir, "rebuild", "import-queue = nowhere", ["home"]),
      [["--import-queue", "tcp://master:0", "home"], "tcp://master:0"],
      [["everything"], "'everything'"],
      [["home", "foo"], "home takes no package"],
    ], dir);
    await refusesAll("piw-remove", [
      ...await commonCases(dir, "remove", "import-queue = nowhere", ["foo", "1.0"]),
      [["--import-queue", "inproc://import", "foo", "1.0"], "inproc://import"],
      [["foo"], "version"],
    ], dir);
    await refusesAll("piw-add", [
      ...await commonCases(dir, "add", "priority = high", ["-y", "foo"]),
      [["--priority", "1.5", "-y", "foo"], "from -1000 to 1000"],
      [["-r", "soon", "-y", "foo", "1.0"], "'soon'"],
      [["-y", "foo/../bar"], "project name"],
      [["-y", "foo", "1 0"], "version"],
    ], dir);
    await refusesAll("piw-audit", [
      ...await commonCases(dir, "audit", "import-queue = nowhere", ["tree"]),
      [["everything"], "'everything'"],
      [["logs", "foo"], "logs takes no packages"],
      [["packages", "../etc"], "project name"],
    ], dir);
    await refusesAll("piw-logger", [
      ...await commonCases(dir, "logger", "log-queue = nowhere", []),
      [["--log-queue", "nowhere"], "nowhere"],
      [["--format", "%h %Z"], "%Z"],
    ], dir);
  }));

Deno.test("cli: a master whose task fails before it started stops without warnings", () =>
  inTempDir(async (dir) => {
    // the Oracles refuse a superuser's connection: a failure only a task finds
    await using master = new MasterRun(dir, {
      pypiXmlrpc: `http://127.0.0.1:${freePort()}/pypi`,
      dsn: superDsn(),
    });
    const status = await master.status();
    assertEquals(status.code, 1, master.stderr);
    assertStringIncludes(master.stderr, "cluster superuser");
    assertStringIncludes(master.stderr, "piw-master: stopped after a failure");
    assert(!master.stderr.includes("piw-master: warning:"), master.stderr);
    assert(!/at file:\/\/|Uncaught/.test(master.stderr), master.stderr);
  }));
