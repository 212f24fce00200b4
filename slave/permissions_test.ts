import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { cExtension, deepHome, stubborn, survivors, withMarker } from "../tests/fixtures/builds.ts";
import { FakePyPI } from "../tests/fixtures/fake_pypi.ts";
import { PYTHON, removeTree, ROOT, run } from "../tests/process.ts";
import { type BuilderPermissions, builderPermissions } from "./permissions.ts";
import type { SandboxMode } from "./sandbox.ts";

Deno.test("builderPermissions: the interpreter, dpkg, rm and chmod, then bubblewrap, setsid and kill", () => {
  const common = { interpreter: "/opt/py/bin/python3", buildDir: "/var/lib/piw/build" };
  assertEquals(builderPermissions({ ...common, sandbox: "bwrap" }), {
    run: [
      "/opt/py/bin/python3",
      "/usr/bin/dpkg",
      "/bin/rm",
      "/bin/chmod",
      "/usr/bin/bwrap",
      "/usr/bin/setsid",
      "/bin/kill",
    ],
    read: ["/var/lib/piw/build", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"],
    write: ["/var/lib/piw/build"],
  });
  assertEquals(builderPermissions({ ...common, sandbox: "none" }), {
    run: [
      "/opt/py/bin/python3",
      "/usr/bin/dpkg",
      "/bin/rm",
      "/bin/chmod",
      "/usr/bin/setsid",
      "/bin/kill",
    ],
    read: ["/var/lib/piw/build"],
    write: ["/var/lib/piw/build"],
  });
  const auto = builderPermissions({ ...common, sandbox: "auto", bwrap: "/opt/bin/bwrap" });
  assertEquals(auto.run, [
    "/opt/py/bin/python3",
    "/usr/bin/dpkg",
    "/bin/rm",
    "/bin/chmod",
    "/opt/bin/bwrap",
    "/usr/bin/setsid",
    "/bin/kill",
  ]);
});

/** What tests/fixtures/slave_build.ts reports of a build. */
interface Built {
  status: boolean;
  ended: string;
  output: string;
  files: unknown[][];
  mode: string;
}

/**
 * Builds `pkg` `version` from the fake PyPI in `buildDir`, under `sandbox`, with exactly
 * the permissions `builderPermissions` gives it.
 */
function buildAs(
  sandbox: SandboxMode,
  buildDir: string,
  pypi: FakePyPI,
  pkg: string,
  version: string,
  timeout: string,
): Promise<Built> {
  return buildWith(builderPermissions({ interpreter: PYTHON, buildDir, sandbox }), {
    interpreter: PYTHON,
    buildDir,
    sandbox,
    indexUrl: pypi.simpleUrl,
    package: pkg,
    version,
    timeout,
  });
}

/** Runs tests/fixtures/slave_build.ts with exactly the given permissions. */
async function buildWith(
  permissions: BuilderPermissions,
  settings: Record<string, string>,
): Promise<Built> {
  const out = await run(Deno.execPath(), [
    "run",
    "--no-prompt",
    `--allow-run=${permissions.run.join(",")}`,
    `--allow-read=${permissions.read.join(",")}`,
    `--allow-write=${permissions.write.join(",")}`,
    `${ROOT}/tests/fixtures/slave_build.ts`,
    JSON.stringify(settings),
  ], { env: { NO_COLOR: "1" } });
  assertEquals(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

async function inBuildDir(fn: (buildDir: string) => Promise<void>): Promise<void> {
  const buildDir = await Deno.makeTempDir();
  try {
    await fn(buildDir);
    assertEquals([...Deno.readDirSync(buildDir)], [], "the build cleaned up after itself");
  } finally {
    await removeTree(buildDir);
  }
}

Deno.test("a C extension builds under bubblewrap with exactly builderPermissions", async () => {
  await using pypi = new FakePyPI();
  await pypi.release("cext", "2.0", cExtension("cext", "2.0"));
  await inBuildDir(async (buildDir) => {
    const r = await buildAs("auto", buildDir, pypi, "cext", "2.0", "5m");
    assertEquals([r.mode, r.status, r.ended], ["bwrap", true, "exited"], r.output);
    assertEquals(r.files.length, 1);
    assertEquals(r.files[0]![8], { apt: ["libc6"] });
  });
});

Deno.test("without a sandbox, a timeout kills the whole group with exactly builderPermissions", () =>
  withMarker(async (marker) => {
    await using pypi = new FakePyPI();
    await pypi.release("stubborn", "1.0", await stubborn(marker, false));
    await inBuildDir(async (buildDir) => {
      const r = await buildAs("none", buildDir, pypi, "stubborn", "1.0", "4s");
      assertEquals([r.mode, r.status, r.ended], ["none", false, "timed out"], r.output);
      assertStringIncludes(r.output, `STUBBORN started ${marker}`);
      assertStringIncludes(r.output, "killed after 4s");
      assert(r.files.length === 0);
      assertEquals(await survivors(marker), []);
    });
  }));

Deno.test("a build leaving a tree 20,000 directories deep is scrubbed with exactly builderPermissions", async () => {
  // Deno's recursive remove overflowed its stack on it and aborted the slave (every restart
  // too, as it removed the same workspace again)
  await using pypi = new FakePyPI();
  await pypi.release("deep", "1.0", deepHome("deep", "1.0"));
  await inBuildDir(async (buildDir) => {
    const r = await buildAs("bwrap", buildDir, pypi, "deep", "1.0", "5m");
    assertEquals([r.status, r.files.length], [true, 1], r.output);
  });
});
