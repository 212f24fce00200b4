import { Duration } from "../shared/duration.ts";
import { Logger } from "../shared/log.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../tests/assert.ts";
import { processesWith, RecordingLogger, survivors, withMarker } from "../tests/fixtures/builds.ts";
import { PYTHON } from "../tests/process.ts";
import { type RunOptions, Sandbox, SandboxError, SHM_SIZE } from "./sandbox.ts";
import { TailBuffer } from "./tail.ts";
import { Workspace } from "./workspace.ts";

const logger = new Logger("sandbox test");

/** Python that ignores SIGTERM, starts children that do too (marked), says so and sleeps. */
const STUBBORN = `
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
for _ in range(2):
    subprocess.Popen([sys.executable, "-c", child, sys.argv[1]])
print("started", flush=True)
time.sleep(600)
`;

/** Python that leaves a marked child behind (in a session of its own if asked) and exits. */
const LEAVER = `
import subprocess, sys
child = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
subprocess.Popen([sys.executable, "-c", child, sys.argv[1]], start_new_session=sys.argv[2] == "1")
print("left", flush=True)
`;

/** Runs a command in a fresh workspace; returns how it ended, its output and the workspace. */
async function runIn(
  sandbox: Sandbox,
  command: string[],
  options: Partial<RunOptions> = {},
): Promise<{ ended: string; code: number; output: string; workspace: Workspace }> {
  const dir = await Deno.makeTempDir();
  const workspace = await Workspace.create(dir);
  try {
    const output = new TailBuffer(1 << 20);
    const end = await sandbox.run({
      command,
      workspace,
      network: true,
      timeout: Duration.of({ minutes: 1 }),
      output,
      ...options,
    });
    return { ...end, output: output.text(), workspace };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function sh(sandbox: Sandbox, script: string, options: Partial<RunOptions> = {}) {
  return runIn(sandbox, ["/bin/sh", "-c", script], options);
}

Deno.test("auto picks bubblewrap here, and a run under it is nobody in its own namespaces", async () => {
  const sandbox = await Sandbox.create({ mode: "auto", logger });
  assertEquals(sandbox.mode, "bwrap");
  assert(sandbox.canCutNetwork);
  const r = await sh(
    sandbox,
    "id -u; echo $$; ls /proc | grep -c '^[0-9]'; echo out; echo err >&2",
  );
  assertEquals([r.ended, r.code], ["exited", 0]);
  const [uid, pid, processes] = r.output.split("\n");
  assertEquals(uid, "65534");
  assert(Number(pid) < 10, `a low PID in its own namespace: ${pid}`);
  assert(Number(processes) < 5, `only the sandbox's processes in /proc: ${processes}`);
  assertStringIncludes(r.output, "out\nerr\n"); // stderr joined to stdout, in order
  // no user namespace of its own: in one, it was root with every capability
  const nested = await sh(sandbox, "unshare --user --map-root-user id -u");
  assert(nested.code !== 0, `a build made a user namespace: ${nested.output}`);
});

Deno.test("bwrap mode with bubblewrap missing fails clearly; auto falls back to none, warning", async () => {
  const bogus = "/nonexistent/bwrap";
  const e = await assertRejects(
    () => Sandbox.create({ mode: "bwrap", bwrap: bogus, logger }),
    SandboxError,
  );
  assertStringIncludes(e.message, `bubblewrap (${bogus}) cannot make a sandbox here: no such`);
  const recording = new RecordingLogger("sandbox test");
  const sandbox = await Sandbox.create({ mode: "auto", bwrap: bogus, logger: recording });
  assertEquals(sandbox.mode, "none");
  assert(!sandbox.canCutNetwork);
  assertEquals(recording.warnings.length, 1);
  assertStringIncludes(recording.warnings[0]!, "WITHOUT a sandbox");
  await assertRejects(() => sh(sandbox, "true", { network: false }), SandboxError, "cut");
});

Deno.test("a bubblewrap before 0.8 (no --disable-userns) still sandboxes, warning", async () => {
  // Debian 11's (and Raspberry Pi OS's) is 0.4: refusing it would leave builds unsandboxed
  const dir = await Deno.makeTempDir();
  try {
    const old = `${dir}/bwrap`;
    await Deno.writeTextFile(
      old,
      `#!/bin/sh\nfor a; do [ "$a" = --disable-userns ] && ` +
        `{ echo "bwrap: Unknown option --disable-userns" >&2; exit 1; }; done\n` +
        `exec ${await realBwrap()} "$@"\n`,
      { mode: 0o755 },
    );
    const recording = new RecordingLogger("sandbox test");
    const sandbox = await Sandbox.create({ mode: "auto", bwrap: old, logger: recording });
    assertEquals([sandbox.mode, sandbox.noUserNamespaces], ["bwrap", false]);
    assertEquals(recording.warnings.length, 1);
    assertStringIncludes(recording.warnings[0]!, "cannot keep builds from making user namespaces");
    const r = await sh(sandbox, "id -u");
    assertEquals([r.code, r.output], [0, "65534\n"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Where the bubblewrap on PATH is. */
async function realBwrap(): Promise<string> {
  const out = await new Deno.Command("/bin/sh", { args: ["-c", "command -v bwrap"] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("a memory limit that is not a sensible number of bytes is refused", async () => {
  for (const memoryLimit of [0, 1.5, 1000]) {
    await assertRejects(() => Sandbox.create({ mode: "none", memoryLimit, logger }), SandboxError);
  }
});

for (const mode of ["bwrap", "none"] as const) {
  Deno.test(`${mode}: the environment is scrubbed, git fetches nothing, memory is limited`, async () => {
    const secret = `PIWHEELS_TEST_SECRET_${mode.toUpperCase()}`;
    Deno.env.set(secret, "leaked");
    try {
      const sandbox = await Sandbox.create({ mode, memoryLimit: 256 * 1024 * 1024, logger });
      const r = await sh(
        sandbox,
        "env | sort; git ls-remote file:///nonexistent; ulimit -v;" +
          `${PYTHON} -c 'bytearray(512 << 20)' 2>&1 | tail -n 1`,
      );
      const env = r.output.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) =>
        l.split("=")[0]
      );
      assertEquals(env, ["GIT_ALLOW_PROTOCOL", "HOME", "LANG", "PATH", "PWD", "TMPDIR"]);
      assertStringIncludes(r.output, `HOME=${r.workspace.home}\n`);
      assertStringIncludes(r.output, `TMPDIR=${r.workspace.tmp}\n`);
      assertStringIncludes(r.output, "fatal: transport 'file' not allowed");
      assertStringIncludes(r.output, `${256 * 1024}\nMemoryError`);
    } finally {
      Deno.env.delete(secret);
    }
  });

  Deno.test(`${mode}: the whole process tree is killed at the timeout, SIGTERM ignored`, () =>
    withMarker(async (marker) => {
      const sandbox = await Sandbox.create({ mode, logger });
      const r = await runIn(sandbox, [PYTHON, "-c", STUBBORN, marker], {
        timeout: Duration.of({ seconds: 1 }),
      });
      assertEquals([r.ended, r.code], ["timed out", 128 + 9]);
      assertEquals(r.output, "started\n");
      assertEquals(await survivors(marker), []);
    }));

  Deno.test(`${mode}: an abort kills the whole process tree; aborted before, nothing runs`, () =>
    withMarker(async (marker) => {
      const sandbox = await Sandbox.create({ mode, logger });
      const stop = new AbortController();
      const running = runIn(sandbox, [PYTHON, "-c", STUBBORN, marker], { signal: stop.signal });
      while ((await processesWith(marker)).length < 2) {
        await new Promise((r) => setTimeout(r, 50));
      }
      stop.abort();
      const r = await running;
      assertEquals([r.ended, r.code], ["aborted", 128 + 9]);
      assertEquals(await survivors(marker), []);
      const again = await sh(sandbox, `echo ran ${marker}`, { signal: stop.signal });
      assertEquals([again.ended, again.output], ["aborted", ""]);
    }));

  Deno.test(`${mode}: an abort the moment the command starts kills all it goes on to start`, () =>
    withMarker(async (marker) => {
      // bubblewrap's --die-with-parent misses a kill that comes before its child has asked for
      // it: the command went on to run, and to start its children, with nobody to stop them
      const sandbox = await Sandbox.create({ mode, logger });
      for (let i = 0; i < 20; i++) {
        const stop = new AbortController();
        const running = runIn(sandbox, [PYTHON, "-c", STUBBORN, `${marker}-${i}`], {
          signal: stop.signal,
        });
        while ((await processesWith(`${marker}-${i}`)).length < 1) {
          await new Promise((r) => setTimeout(r, 1));
        }
        stop.abort();
        assertEquals((await running).ended, "aborted");
      }
      // what the kill missed would be running (the stubborn command sleeps for ten minutes)
      assertEquals(await survivors(marker), []);
    }));

  Deno.test(`${mode}: what a command leaves in the background is killed when it exits`, () =>
    withMarker(async (marker) => {
      const sandbox = await Sandbox.create({ mode, logger });
      // under bubblewrap even a process in a session of its own (for none, see below)
      for (const ownSession of mode === "bwrap" ? ["0", "1"] : ["0"]) {
        const r = await runIn(sandbox, [PYTHON, "-c", LEAVER, marker, ownSession]);
        assertEquals([r.ended, r.code, r.output], ["exited", 0, "left\n"]);
        assertEquals(await survivors(marker), []);
      }
    }));
}

Deno.test("none: a process in a session of its own escapes (the limit of no sandbox)", () =>
  withMarker(async (marker) => {
    const sandbox = await Sandbox.create({ mode: "none", logger });
    const r = await runIn(sandbox, [PYTHON, "-c", LEAVER, marker, "1"]);
    assertEquals([r.ended, r.code], ["exited", 0]);
    // it kept the output pipe open: the run stopped reading after a grace period
    assertStringIncludes(r.output, "left\n\n[a process that left the build's process group");
    assertEquals((await processesWith(marker)).length, 1);
  }));

Deno.test("bwrap: the network is shared or cut, as asked", async () => {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const conn of server) conn.close();
  })();
  try {
    const sandbox = await Sandbox.create({ mode: "bwrap", logger });
    const connect = [
      PYTHON,
      "-c",
      "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5);" +
      "print('connected')",
      String(server.addr.port),
    ];
    const shared = await runIn(sandbox, connect, { network: true });
    assertEquals([shared.code, shared.output], [0, "connected\n"]);
    const cut = await runIn(sandbox, connect, { network: false });
    assertEquals(cut.code, 1);
    assertStringIncludes(cut.output, "ConnectionRefusedError");
  } finally {
    server.close();
    await accepting;
  }
});

Deno.test("bwrap: /tmp is on disk in the workspace, /dev is read-only, /dev/shm bounded", async () => {
  // both were tmpfs without a size: a build filled the slave's memory past its ulimit -v
  const sandbox = await Sandbox.create({ mode: "bwrap", logger });
  const dir = await Deno.makeTempDir();
  try {
    const workspace = await Workspace.create(dir);
    const output = new TailBuffer(1 << 20);
    const megabytes = SHM_SIZE / 2 ** 20 + 1;
    const end = await sandbox.run({
      command: [
        "/bin/sh",
        "-c",
        "echo PIWHEELS-TEST > /tmp/written; stat -f -c %T /tmp;" +
        `dd if=/dev/zero of=/dev/shm/fill bs=1M count=${megabytes} 2>&1 | head -n 1;` +
        "echo x > /dev/filled; echo x > /dev/null && echo /dev/null works;" +
        "head -c 5 /dev/zero | wc -c",
      ],
      workspace,
      network: true,
      timeout: Duration.of({ minutes: 1 }),
      output,
    });
    assertEquals([end.ended, end.code], ["exited", 0], output.text());
    const lines = output.text().split("\n");
    assert(lines[0] !== "tmpfs", `/tmp is on disk: ${lines[0]}`);
    assertStringIncludes(lines[1]!, "/dev/shm/fill': No space left on device");
    assertStringIncludes(lines[2]!, "/dev/filled: Read-only file system");
    assertEquals(lines.slice(3), ["/dev/null works", "5", ""]);
    assertEquals(await Deno.readTextFile(`${workspace.sandboxTmp}/written`), "PIWHEELS-TEST\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
