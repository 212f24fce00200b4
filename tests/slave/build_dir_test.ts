/**
 * piw-slave's build directory: a slave killed with SIGKILL in the middle of a build or of a
 * transfer leaves its workspace (and nothing running: the sandbox dies with it); the next slave
 * on that directory removes it as it starts. Two slaves never share one: the second is refused
 * with a one-line error.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { freePort, startSlave } from "../farm.ts";
import { deepTreePython, survivors, withMarker } from "../fixtures/builds.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { endlessSetup, type HeldState, holdSlave } from "../fixtures/held_slave.ts";
import { PYTHON, reap, removeTree, run } from "../process.ts";

/** A master nothing listens for: the restarted slave needs none to clean up. */
function nowhere() {
  return {
    slaveQueue: `tcp://127.0.0.1:${freePort()}`,
    fileQueue: `tcp://127.0.0.1:${freePort()}`,
  };
}

function workspaces(buildDir: string): string[] {
  return [...Deno.readDirSync(buildDir)].map((e) => e.name).filter((n) => n.startsWith("build-"));
}

for (const state of ["building", "transferring"] as HeldState[]) {
  Deno.test(`slave: killed while ${state}, its workspace is removed by the next slave`, () =>
    withMarker(async (marker) => {
      const buildDir = await Deno.makeTempDir({ prefix: "piw-slave-build-dir-" });
      try {
        await using pypi = new FakePyPI();
        await pypi.release("killed-tiny", "1.0");
        await pypi.release("killed-endless", "1.0", { setupPy: endlessSetup(marker) });
        {
          await using held = await holdSlave({
            state,
            pypi,
            package: state === "building" ? "killed-endless" : "killed-tiny",
            label: `killed-${state}`,
            marker,
            args: ["--build-dir", buildDir],
          });
          assertEquals((await reap(held.slave.process, { signal: "SIGKILL" })).signal, "SIGKILL");
        }
        const stale = workspaces(buildDir);
        assertEquals(stale.length, 1, "the killed slave left its workspace");
        assertEquals(await survivors(marker), [], "its build died with it");

        await using again = await startSlave({
          master: nowhere(),
          label: "again",
          args: ["--build-dir", buildDir],
        });
        await again.waitForLog(/removed 1 stale build directory/);
        assertMatch(
          again.stderr,
          new RegExp(`removed 1 stale build directory from ${buildDir}: ${stale[0]}\n`),
        );
        assertEquals(workspaces(buildDir), []);
      } finally {
        await Deno.remove(buildDir, { recursive: true });
      }
    }));
}

Deno.test("slave: a stale workspace holding a tree 20,000 directories deep is removed at start-up", async () => {
  // Deno's recursive remove overflowed its stack on it: the slave aborted at every start
  const buildDir = await Deno.makeTempDir({ prefix: "piw-slave-build-dir-" });
  try {
    const stale = `${buildDir}/build-deep`;
    await Deno.mkdir(`${stale}/build/home`, { recursive: true });
    const made = await run(PYTHON, [
      "-c",
      deepTreePython(JSON.stringify(`${stale}/build/home/deep`)),
    ]);
    assertEquals(made.code, 0, made.stderr);
    await using slave = await startSlave({
      master: nowhere(),
      label: "deep",
      args: ["--build-dir", buildDir],
    });
    await slave.waitForLog(/removed 1 stale build directory/);
    assertEquals(workspaces(buildDir), []);
  } finally {
    await removeTree(buildDir);
  }
});

Deno.test("slave: a second slave on the same build directory is refused", async () => {
  const buildDir = await Deno.makeTempDir({ prefix: "piw-slave-build-dir-" });
  try {
    await using first = await startSlave({
      master: nowhere(),
      label: "first",
      args: ["--build-dir", buildDir],
    });
    await first.waitForLog(/holding the build directory/);
    await using second = await startSlave({
      master: nowhere(),
      label: "second",
      args: ["--build-dir", buildDir],
    });
    const status = await reap(second.process, { graceMs: 60_000 });
    assertEquals(status.code, 1, second.stderr);
    const pid = first.process.pid;
    assertEquals(
      second.stderr,
      `piw-slave: error: another piw-slave (pid ${pid}) builds in ${buildDir}\n`,
    );
    // the first goes on, and its build directory is still its own (it may log that the master,
    // which is nowhere, refuses its connection: "os error 111" is no error of its own)
    assert(!/^piw-slave: error/m.test(first.stderr), first.stderr);
    assertEquals((await reap(first.process, { signal: "SIGTERM" })).code, 0, first.stderr);
  } finally {
    await Deno.remove(buildDir, { recursive: true });
  }
});
