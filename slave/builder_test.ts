import { Duration } from "../shared/duration.ts";
import { sha256File } from "../shared/hash.ts";
import { Logger } from "../shared/log.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../tests/assert.ts";
import {
  attempts,
  cExtension,
  hostile,
  type HostileConfig,
  makeVenv,
  processesWith,
  stubborn,
  survivors,
  withMarker,
} from "../tests/fixtures/builds.ts";
import { FakePyPI } from "../tests/fixtures/fake_pypi.ts";
import type { SdistOptions } from "../tests/fixtures/sdist.ts";
import { PYTHON, removeTree, ROOT, run } from "../tests/process.ts";
import { build, type BuildOptions, type BuildResult, MAX_WHEELS } from "./builder.ts";
import { type Interpreter, probeInterpreter } from "./interpreter.ts";
import { Sandbox, SandboxError } from "./sandbox.ts";

const logger = new Logger("builder test");
const python = await probeInterpreter(PYTHON);
const bwrap = await Sandbox.create({ mode: "bwrap", logger });
const none = await Sandbox.create({ mode: "none", logger });

function exists(path: string): Promise<boolean> {
  return Deno.lstat(path).then(() => true, () => false);
}

/** Builds from the fake PyPI into a fresh build directory, removed (with the build) after. */
async function withBuild(
  pypi: FakePyPI,
  options: Partial<BuildOptions> & Pick<BuildOptions, "package" | "version">,
  check: (r: BuildResult) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const buildDir = await Deno.makeTempDir({ prefix: "piwheels-build-test-" });
  try {
    const r = await build({
      indexUrl: pypi.simpleUrl,
      interpreter: python,
      buildDir,
      timeout: Duration.of({ minutes: 2 }),
      sandbox: bwrap,
      logger,
      ...options,
    }, signal);
    try {
      assert(!await exists(r.workspace.home), "the private home is gone after the build");
      assert(!await exists(r.workspace.tmp), "the build's temporary files are gone");
      assert(!await exists(r.workspace.sandboxTmp), "and its /tmp");
      await check(r);
    } finally {
      await r.cleanup();
    }
    assert(!await exists(r.workspace.root), "cleanup removes the workspace");
    await r.cleanup(); // a second time does nothing
  } finally {
    await Deno.remove(buildDir, { recursive: true });
  }
}

Deno.test("a pure-Python package builds: one wheel, hashed, tagged, no dependencies", async () => {
  await using pypi = new FakePyPI();
  await pypi.release("Tiny.Pkg", "1.0");
  await withBuild(pypi, { package: "Tiny.Pkg", version: "1.0" }, async (r) => {
    assertEquals([r.status, r.ended], [true, "exited"]);
    assertStringIncludes(r.output, "Successfully built Tiny.Pkg");
    assert(r.duration.compare(Duration.ZERO) > 0);
    assertEquals(r.files.length, 1);
    const [wheel] = r.files;
    const stat = await Deno.stat(wheel!.path);
    assertEquals(wheel!.path, `${r.workspace.dir}/wheels/Tiny.Pkg-1.0-py3-none-any.whl`);
    assertEquals(wheel!.file.asMessage(), [
      "Tiny.Pkg-1.0-py3-none-any.whl",
      stat.size,
      await sha256File(wheel!.path),
      "Tiny.Pkg",
      "1.0",
      "py3",
      "none",
      "any",
      {},
    ]);
  });
});

