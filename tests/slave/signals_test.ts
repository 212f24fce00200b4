/**
 * SIGTERM and Ctrl+C (SIGINT) stop a real piw-slave in every state: connecting to a master it
 * cannot reach; and, held there by the Python master, waiting for a reply, sleeping after
 * SLEEP, building, transferring a wheel, each with the master up (it must see BYE) and with the
 * master gone. The slave must exit by itself with status 0 (the requirement is within 2 s: the
 * times measured are printed, not asserted, since the machine is shared).
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort, startFarm, startSlave } from "../farm.ts";
import { survivors, withMarker } from "../fixtures/builds.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { endlessSetup, type HeldState, holdSlave } from "../fixtures/held_slave.ts";
import { reap } from "../process.ts";

Deno.test("slave: Ctrl+C says BYE to the master and exits 0", async () => {
  await using farm = await startFarm();
  const { master } = farm;
  await using slave = await startSlave({ master, label: "interrupted" });
  await slave.waitForLog(/connected to the master as slave (\d+)/);
  const status = await reap(slave.process, { signal: "SIGINT" });
  assertEquals(status.code, 0, slave.stderr);
  assertStringIncludes(
    slave.stderr,
    "stopping: the build (if any) is killed and the master told BYE",
  );
  await master.waitForLog(/slave \d+ \(interrupted\) said goodbye/);
});

/** Sends SIGTERM and waits for the slave to exit by itself: its status and the time taken. */
async function terminate(process: Deno.ChildProcess): Promise<[Deno.CommandStatus, number]> {
  const sent = performance.now();
  // a slave still running after 30 s is killed, and its status (137) fails the test
  const status = await reap(process, { signal: "SIGTERM" });
  return [status, Math.round(performance.now() - sent)];
}

Deno.test("slave: SIGTERM stops it in every state, with BYE to a master that is there", async (t) => {
  const times: string[] = [];

  await t.step("connecting, the master unreachable", async () => {
    const slaveQueue = `tcp://127.0.0.1:${freePort()}`;
    const fileQueue = `tcp://127.0.0.1:${freePort()}`;
    await using slave = await startSlave({ master: { slaveQueue, fileQueue }, label: "lonely" });
    await slave.waitForLog(/cannot reach the master at/);
    const [status, ms] = await terminate(slave.process);
    assertEquals(status.code, 0, slave.stderr);
    assertStringIncludes(slave.stderr, "piw-slave: stopped");
    times.push(`connecting, master unreachable: ${ms} ms`);
  });

  const states: HeldState[] = ["waiting", "sleeping", "building", "transferring"];
  for (const state of states) {
    for (const master of ["up", "gone"] as const) {
      await t.step(`${state}, the master ${master}`, () =>
        withMarker(async (marker) => {
          await using pypi = new FakePyPI();
          await pypi.release("stop-tiny", "1.0");
          await pypi.release("stop-endless", "1.0", { setupPy: endlessSetup(marker) });
          await using held = await holdSlave({
            state,
            pypi,
            package: state === "building" ? "stop-endless" : "stop-tiny",
            label: `held-${state}`,
            marker,
          });
          const { slave } = held;
          let bye: Promise<unknown> | undefined;
          if (master === "up") {
            bye = held.master.call({ command: "bye" });
          } else {
            assertEquals(await held.master.call({ command: "vanish" }), { vanished: true });
            await slave.waitForLog(/connect failed/); // the slave has lost its master
          }
          const [status, ms] = await terminate(slave.process);
          assertEquals(status.code, 0, slave.stderr);
          assertStringIncludes(slave.stderr, "piw-slave: stopped");
          if (bye) assertEquals(await bye, { bye: true }, slave.stderr);
          if (state === "building") assertEquals(await survivors(marker), []);
          times.push(`${state}, master ${master}: ${ms} ms`);
        }));
    }
  }

  console.log(`SIGTERM to exit:\n  ${times.join("\n  ")}`);
});
