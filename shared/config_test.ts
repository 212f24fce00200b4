import { assertEquals, assertMatch, assertStringIncludes } from "../tests/assert.ts";
import { ROOT, run } from "../tests/process.ts";
import { parseIni } from "./config.ts";
import { VERSION } from "./version.ts";

const DENO = Deno.execPath();

async function echo(args: string[], dir: string) {
  return await run(DENO, [
    "run",
    "--no-prompt",
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    `${ROOT}/tests/fixtures/echo_tool.ts`,
    ...args,
  ], { env: { NO_COLOR: "1" } });
}

Deno.test("config: defaults, command line, and a configuration file merge in that order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plain = await echo([], dir);
    assertEquals(plain.code, 0, plain.stderr);
    assertEquals(JSON.parse(plain.stdout), {
      dsn: "postgres:///piwheels",
      timeout: "3h",
      pypiXmlrpc: "https://pypi.org/pypi",
    });
    const conf = `${dir}/piwheels.conf`;
    await Deno.writeTextFile(
      conf,
      "# comment\n[master]\ndsn = postgres:///other\n\n[echo]\ndsn = postgres:///fromfile\ntimeout = 90m\npypi_xmlrpc = http://localhost:1/pypi\nyes = true\n",
    );
    const merged = await echo(["-c", conf, "--dsn", "postgres:///cli"], dir);
    assertEquals(merged.code, 0, merged.stderr);
    assertEquals(JSON.parse(merged.stdout), {
      dsn: "postgres:///cli",
      timeout: "1h30m",
      pypiXmlrpc: "http://localhost:1/pypi",
      yes: true,
      configuration: conf,
    });
    await Deno.writeTextFile(conf, "[piw-echo]\ntimeout = 2h\n");
    const long = await echo(["--configuration", conf], dir);
    assertEquals(JSON.parse(long.stdout).timeout, "2h");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: bad input gives a clear error and exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conf = `${dir}/bad.conf`;
    await Deno.writeTextFile(conf, "[echo]\nno-such-option = 1\n");
    const unknown = await echo(["-c", conf], dir);
    assertEquals(unknown.code, 2);
    assertStringIncludes(unknown.stderr, "no-such-option");
    assertStringIncludes(unknown.stderr, "not an option of piw-echo");

    await Deno.writeTextFile(conf, "[echo]\ntimeout = forever\n");
    const badValue = await echo(["-c", conf], dir);
    assertEquals(badValue.code, 2);
    assertStringIncludes(badValue.stderr, "timeout");

    const missing = await echo(["-c", `${dir}/missing.conf`], dir);
    assertEquals(missing.code, 2);
    assertStringIncludes(missing.stderr, "cannot read configuration file");

    const forbidden = await echo(["-c", "/etc/hostname"], dir);
    assertEquals(forbidden.code, 2);
    assertStringIncludes(forbidden.stderr, "not permitted to read it");

    const badArg = await echo(["--timeout", "3 fortnights"], dir);
    assertEquals(badArg.code, 2);
    assertStringIncludes(badArg.stderr, "--timeout");

    const badOption = await echo(["--frobnicate"], dir);
    assertEquals(badOption.code, 2);
    assertStringIncludes(badOption.stderr, "unknown option '--frobnicate'");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: --help explains every option and --version prints the version", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const help = await echo(["--help"], dir);
    assertEquals(help.code, 0);
    for (
      const opt of [
        "-h, --help",
        "--version",
        "-c, --configuration <FILE>",
        "-q, --quiet",
        "-v, --verbose",
        "-l, --log-file <FILE>",
        "-t, --timeout <DURATION>",
      ]
    ) {
      assertStringIncludes(help.stdout, opt);
    }
    const version = await echo(["--version"], dir);
    assertEquals(version.code, 0);
    assertEquals(version.stdout.trim(), VERSION);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: -q, -v and -l set what is logged where", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const normal = await echo([], dir);
    assertEquals(normal.stderr, "piw-echo: info line\npiw-echo: warning: warning line\n");
    const quiet = await echo(["-q"], dir);
    assertEquals(quiet.stderr, "piw-echo: warning: warning line\n");
    const verbose = await echo(["-v", "-l", `${dir}/log.txt`], dir);
    assertStringIncludes(verbose.stderr, "piw-echo: debug line");
    const logged = await Deno.readTextFile(`${dir}/log.txt`);
    assertMatch(logged, /^\[\d{4}-\d\d-\d\dT[^\]]+\] piw-echo DEBUG: debug line$/m);
    assertMatch(logged, /piw-echo WARNING: warning line/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: the INI parser reads sections, comments and continuations", () => {
  const ini = parseIni("; c\n[Slave]\nmaster = 10.0.0.1\nextra_index: a\n  b\n");
  assertEquals(ini.get("slave")?.get("master"), "10.0.0.1");
  assertEquals(ini.get("slave")?.get("extra-index"), "a\nb");
});
