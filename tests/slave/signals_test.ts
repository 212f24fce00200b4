/**
 * Ctrl+C (SIGINT) stops a real piw-slave as SIGTERM does: the master is told BYE, and the slave
 * exits 0.
 */

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startFarm, startSlave } from "../farm.ts";
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
