/**
 * The executables `deno task dist` builds, tested as executables: on a PATH with no Deno and a
 * fresh HOME, each answers --help and --version; a binary master and a binary slave build a
 * release from the fake PyPI that pip then installs; their flags are the declared ones and
 * hold; three copies started at once on an empty cache all work; a damaged cache is replaced;
 * what a run killed while unpacking (before or after locking its directory) or while replacing
 * a damaged copy left is removed by a later one, and a run stopped by a signal removes its own and
 * exits 128+signal; copies of other versions are removed once no run holds them, and nothing else;
 * a cache under another user's directory, or reached by another user's symbolic link, is refused,
 * and the runtime runs from the cache's resolved path; a tool runs with no HOME;
 * and the aarch64 slave, run under qemu-user, says HELLO to a native master and gets SLEEP.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "../assert.ts";
import { TOOLS } from "../../shared/flags.ts";
import { decodeMessage, monitorStats, reverse } from "../../shared/protocols.ts";
import { Subscriber } from "../../shared/zmq/mod.ts";
import { startFarm, startMaster, startSlave } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { pipInstall } from "../fixtures/pip_install.ts";
import { Collected, reap, ROOT, run } from "../process.ts";
import { sha256Hex } from "../../shared/hash.ts";

const DIST = `${ROOT}/dist`;
const X86 = `${DIST}/x86_64-linux`;
const ARM = `${DIST}/aarch64-linux`;
const NO_DENO = { PATH: "/usr/bin:/bin", NO_COLOR: "1" };

/** Builds the executables once per run of this file (about 15 s). */
const built = (async () => {
  const out = await run(Deno.execPath(), ["task", "dist"], { cwd: ROOT });
  if (out.code !== 0) throw new Error(`deno task dist failed:\n${out.stderr}`);
})();

/** Runs an executable with nothing but a fresh HOME (or the given one) and no Deno on PATH. */
async function runBinary(
  path: string,
  args: string[],
  home: string,
  env: Record<string, string> = {},
) {
  return await run(path, args, { env: { ...NO_DENO, HOME: home, ...env } });
}

/** The flags a built executable runs its tool with (read from its launcher). */
async function bakedFlags(path: string): Promise<string[]> {
  const file = await Deno.open(path);
  const head = new Uint8Array(16384);
  const n = (await file.read(head)) ?? 0;
  file.close();
  const text = new TextDecoder().decode(head.subarray(0, n));
  const line =
    /^exec "\$cache\/deno" run --no-config --no-lock (.*) "\$cache\/bundle\/\$entry" "\$@"$/m.exec(
      text,
    );
  return line![1]!.split(" ");
}