Deno.test("a C extension builds with gcc for a venv's interpreter, links libc6, and imports", async () => {
  await using pypi = new FakePyPI();
  await pypi.release("cext", "2.0", cExtension("cext", "2.0"));
  const dir = await Deno.makeTempDir();
  try {
    const venv: Interpreter = await probeInterpreter(await makeVenv(`${dir}/venv`));
    assertEquals(venv.prefixes, [`${dir}/venv`, "/usr"]); // shown read-only in the sandbox
    await withBuild(pypi, { package: "cext", version: "2.0", interpreter: venv }, async (r) => {
      assert(r.status, r.output);
      assertStringIncludes(r.output, "gcc");
      assertEquals(r.files.length, 1);
      const file = r.files[0]!.file;
      assertEquals(file.filename, `cext-2.0-${venv.abiTag}-${venv.abiTag}-${venv.platformTag}.whl`);
      assertEquals([file.pyVersionTag, file.abiTag, file.platformTag], [
        `cp${venv.pyVersionTag}`,
        venv.abiTag,
        venv.platformTag,
      ]);
      assert(file.dependencies.apt?.includes("libc6"), JSON.stringify(file.dependencies));
      // pip of the same interpreter accepts the wheel, and the compiled module loads
      const install = await run(venv.path, [
        "-m",
        "pip",
        "install",
        "--no-index",
        r.files[0]!.path,
      ]);
      assertEquals(install.code, 0, install.stderr);
      const imported = await run(venv.path, [
        "-c",
        "import cext; print(cext.add(2, 3), cext.__file__)",
      ]);
      assertMatch(imported.stdout, new RegExp(`^5 ${dir}/venv/.*/cext\\.cpython-.*\\.so\\n$`));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing build is status false with the error at the end of its bounded log", async () => {
  await using pypi = new FakePyPI();
  const setupPy =
    "print('x' * 100_000)\nraise SystemExit('PIWHEELS-TEST: this package cannot build')\n";
  await pypi.release("broken", "0.1", { setupPy });
  await withBuild(pypi, { package: "broken", version: "0.1", outputLimit: 4096 }, (r) => {
    assertEquals([r.status, r.ended, r.files], [false, "exited", []]);
    assertMatch(r.output, /^\[\d+ bytes of earlier output dropped\]\n/);
    assert(new TextEncoder().encode(r.output).length < 4096 + 100, `${r.output.length} bytes`);
    assertStringIncludes(r.output, "PIWHEELS-TEST: this package cannot build");
  });
});

Deno.test("a wheel larger than a wheel may be fails the build, unhashed", async () => {
  // a build's code can leave a sparse file of any size (up to the file system's, 16 TiB on ext4),
  // which takes no space: hashing it held the slave for as long as reading that many bytes takes
  await using pypi = new FakePyPI();
  const setupPy = `import os
from setuptools import setup
wheels = os.path.join(os.environ["HOME"], "..", "wheels")
os.makedirs(wheels, exist_ok=True)
with open(os.path.join(wheels, "huge-1.0-py2-none-any.whl"), "wb") as f:
    f.truncate(3 * 1024 ** 3)
setup(name="huge", version="1.0", py_modules=[])
`;
  await pypi.release("huge", "1.0", { setupPy });
  await withBuild(pypi, { package: "huge", version: "1.0" }, (r) => {
    assertEquals([r.status, r.files.length], [false, 0]);
    assertStringIncludes(
      r.output,
      `huge-1.0-py2-none-any.whl is ${3 * 1024 ** 3} bytes; a wheel may be 2147483648 at most`,
    );
  });
});

/**
 * Runs one build (tests/fixtures/slave_build.ts, in bubblewrap) in a process that, like a slave
 * run by a user other than root, may not read a file of mode 0: as root, the test drops the
 * capabilities that override file modes (what the build writes is still root's).
 */
async function buildUnprivileged(
  pypi: FakePyPI,
  project: string,
  version: string,
): Promise<{ status: boolean; ended: string; output: string; files: unknown[][] }> {
  const buildDir = await Deno.makeTempDir({ prefix: "piwheels-build-test-" });
  try {
    const settings = {
      interpreter: PYTHON,
      buildDir,
      sandbox: "bwrap",
      indexUrl: pypi.simpleUrl,
      package: project,
      version,
      timeout: "2m",
    };
    const deno = [
      Deno.execPath(),
      "run",
      "-A",
      `${ROOT}/tests/fixtures/slave_build.ts`,
      JSON.stringify(settings),
    ];
    const command = Deno.uid() === 0
      ? ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", ...deno]
      : deno;
    const out = await run(command[0]!, command.slice(1), { env: { NO_COLOR: "1" } });
    assertEquals(out.code, 0, out.stderr);
    assertEquals([...Deno.readDirSync(buildDir)], [], "the build cleaned up after itself");
    return JSON.parse(out.stdout);
  } finally {
    await removeTree(buildDir);
  }
}

Deno.test("an output the slave cannot read fails the build, its log saying why", async () => {
  // the build threw: the session started again with HELLO, no BUILT was sent, and the master
  // gave the same build out again, for ever
  await using pypi = new FakePyPI();
  const setupPy = `import os
from setuptools import setup
wheels = os.path.join(os.environ["HOME"], "..", "wheels")
os.makedirs(wheels, exist_ok=True)
unreadable = os.path.join(wheels, "zz-1.0-py3-none-any.whl")
if not os.path.exists(unreadable):
    open(unreadable, "wb").close()
    os.chmod(unreadable, 0)
setup(name="poison", version="1.0", py_modules=[])
`;
  await pypi.release("poison", "1.0", { setupPy });
  const r = await buildUnprivileged(pypi, "poison", "1.0");
  assertEquals([r.status, r.ended, r.files], [false, "exited", []]);
  assertStringIncludes(r.output, "Successfully built poison"); // pip's log is kept
  assertMatch(
    r.output,
    /\npiw-slave: cannot read the build's wheels: Permission denied .*zz-1\.0-py3-none-any\.whl/,
  );
});

Deno.test(`a build that writes more than ${MAX_WHEELS} wheels fails`, async () => {
  // pip wheel --no-deps writes one; each more was scanned for minutes and hashed
  await using pypi = new FakePyPI();
  const setupPy = `import os
from setuptools import setup
wheels = os.path.join(os.environ["HOME"], "..", "wheels")
os.makedirs(wheels, exist_ok=True)
for i in range(${MAX_WHEELS}):
    open(os.path.join(wheels, "many%d-1.0-py3-none-any.whl" % i), "wb").close()
setup(name="many", version="1.0", py_modules=[])
`;
  await pypi.release("many", "1.0", { setupPy });
  await withBuild(pypi, { package: "many", version: "1.0" }, (r) => {
    assertEquals([r.status, r.ended, r.files], [false, "exited", []]);
    assertStringIncludes(r.output, "Successfully built many");
    assertStringIncludes(
      r.output,
      `\npiw-slave: the build wrote more than ${MAX_WHEELS} wheels (pip wheel --no-deps writes one)\n`,
    );
  });
});

/**
 * A package whose build also leaves `scanned-1.0-py3-none-any.whl`, holding a library linked
 * against a FIFO by its path: listing its libraries, ldd waits for ever to open that.
 */
const blockedScan: SdistOptions = {
  setupPy: `import os, subprocess, zipfile
from setuptools import setup
home = os.environ["HOME"]
lib = os.path.join(home, "libblock.so")
if not os.path.exists(lib):
    for name, code in [("b.c", "int blocker(void) { return 1; }"),
                       ("x.c", "int blocker(void); int f(void) { return blocker(); }")]:
        with open(os.path.join(home, name), "w") as f:
            f.write(code + "\\n")
    cc = ["gcc", "-shared", "-fPIC", "-o"]
    subprocess.run(cc + [lib, os.path.join(home, "b.c")], check=True)
    so = os.path.join(home, "x.so")
    subprocess.run(cc + [so, os.path.join(home, "x.c"), "-Wl,--no-as-needed", lib], check=True)
    os.remove(lib)
    os.mkfifo(lib)
    wheels = os.path.join(home, "..", "wheels")
    os.makedirs(wheels, exist_ok=True)
    with zipfile.ZipFile(os.path.join(wheels, "scanned-1.0-py3-none-any.whl"), "w") as z:
        z.write(so, "blocked/x.so")
setup(name="blocked", version="1.0", py_modules=[])
`,
};

/** Whether a process carrying `marker` is listing the libraries of a wheel's `<n>.so`. */
async function scanning(marker: string): Promise<boolean> {
  for (const pid of await processesWith(marker)) {
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
    if (/\/\d+\.so\0/.test(cmdline)) return true;
  }
  return false;
}

Deno.test("a build whose wheels are still read at its timeout fails, timed out", async () => {
  // the scan of each wheel had 2 minutes of its own, and hashing no bound, past the build's
  await using pypi = new FakePyPI();
  await pypi.release("blocked", "1.0", blockedScan);
  const timeout = Duration.of({ seconds: 20 });
  await withBuild(pypi, { package: "blocked", version: "1.0", timeout }, (r) => {
    assertEquals([r.status, r.ended, r.files], [false, "timed out", []]);
    assertStringIncludes(r.output, "Successfully built blocked");
    assertStringIncludes(
      r.output,
      "\npiw-slave: stopped after 20s: the build timed out while its wheels were read\n",
    );
  });
});

Deno.test("an abort while a build's wheels are read ends the build, aborted", () =>
  withMarker(async (marker) => {
    await using pypi = new FakePyPI();
    await pypi.release("blocked", "1.0", blockedScan);
    // the marker on every command line of the build (the scan's too): in its build directory
    const buildDir = await Deno.makeTempDir({ prefix: `${marker}-` });
    try {
      const stop = new AbortController();
      let built = false;
      const watching = (async () => {
        while (!built) {
          if (await scanning(marker)) return stop.abort();
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await withBuild(pypi, { package: "blocked", version: "1.0", buildDir }, async (r) => {
        built = true;
        await watching;
        assert(stop.signal.aborted, "the scan was seen");
        assertEquals([r.status, r.ended, r.files], [false, "aborted", []]);
        assertStringIncludes(r.output, "Successfully built blocked");
        assertStringIncludes(
          r.output,
          "\npiw-slave: stopped: the build was aborted while its wheels were read\n",
        );
        assertEquals(await survivors(marker), []);
      }, stop.signal);
    } finally {
      await Deno.remove(buildDir, { recursive: true });
    }
  }));

Deno.test("a version the index does not have fails the build", async () => {
  await using pypi = new FakePyPI();
  await pypi.release("tiny", "1.0");
  await withBuild(pypi, { package: "tiny", version: "2.0" }, (r) => {
    assertEquals([r.status, r.files], [false, []]);
    assertStringIncludes(r.output, "No matching distribution found for tiny==2.0");
  });
});

Deno.test("a build outliving its timeout is killed whole, its SIGTERM-proof children too", () =>
  withMarker(async (marker) => {
    await using pypi = new FakePyPI();
    await pypi.release("stubborn", "1.0", await stubborn(marker, true));
    const timeout = Duration.of({ seconds: 5 });
    await withBuild(pypi, { package: "stubborn", version: "1.0", timeout }, async (r) => {
      assertEquals([r.status, r.ended, r.files], [false, "timed out", []]);
      assertStringIncludes(r.output, `STUBBORN started ${marker}`); // its children had started
      assertStringIncludes(r.output, "killed after 5s: the build timed out");
      assert(r.duration.compare(timeout.plus(Duration.of({ seconds: 5 }))) < 0, `${r.duration}`);
      assertEquals(await survivors(marker), []);
    });
  }));

Deno.test("an aborted build (no sandbox) is killed whole and reported as aborted", () =>
  withMarker(async (marker) => {
    await using pypi = new FakePyPI();
    await pypi.release("stubborn", "1.0", await stubborn(marker, false));
    const stop = new AbortController();
    const watching = (async () => {
      while ((await processesWith(marker)).length < 2) await new Promise((r) => setTimeout(r, 50));
      stop.abort();
    })();
    await withBuild(pypi, { package: "stubborn", version: "1.0", sandbox: none }, async (r) => {
      await watching;
      assertEquals([r.status, r.ended, r.files], [false, "aborted", []]);
      assertStringIncludes(r.output, "killed: the build was aborted");
      assertEquals(await survivors(marker), []);
    }, stop.signal);
  }));

Deno.test("a hostile setup.py under bubblewrap reaches nothing outside its build", () =>
  withMarker(async (marker) => {
    await using pypi = new FakePyPI();
    const home = Deno.env.get("HOME")!;
    const ssh = `${home}/.ssh`;
    const createdSsh = !await exists(ssh);
    const owned = await Deno.makeTempDir();
    const bashrc = await Deno.readTextFile(`${home}/.bashrc`).catch(() => null);
    const config: HostileConfig = {
      name: "hostile",
      version: "6.6.6",
      marker,
      host_bashrc: `${home}/.bashrc`,
      ssh_secret: `${ssh}/${marker}`,
      owned_file: `${owned}/pwned`,
      host_tmp_file: `/tmp/${marker}`,
      git_url: `${pypi.url}/hostile.git`,
      secret_env: "PIWHEELS_TEST_SECRET",
      port: Number(new URL(pypi.url).port),
    };
    await Deno.mkdir(ssh, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(config.ssh_secret, "a private key\n", { mode: 0o600 });
    Deno.env.set(config.secret_env, "leaked");
    await pypi.release("hostile", "6.6.6", await hostile(config));
    try {
      await withBuild(pypi, { package: "hostile", version: "6.6.6" }, async (r) => {
        assert(r.status, r.output); // it still builds
        const seen = attempts(r.output);
        const verdicts = new Map<string, boolean>();
        for (const a of seen) {
          assertEquals(verdicts.get(a.name) ?? a.ok, a.ok, `${a.name} the same every time`);
          verdicts.set(a.name, a.ok);
        }
        assert(seen.some((a) => a.phase.startsWith("bdist_wheel")), "it ran for the wheel too");
        assertEquals(Object.fromEntries(verdicts), {
          "home-bashrc": true, // into its private home, gone now
          "host-bashrc": false,
          "read-ssh": false,
          "read-shadow": false,
          "write-owned": false,
          "write-host-tmp": true, // into its private /tmp
          "write-usr": false,
          memory: false,
          git: false,
          environment: false,
          background: true, // killed with the sandbox
          network: true, // shared: it must reach the index
        });
        const detail = (name: string) => seen.find((a) => a.name === name)!.detail;
        assertStringIncludes(detail("home-bashrc"), r.workspace.home);
        assertStringIncludes(detail("read-shadow"), "PermissionError");
        assertStringIncludes(detail("write-usr"), "Read-only file system");
        assertStringIncludes(detail("memory"), "MemoryError");
        assertStringIncludes(detail("git"), "CalledProcessError");
        assertEquals(await survivors(marker), []);
        assert(!await exists(config.owned_file));
        assert(!await exists(config.host_tmp_file));
        assertEquals(await Deno.readTextFile(config.host_bashrc).catch(() => null), bashrc);
      });
    } finally {
      Deno.env.delete(config.secret_env);
      await Deno.remove(config.ssh_secret);
      if (createdSsh) await Deno.remove(ssh);
      await Deno.remove(owned, { recursive: true });
      await Deno.remove(config.host_tmp_file).catch(() => {});
      if (bashrc === null) await Deno.remove(config.host_bashrc).catch(() => {});
      else await Deno.writeTextFile(config.host_bashrc, bashrc);
    }
  }));

/** A TCP listener that counts the connections made to it. */
function countingListener(): { port: number; connections: () => number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let count = 0;
  (async () => {
    for await (const conn of listener) {
      count++;
      conn.close();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => count,
    [Symbol.dispose]: () => listener.close(),
  };
}

Deno.test("without network: no code of the package runs with network, egg_info included", () =>
  withMarker(async (marker) => {
    await using pypi = new FakePyPI();
    using listener = countingListener();
    const config: HostileConfig = {
      name: "offline",
      version: "1.0",
      marker,
      host_bashrc: "/nonexistent/.bashrc",
      ssh_secret: "/nonexistent/key",
      owned_file: "/nonexistent/pwned",
      host_tmp_file: `/tmp/${marker}`,
      git_url: `${pypi.url}/offline.git`,
      secret_env: "PIWHEELS_TEST_SECRET",
      port: listener.port,
    };
    await pypi.release("offline", "1.0", await hostile(config));
    await withBuild(pypi, { package: "offline", version: "1.0", noNetwork: true }, (r) => {
      assert(r.status, r.output);
      assertEquals(r.files.map((f) => f.file.filename), ["offline-1.0-py3-none-any.whl"]);
      assertStringIncludes(r.output, "offline-1.0.tar.gz matches the index's SHA-256");
      const network = attempts(r.output).filter((a) => a.name === "network");
      // pip wheel runs setup.py for its metadata (egg_info), then for the wheel: never online
      assert(network[0]!.phase.startsWith("egg_info"), network[0]!.phase);
      assert(network.at(-1)!.phase.startsWith("bdist_wheel"), network.at(-1)!.phase);
      assertEquals(network.map((a) => a.ok), network.map(() => false));
      // its own network namespace: a loopback of its own, where nothing listens
      assertStringIncludes(network[0]!.detail, "ConnectionRefusedError");
      assertEquals(listener.connections(), 0, "the listener saw nothing");
      assertEquals(pypi.pages, ["html /simple/offline/"]);
    });
  }));

Deno.test("without network: the sdist is found through PEP 691 JSON by its normalised name", async () => {
  await using pypi = new FakePyPI({ json: true });
  await pypi.release("Tiny.Pkg", "1.0");
  await withBuild(pypi, { package: "Tiny.Pkg", version: "1.0", noNetwork: true }, (r) => {
    assert(r.status, r.output);
    assertEquals(r.files.map((f) => f.file.filename), ["Tiny.Pkg-1.0-py3-none-any.whl"]);
    assertEquals(pypi.pages, ["json /simple/tiny-pkg/"]);
  });
});

Deno.test("without network: an sdist without a SHA-256, or with another, is refused unbuilt", async () => {
  const setupPy = "print('PIWHEELS-TEST: package code ran')\nraise SystemExit(1)\n";
  for (const json of [false, true]) {
    await using pypi = new FakePyPI({ json });
    await pypi.release("unhashed", "1.0", { setupPy }, { sha256: null });
    await pypi.release("mishashed", "1.0", { setupPy }, { sha256: "0".repeat(64) });
    await withBuild(pypi, { package: "unhashed", version: "1.0", noNetwork: true }, (r) => {
      assertEquals([r.status, r.ended, r.files], [false, "exited", []]);
      assertMatch(
        r.output,
        /refused unhashed-1\.0\.tar\.gz: the index gives no SHA-256 to check it by\n$/,
      );
    });
    await withBuild(pypi, { package: "mishashed", version: "1.0", noNetwork: true }, (r) => {
      assertEquals([r.status, r.ended, r.files], [false, "exited", []]);
      assertMatch(
        r.output,
        /refused mishashed-1\.0\.tar\.gz: its SHA-256 is [0-9a-f]{64}, the index says 0{64}\n$/,
      );
      assert(!r.output.includes("package code ran"), r.output);
    });
  }
});

Deno.test("without network: a missing release, a too large sdist, a non-HTTP index fail the build", async () => {
  await using pypi = new FakePyPI();
  await pypi.release("tiny", "1.0");
  const offline = { package: "tiny", noNetwork: true } as const;
  await withBuild(pypi, { ...offline, version: "2.0" }, (r) => {
    assertEquals([r.status, r.files], [false, []]);
    assertStringIncludes(r.output, "the index has no sdist of tiny 2.0 (it lists tiny-1.0.tar.gz)");
  });
  await withBuild(pypi, { ...offline, version: "1.0", sourceLimit: 100 }, (r) => {
    assertEquals([r.status, r.files], [false, []]);
    assertStringIncludes(r.output, "more than the 100 bytes allowed");
    assertEquals([...Deno.readDirSync(r.workspace.path("sdist"))].map((e) => e.name), []);
  });
  await withBuild(pypi, { ...offline, version: "1.0", indexUrl: "file:///etc/" }, (r) => {
    assertEquals([r.status, r.files], [false, []]);
    assertStringIncludes(r.output, 'the index: "file:///etc/" is not an http(s) URL');
  });
});

Deno.test("build refuses what its settings get wrong, before building anything", async () => {
  await using pypi = new FakePyPI();
  const buildDir = await Deno.makeTempDir();
  try {
    const options: BuildOptions = {
      package: "tiny",
      version: "1.0",
      indexUrl: pypi.simpleUrl,
      interpreter: python,
      buildDir,
      timeout: Duration.of({ minutes: 1 }),
      sandbox: none,
      logger,
    };
    await assertRejects(() => build({ ...options, noNetwork: true }), SandboxError, "bubblewrap");
    await assertRejects(() => build({ ...options, package: "-r/etc/passwd" }), TypeError);
    await assertRejects(() => build({ ...options, version: "1.0 ; x" }), TypeError);
    assertEquals([...Deno.readDirSync(buildDir)], []);
  } finally {
    await Deno.remove(buildDir, { recursive: true });
  }
});
