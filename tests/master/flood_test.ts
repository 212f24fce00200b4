/**
 * piw-master against a flood of HELLOs (`fixtures/hello_flood.py`, libzmq REQ sockets, each a
 * distinct identity asking for a 10,000-day timeout and never saying BYE): what slaves can make
 * the master keep is bounded. Slaves known at once are capped ({@linkcode MAX_SLAVES}: the rest
 * are dropped and logged), a slave whose connection closes is forgotten, a timeout is cut to a
 * day, and after 40,000 HELLOs the master's memory comes back to within 10% of what it was.
 */

import { assert, assertEquals } from "../assert.ts";
import { eventually, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { PythonPeer } from "../process.ts";
import { MAX_SLAVES } from "../../master/tasks/slave_driver.ts";

/** The resident memory of a process, in MiB. */
function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** Floods the slave queue; resolves to what the flood saw, and a way to close what it kept. */
async function flood(endpoint: string, count: number, keep: number) {
  const peer = new PythonPeer("hello_flood.py", [endpoint, String(count), String(keep)]);
  const seen = await peer.line<{ acked: number; unanswered: number }>();
  return { ...seen, close: () => peer.finish() };
}

Deno.test("master: a HELLO flood is bounded and leaves no memory behind", async (t) => {
  await using farm = await startFarm({ verbose: false });
  const { master } = farm;
  const pid = master.process.pid;

  await t.step("at most MAX_SLAVES are known at once; the rest are dropped, logged", async () => {
    const held = await flood(master.slaveQueue, MAX_SLAVES + 50, MAX_SLAVES + 50);
    assertEquals([held.acked, held.unanswered], [MAX_SLAVES, 50]);
    await master.waitForLog(/1000 slaves are known already: dropped \d+ HELLO\(s\)/);
    await held.close();
    await eventually(
      "the master forgot them",
      () => Promise.resolve(master.stderr.match(/went away/g)?.length === MAX_SLAVES),
    );
    // once they are gone, a real slave joins
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "after");
    assertEquals((await slave.hello()).msg, "ACK");
  });

  await t.step("40,000 HELLOs: memory comes back to within 10% of before", async () => {
    const warm = await flood(master.slaveQueue, 2_000, 0);
    await warm.close();
    const before = rssMiB(pid);
    const big = await flood(master.slaveQueue, 40_000, 0);
    await big.close();
    assertEquals(big.acked, 40_000);
    const peak = rssMiB(pid);
    // the Slave Driver forgot every one: the next slave id follows the 43,050 before it
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "last");
    assertEquals((await slave.hello()).msg, "ACK");
    assert(slave.slaveId > 43_000, `slave id ${slave.slaveId}`);
    // the memory comes back as the isolates collect their garbage
    let after = rssMiB(pid);
    for (let i = 0; i < 120 && after > before * 1.1; i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = rssMiB(pid);
    }
    console.log(
      `master RSS: ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB after the flood, ` +
        `${after.toFixed(0)} MiB once settled`,
    );
    assert(after <= before * 1.1, `RSS ${after} MiB after, ${before} MiB before`);
  });
});
