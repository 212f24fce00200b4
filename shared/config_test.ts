import { assert, assertEquals, assertMatch, assertStringIncludes } from "../tests/assert.ts";
import { ROOT, run } from "../tests/process.ts";
import { parseIni } from "./config.ts";
import { VERSION } from "./version.ts";

const DENO = Deno.execPath();

/** Runs the echo tool, allowed `dir` only; `home`: allowed to read HOME too, which is this. */
async function echo(args: string[], dir: string, home?: string) {
  return await run(DENO, [
    "run",
    "--no-prompt",
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
    ...(home ? ["--allow-env=HOME"] : []),
    `${ROOT}/tests/fixtures/echo_tool.ts`,
    ...args,
  ], { env: { NO_COLOR: "1", ...(home ? { HOME: home } : {}) } });
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
      network: true,
    });
    const conf = `${dir}/piwheels.conf`;
    await Deno.writeTextFile(
      conf,
      "# comment\n[master]\ndsn = postgres:///other\n\n[echo]\ndsn = postgres:///fromfile\ntimeout = 90m\npypi_xmlrpc = http://localhost:1/pypi\nyes = true\nno-network = true\n",
    );
    const merged = await echo(["-c", conf, "--dsn", "postgres:///cli"], dir);
    assertEquals(merged.code, 0, merged.stderr);
    assertEquals(JSON.parse(merged.stdout), {
      dsn: "postgres:///cli",
      timeout: "1h30m",
      pypiXmlrpc: "http://localhost:1/pypi",
      yes: true,
      network: false,
      configuration: conf,
    });
    await Deno.writeTextFile(conf, "[piw-echo]\ntimeout = 2h\n");
    const long = await echo(["--configuration", conf], dir);
    assertEquals(JSON.parse(long.stdout).timeout, "2h");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: bad input gives one line naming it, and exit code 2", async () => {
  const dir = await Deno.makeTempDir();
  /** The run failed with exit code 2 and one line on stderr holding each of `says`. */
  const refused = (r: { code: number; stderr: string }, ...says: string[]) => {
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /^piw-echo: error: [^\n]+\n$/);
    for (const s of says) assertStringIncludes(r.stderr, s);
  };
  try {
    const conf = `${dir}/bad.conf`;
    await Deno.writeTextFile(conf, "[echo]\nno-such-option = 1\n");
    refused(await echo(["-c", conf], dir), "no-such-option", "not an option of piw-echo");

    await Deno.writeTextFile(conf, "[echo]\ntimeout = forever\n");
    refused(await echo(["-c", conf], dir), "[echo] timeout: 'forever' is invalid");

    await Deno.writeTextFile(conf, "[echo]\nyes = maybe\n");
    refused(await echo(["-c", conf], dir), 'expected true or false, not "maybe"');

    await Deno.writeTextFile(conf, "[echo]\ntimeout = 1h\n  and more\n");
    refused(await echo(["-c", conf], dir), "'1h and more' is invalid"); // one line

    refused(await echo(["-c", `${dir}/missing.conf`], dir), "cannot read configuration file");
    refused(await echo(["-c", "/etc/hostname"], dir), "not permitted to read it");
    refused(await echo(["--timeout", "3 fortnights"], dir), "--timeout", "'3 fortnights'");
    refused(await echo(["--frobnicate"], dir), "unknown option '--frobnicate'");
    refused(await echo(["-l", `${dir}/no/such/dir/log`], dir), `${dir}/no/such/dir/log`);
    // a password in what is quoted back is not shown
    const secret = await echo(["--timeout", "postgres://me:secret@db/piwheels"], dir);
    refused(secret, "postgres://me:***@db/piwheels");
    assert(!secret.stderr.includes("secret"), secret.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: a default configuration file that cannot be read is skipped; -c FILE is not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const conf = `${dir}/.config/piwheels/piwheels.conf`;
    await Deno.mkdir(conf, { recursive: true }); // a directory: it cannot be read as a file
    const skipped = await echo(["-v"], dir, dir);
    assertEquals(skipped.code, 0, skipped.stderr);
    assertStringIncludes(
      skipped.stderr,
      `piw-echo: skipped configuration file ${conf}: Is a directory`,
    );
    assertEquals(JSON.parse(skipped.stdout).timeout, "3h");
    const quiet = await echo([], dir, dir);
    assertEquals([quiet.code, quiet.stderr.includes("skipped")], [0, false]);

    const given = await echo(["-c", conf], dir, dir);
    assertEquals(given.code, 2);
    assertEquals(
      given.stderr,
      `piw-echo: error: cannot read configuration file ${conf}: Is a directory (os error 21): ` +
        `readfile '${conf}'\n`,
    );

    // the same place, readable, is read
    await Deno.remove(conf);
    await Deno.writeTextFile(conf, "[echo]\ntimeout = 45m\n");
    const read = await echo([], dir, dir);
    assertEquals(JSON.parse(read.stdout).timeout, "45m");
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