Deno.test("dist: every x86_64 executable answers --help and --version with no Deno about", async () => {
  await built;
  const home = await Deno.makeTempDir();
  try {
    for (const name of Object.keys(TOOLS)) {
      const version = await runBinary(`${X86}/${name}`, ["--version"], home);
      assertEquals(version.code, 0, `${name}: ${version.stderr}`);
      assertMatch(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
      const help = await runBinary(`${X86}/${name}`, ["--help"], home);
      assertEquals(help.code, 0, `${name}: ${help.stderr}`);
      assertStringIncludes(help.stdout, `Usage: ${name} `);
    }
    const sums = await Deno.readTextFile(`${X86}/SHA256SUMS`);
    for (const name of Object.keys(TOOLS)) assertStringIncludes(sums, `  ${name}\n`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("dist: the executables carry exactly the declared flags, and those hold", async () => {
  await built;
  for (const [name, tool] of Object.entries(TOOLS)) {
    assertEquals(await bakedFlags(`${X86}/${name}`), [...tool.flags], name);
    assertEquals(await bakedFlags(`${ARM}/${name}`), [...tool.flags], name);
  }
  // a tool asking for more than its flags fails at once with Deno's message, never a prompt:
  // run the unpacked runtime with piw-monitor's baked flags on a probe that runs a program
  const home = await Deno.makeTempDir();
  try {
    assertEquals((await runBinary(`${X86}/piw-monitor`, ["--version"], home)).code, 0);
    const cache = `${home}/.cache/piwheels-deno`;
    const [entry] = [...Deno.readDirSync(cache)].filter((e) => !e.name.startsWith("."));
    const probe = `${home}/probe.js`;
    await Deno.writeTextFile(probe, 'await new Deno.Command("/bin/true").output();\n');
    const denied = await run(`${cache}/${entry!.name}/deno`, [
      "run",
      "--no-config",
      ...await bakedFlags(`${X86}/piw-monitor`),
      probe,
    ], { env: NO_DENO, stdin: "" });
    assert(denied.code !== 0);
    assertStringIncludes(denied.stderr, 'NotCapable: Requires run access to "/bin/true"');
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("dist: three copies at once on an empty cache all work; a damaged cache is replaced", async () => {
  await built;
  const home = await Deno.makeTempDir();
  try {
    const all = await Promise.all([
      runBinary(`${X86}/piw-rebuild`, ["--version"], home),
      runBinary(`${X86}/piw-remove`, ["--version"], home),
      runBinary(`${X86}/piw-rebuild`, ["--version"], home),
    ]);
    for (const r of all) assertEquals(r.code, 0, r.stderr);
    const cache = `${home}/.cache/piwheels-deno`;
    const entries = [...Deno.readDirSync(cache)].map((e) => e.name);
    assertEquals(entries.filter((e) => !e.startsWith(".")).length, 1, "one shared copy");
    assertEquals(entries.filter((e) => e.startsWith(".unpack")), [], "no unpacking left over");
    const copy = `${cache}/${entries.find((e) => !e.startsWith("."))}`;
    // damage a bundled file: the next start notices, unpacks again, and runs
    const main = `${copy}/bundle/master/main.js`;
    await Deno.writeTextFile(main, "throw new Error('damaged');\n");
    const again = await runBinary(`${X86}/piw-master`, ["--version"], home);
    assertEquals(again.code, 0, again.stderr);
    assertStringIncludes(again.stderr, "replacing a damaged copy");
    assert(!(await Deno.readTextFile(main)).includes("damaged"));
    // and one changed with its manifest line: the manifests are checked against the launcher's
    const manifest = await Deno.readTextFile(`${copy}/MANIFEST`);
    const forged = "throw new Error('forged');\n";
    await Deno.writeTextFile(main, forged);
    await Deno.writeTextFile(
      `${copy}/MANIFEST`,
      manifest.replace(
        /^[0-9a-f]{64}(?= {2}bundle\/master\/main\.js$)/m,
        sha256Hex(new TextEncoder().encode(forged)),
      ),
    );
    const fourth = await runBinary(`${X86}/piw-master`, ["--version"], home);
    assertEquals(fourth.code, 0, fourth.stderr);
    assertStringIncludes(fourth.stderr, "replacing a damaged copy");
    assert(!(await Deno.readTextFile(main)).includes("forged"));
    // and a truncated runtime
    await Deno.truncate(`${copy}/deno`, 1000);
    const third = await runBinary(`${X86}/piw-master`, ["--version"], home);
    assertEquals(third.code, 0, third.stderr);
    // a damaged executable is refused, not run
    const bad = `${home}/piw-bad`;
    const bytes = await Deno.readFile(`${X86}/piw-monitor`);
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0xff;
    await Deno.writeFile(bad, bytes, { mode: 0o755 });
    await Deno.remove(copy, { recursive: true });
    const refused = await runBinary(bad, ["--version"], home);
    assertEquals(refused.code, 70);
    assertStringIncludes(refused.stderr, "this file is damaged");
    // a cache under another user's directory (a HOME sudo -E kept): they could swap it for
    // theirs after it is checked, and their runtime would run as this user
    const theirs = `${home}/theirs`;
    await Deno.mkdir(`${theirs}/home`, { recursive: true });
    await Deno.chown(theirs, 65534, 65534);
    const swappable = await runBinary(`${X86}/piw-monitor`, ["--version"], `${theirs}/home`);
    assertEquals(swappable.code, 70, swappable.stderr);
    assertStringIncludes(swappable.stderr, `${theirs} must belong to this user or root`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/** The uids of two users with no passwd entry: a victim running a tool, and an attacker. */
const VICTIM = 4343;
const ATTACKER = 4242;

/** Runs `command` as `uid` (and its gid), with no supplementary groups. */
function runAs(uid: number, command: string[], options: { cwd?: string; stdin?: string } = {}) {
  return run("/usr/bin/setpriv", [
    `--reuid=${uid}`,
    `--regid=${uid}`,
    "--clear-groups",
    ...command,
  ], options);
}

/**
 * A directory everyone may enter, with `shared` (sticky and writable by all, like /tmp) and
 * `mine` (the victim's, private to them) in it.
 */
async function victimAndShared(): Promise<{ dir: string; shared: string; mine: string }> {
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o755);
  const shared = `${dir}/shared`;
  await Deno.mkdir(shared);
  await Deno.chmod(shared, 0o1777);
  const mine = `${dir}/mine`;
  await Deno.mkdir(mine, { mode: 0o700 });
  await Deno.chown(mine, VICTIM, VICTIM);
  return { dir, shared, mine };
}

Deno.test("dist: a cache reached by another user's symbolic link is refused", async () => {
  await built;
  const { dir, shared, mine } = await victimAndShared();
  try {
    // the attacker's link to the victim's own cache, in a place anyone can write to: the
    // launcher checked the directory it pointed to, then ran through the link, which the
    // attacker pointed at a copy of theirs in between
    const link = await runAs(ATTACKER, ["ln", "-s", mine, `${shared}/cache`]);
    assertEquals(link.code, 0, link.stderr);
    for (const cacheDir of [`${shared}/cache`, "shared/cache"]) {
      const refused = await runAs(VICTIM, [
        "/usr/bin/env",
        "-i",
        "PATH=/usr/bin:/bin",
        `HOME=${mine}`,
        `PIWHEELS_CACHE_DIR=${cacheDir}`,
        `${X86}/piw-logger`,
        "--version",
      ], { cwd: dir });
      assertEquals(refused.code, 70, `${cacheDir}: ${refused.stderr}`);
      assertStringIncludes(refused.stderr, `${shared}/cache is another user's symbolic link`);
      assertEquals(refused.stdout, "");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dist: a cache reached by the user's own symbolic link runs from its resolved path", async () => {
  await built;
  const { dir, shared, mine } = await victimAndShared();
  try {
    const link = await runAs(VICTIM, ["ln", "-s", mine, `${shared}/cache`]);
    assertEquals(link.code, 0, link.stderr);
    // piw-logger -v says at once that it cannot reach its queue (and then waits for stdin): by
    // then it is the runtime, and its command line is what the launcher exec'd
    const child = new Deno.Command("/usr/bin/setpriv", {
      args: [
        `--reuid=${VICTIM}`,
        `--regid=${VICTIM}`,
        "--clear-groups",
        "/usr/bin/env",
        "-i",
        "PATH=/usr/bin:/bin",
        `HOME=${mine}`,
        `PIWHEELS_CACHE_DIR=${shared}/cache`,
        `${X86}/piw-logger`,
        "-v",
        "--log-queue",
        `ipc://${dir}/nothing-here`,
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Collected(child.stderr, "piw-logger");
    try {
      await stderr.waitFor(/connect failed/);
      const argv = (await Deno.readTextFile(`/proc/${child.pid}/cmdline`)).split("\0");
      const [copy] = [...Deno.readDirSync(`${mine}/piwheels-deno`)]
        .filter((e) => !e.name.startsWith("."));
      assertEquals(argv[0], `${mine}/piwheels-deno/${copy!.name}/deno`);
      assert(!argv.some((a) => a.includes(`${shared}/cache`)), argv.join(" "));
    } finally {
      await child.stdin.close();
      await reap(child, { signal: "SIGTERM" });
      await stderr.ended;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dist: with no HOME and no passwd entry a tool runs, its runtime's cache in the checked one", async () => {
  await built;
  const { dir, mine } = await victimAndShared();
  try {
    // as a piped log or a unit with only PIWHEELS_CACHE_DIR: Deno found no cache of its own
    const bare = ["/usr/bin/env", "-i", "PATH=/usr/bin:/bin", `PIWHEELS_CACHE_DIR=${mine}`];
    const version = await runAs(VICTIM, [...bare, `${X86}/piw-logger`, "--version"]);
    assertEquals(version.code, 0, version.stderr);
    assertMatch(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
    assert((await Deno.stat(`${mine}/piwheels-deno/.deno`)).isDirectory);
    // and with a HOME and a DENO_DIR, neither is Deno's cache (either could be another user's)
    const elsewhere = [`HOME=${mine}`, `DENO_DIR=${mine}/deno-dir`];
    const again = await runAs(VICTIM, [...bare, ...elsewhere, `${X86}/piw-logger`, "--version"]);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(again.stdout, version.stdout);
    for (const unused of [`${mine}/deno-dir`, `${mine}/.cache`]) {
      assert(!(await Deno.stat(unused).then(() => true, () => false)), `${unused} was made`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dist: what a run killed while unpacking left is removed by a later run, once no part of it lives", async () => {
  await built;
  const home = await Deno.makeTempDir();
  try {
    const cache = `${home}/.cache/piwheels-deno`;
    const unpacking = () =>
      [...Deno.readDirSync(cache)].map((e) => e.name).filter((e) => e.startsWith(".unpack."));
    // a tar that says when the launcher has got to it and then runs until its stdin ends, so
    // that the launcher is killed (kill -9, as by the OOM killer) halfway through, at a known place
    await Deno.mkdir(`${home}/bin`);
    await Deno.writeTextFile(
      `${home}/bin/tar`,
      "#!/bin/sh\necho untarring\nexec cat >/dev/null\n",
      {
        mode: 0o755,
      },
    );
    const killed = new Deno.Command(`${X86}/piw-logger`, {
      args: ["--version"],
      env: { ...NO_DENO, HOME: home, PATH: `${home}/bin:${NO_DENO.PATH}` },
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const said = new Collected(killed.stdout, "piw-logger's tar");
    await said.waitFor(/untarring/);
    killed.kill("SIGKILL");
    await killed.status;
    const [left] = unpacking();
    assert(left, "the killed run left nothing");
    // its tar still runs: a later run leaves that alone, and unpacks its own copy
    const during = await runBinary(`${X86}/piw-logger`, ["--version"], home);
    assertEquals(during.code, 0, during.stderr);
    assertEquals(unpacking(), [left]);
    // once it has ended, the next run removes what it left
    await killed.stdin.close();
    await said.ended;
    const after = await runBinary(`${X86}/piw-logger`, ["--version"], home);
    assertEquals(after.code, 0, after.stderr);
    assertEquals(unpacking(), []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/** Writes `${home}/bin/${name}`, a shell script that stands in for the program of that name. */
async function fake(home: string, name: string, script: string): Promise<void> {
  await Deno.mkdir(`${home}/bin`, { recursive: true });
  await Deno.writeTextFile(`${home}/bin/${name}`, `#!/bin/sh\n${script}`, { mode: 0o755 });
}

/** Starts an executable as {@linkcode runBinary} does, with the fakes in `${home}/bin` first on PATH. */
function startWithFakes(path: string, args: string[], home: string) {
  const child = new Deno.Command(path, {
    args,
    env: { ...NO_DENO, HOME: home, PATH: `${home}/bin:${NO_DENO.PATH}` },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Collected(child.stdout, `${path}'s stdout`);
  const stderr = new Collected(child.stderr, `${path}'s stderr`);
  return { child, stdout, stderr, ended: Promise.all([stdout.ended, stderr.ended]) };
}

/** The names in a cache directory, sorted. */
function names(cache: string): string[] {
  return [...Deno.readDirSync(cache)].map((e) => e.name).sort();
}

Deno.test("dist: a run stopped by a signal while unpacking removes its directory and exits 128+signal", async () => {
  await built;
  const home = await Deno.makeTempDir();
  try {
    const cache = `${home}/.cache/piwheels-deno`;
    // a tar that says when the launcher has got to it and then runs until its stdin ends
    await fake(home, "tar", "echo untarring\nexec cat >/dev/null\n");
    for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130], ["SIGHUP", 129]] as const) {
      const { child, stdout, stderr, ended } = startWithFakes(
        `${X86}/piw-logger`,
        ["--version"],
        home,
      );
      await stdout.waitFor(/untarring/);
      // the launcher (not its tar) is signalled: it acts on it once its tar has ended
      child.kill(signal);
      await child.stdin.close();
      const status = await child.status;
      await ended;
      assertEquals(status.code, code, `${signal}: ${stderr.text}`);
      assertEquals(stderr.text, "", signal);
      assertEquals(names(cache), [], `${signal}: nothing left, and no copy`);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("dist: a run killed between making its unpacking directory and locking it leaves nothing for long", async () => {
  await built;
  const home = await Deno.makeTempDir();
  try {
    const cache = `${home}/.cache/piwheels-deno`;
    const unpacking = () => names(cache).filter((e) => e.startsWith(".unpack."));
    // a mktemp that makes the directory, says so, and then runs until its stdin ends
    await fake(
      home,
      "mktemp",
      'made=$(/usr/bin/mktemp "$@") || exit\necho "made $made" >&2\ncat >/dev/null\necho "$made"\n',
    );
    // killed there (kill -9, as by the OOM killer), with its mktemp ending after it
    const killed = startWithFakes(`${X86}/piw-logger`, ["--version"], home);
    await killed.stderr.waitFor(/made /);
    killed.child.kill("SIGKILL");
    await killed.child.status;
    await killed.child.stdin.close();
    await killed.ended;
    assertEquals(unpacking().length, 1, "the killed run left nothing");
    const after = await runBinary(`${X86}/piw-logger`, ["--version"], home);
    assertEquals(after.code, 0, after.stderr);
    assertEquals(unpacking(), [], "what the killed run left was not removed");
    // and one that lives there is left alone by another run, and goes on to run its tool
    const copy = names(cache).find((e) => !e.startsWith("."))!;
    await Deno.remove(`${cache}/${copy}`, { recursive: true });
    const paused = startWithFakes(`${X86}/piw-logger`, ["--version"], home);
    const [, made] = (await paused.stderr.waitFor(/made (\S+)/))!;
    const during = await runBinary(`${X86}/piw-logger`, ["--version"], home);
    assertEquals(during.code, 0, during.stderr);
    assert((await Deno.stat(made!)).isDirectory, "a live run's directory was removed");
    await paused.child.stdin.close();
    assertEquals((await paused.child.status).code, 0, paused.stderr.text);
    await paused.ended;
    assertEquals(unpacking(), []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("dist: what a run killed while replacing a damaged copy left is removed by a later run, once no part of it lives", async () => {
  await built;
  const home = await Deno.makeTempDir();
  try {
    const cache = `${home}/.cache/piwheels-deno`;
    assertEquals((await runBinary(`${X86}/piw-logger`, ["--version"], home)).code, 0);
    const copy = names(cache).find((e) => !e.startsWith("."))!;
    await Deno.writeTextFile(`${cache}/${copy}/bundle/master/main.js`, "throw 0;\n");
    // an rm that, asked to remove the damaged copy, says so and then runs until its stdin ends
    // without removing it, so that the launcher is killed there
    await fake(
      home,
      "rm",
      `for a do
  if [ -d "$a" ] && [ -n "$(find "$a" -path '*damaged*' -name MANIFEST.large)" ]; then
    echo removing >&2
    exec cat >/dev/null
  fi
done
exec /bin/rm "$@"
`,
    );
    const killed = startWithFakes(`${X86}/piw-logger`, ["--version"], home);
    await killed.stderr.waitFor(/removing/);
    killed.child.kill("SIGKILL");
    await killed.child.status;
    const left = names(cache).filter((e) => e !== copy && e !== ".deno");
    assertEquals(left.length, 1, `left: ${left}`);
    // its rm still runs: a later run leaves that alone
    const during = await runBinary(`${X86}/piw-logger`, ["--version"], home);
    assertEquals(during.code, 0, during.stderr);
    assertEquals(names(cache).filter((e) => e !== copy && e !== ".deno"), left);
    // once it has ended, the next run removes what it left
    await killed.child.stdin.close();
    await killed.ended;
    const after = await runBinary(`${X86}/piw-logger`, ["--version"], home);
    assertEquals(after.code, 0, after.stderr);
    assertEquals(names(cache), [".deno", copy]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/**
 * Another version of the executable at `path`, written to `to`: the same code, whose payload
 * differs in its gzip header's time, so that it has a SHA-256, and a copy in the cache, of its own.
 */
async function otherVersion(path: string, to: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const head = new TextDecoder().decode(bytes.subarray(0, 16384));
  const offset = Number(/^payload_offset=(\d+)$/m.exec(head)![1]);
  const sha = /^payload_sha256=([0-9a-f]{64})$/m.exec(head)![1]!;
  const payload = bytes.subarray(offset - 1);
  payload[4] = payload[4]! ^ 0xff;
  const other = sha256Hex(payload);
  const header = new TextEncoder().encode(
    new TextDecoder().decode(bytes.subarray(0, offset - 1)).replace(sha, other),
  );
  bytes.set(header);
  await Deno.writeFile(to, bytes, { mode: 0o755 });
  return other;
}

Deno.test("dist: copies of other versions are removed once no run uses them; nothing else is", async () => {
  await built;
  const home = await Deno.makeTempDir();
  try {
    const cache = `${home}/.cache/piwheels-deno`;
    const older = `${home}/piw-logger-older`;
    const olderCopy = await otherVersion(`${X86}/piw-logger`, older);
    assertEquals((await runBinary(older, ["--version"], home)).code, 0);
    // a tool of the older version runs on (piw-logger -v says at once that it cannot reach its
    // queue, then waits for stdin)
    const running = new Deno.Command(older, {
      args: ["-v", "--log-queue", `ipc://${home}/nothing-here`],
      env: { ...NO_DENO, HOME: home },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const said = new Collected(running.stderr, "the older piw-logger");
    await said.waitFor(/connect failed/);
    // what the launcher did not make, or not this way, even where named as it names things: a
    // copy an earlier launcher made (it held no lock on it while it ran), another's symbolic
    // link, a directory of the user's
    const hex = (c: string) => c.repeat(64);
    await Deno.mkdir(`${cache}/${hex("a")}/bundle`, { recursive: true });
    await Deno.writeTextFile(`${cache}/${hex("a")}/.complete`, "");
    await Deno.mkdir(`${home}/elsewhere`);
    await Deno.writeTextFile(`${home}/elsewhere/.flocked`, "");
    await Deno.symlink(`${home}/elsewhere`, `${cache}/${hex("b")}`);
    await Deno.symlink(`${home}/elsewhere`, `${cache}/${hex("b")}.damaged.12`);
    await Deno.symlink(`${home}/elsewhere`, `${cache}/.unpack.b12345`);
    await Deno.mkdir(`${cache}/notes.damaged.12`);
    await Deno.mkdir(`${cache}/.unpack.1234567`);
    // and what the launcher made: a copy partly removed, and a damaged copy an earlier
    // launcher was removing when it was killed
    await Deno.mkdir(`${cache}/${hex("c")}/bundle`, { recursive: true });
    await Deno.mkdir(`${cache}/${hex("d")}.damaged.12/bundle`, { recursive: true });
    const kept = [hex("a"), hex("b"), `${hex("b")}.damaged.12`, ".unpack.b12345"];
    kept.push("notes.damaged.12", ".unpack.1234567");
    const during = await runBinary(`${X86}/piw-logger`, ["--version"], home);
    assertEquals(during.code, 0, during.stderr);
    const copy = names(cache).find((e) =>
      /^[0-9a-f]{64}$/.test(e) && e !== olderCopy &&
      !kept.includes(e)
    )!;
    assertEquals(
      names(cache),
      [".deno", olderCopy, copy, ...kept].sort(),
      "the older copy is used",
    );
    await running.stdin.close();
    await reap(running, { signal: "SIGTERM" });
    await said.ended;
    const after = await runBinary(`${X86}/piw-logger`, ["--version"], home);
    assertEquals(after.code, 0, after.stderr);
    assertEquals(names(cache), [".deno", copy, ...kept].sort());
    assert((await Deno.stat(`${home}/elsewhere/.flocked`)).isFile);
    // and the older version, run again, unpacks its copy again
    assertEquals((await runBinary(older, ["--version"], home)).code, 0);
    assert(names(cache).includes(olderCopy));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("dist: a binary master and a binary slave build a release that pip installs", async () => {
  await built;
  await using farm = await startFarm({
    binary: `${X86}/piw-master`,
  });
  const { pypi, master } = farm;
  await using slave = await startSlave({ master, label: "binary", binary: `${X86}/piw-slave` });
  await pypi.release("from-binaries", "1.0");
  await master.waitForFile(
    "simple/from-binaries/index.html",
    "from_binaries-1.0-py3-none-any.whl",
    120_000,
  ).catch((e) => {
    throw new Error(`${e.message}\nslave:\n${slave.stderr}`);
  });
  const python = await pipInstall(master.output, master.dir, ["from-binaries"]);
  const imported = await run(python, [
    "-c",
    "import from_binaries; print(from_binaries.VERSION)",
  ]);
  assertEquals(imported.stdout.trim(), "1.0");
  // the binary ran its work in a Worker whose permissions are narrowed (it checks, and says so)
  assertStringIncludes(slave.stderr, "the Worker's permissions are confined");
  assertEquals((await slave.stop()).code, 0, slave.stderr);
});

Deno.test("dist: the aarch64 slave under qemu-user says HELLO to a native master and sleeps", async () => {
  await built;
  const home = await Deno.makeTempDir();
  try {
    const emulated = { QEMU_LD_PREFIX: "/usr/aarch64-linux-gnu" };
    const version = await runBinary(`${ARM}/piw-slave`, ["--version"], home, emulated);
    assertEquals(version.code, 0, version.stderr);
    assertMatch(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
    await using pypi = new FakePyPI();
    await using master = await startMaster({
      pypiXmlrpc: pypi.xmlrpcUrl,
      binary: `${X86}/piw-master`,
    });
    const status = new Subscriber({ receiveTimeout: 60_000 });
    status.subscribe();
    status.connect(master.statusQueue);
    await using slave = await startSlave({
      master,
      label: "emulated-pi",
      binary: `${ARM}/piw-slave`,
      env: emulated,
      args: ["--sandbox", "none"],
    });
    await master.waitForLog(/slave (\d+) \(emulated-pi\) joined/, 120_000);
    const seen: string[] = [];
    while (!seen.includes("SLEEP")) {
      const [frame] = await status.receive();
      const m = decodeMessage(reverse(monitorStats), frame!);
      if (m.msg === "SLAVE") seen.push(m.data[2]);
    }
    assertEquals(seen.slice(0, 1), ["HELLO"]);
    await status.close();
    assertEquals((await slave.stop()).code, 0, slave.stderr);
    assertStringIncludes(master.stderr, "(emulated-pi) said goodbye");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("dist: the same code builds the same payload, so a rebuild needs no second copy", async () => {
  await built;
  const sha = async (path: string) =>
    /^payload_sha256=([0-9a-f]{64})$/m.exec(new TextDecoder().decode(
      (await Deno.readFile(path)).subarray(0, 16384),
    ))![1];
  const before = await sha(`${X86}/piw-slave`);
  const out = await run(Deno.execPath(), ["task", "dist"], { cwd: ROOT });
  if (out.code !== 0) throw new Error(`deno task dist failed:\n${out.stderr}`);
  assertEquals(await sha(`${X86}/piw-slave`), before);
});
