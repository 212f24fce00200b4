/**
 * piw-master against a flood of HELLOs (`fixtures/hello_flood.py`, libzmq REQ sockets, each a
 * distinct identity asking for a 10,000-day timeout and never saying BYE): what slaves can make
 * the master keep is bounded. The slave queue keeps at most `MAX_CONNECTIONS.slaves`
 * connections, so at most as many slaves (the rest are closed and logged), yet a slave from
 * another host still joins, in place of the flood's oldest; a slave whose connection closes is
 * forgotten, a timeout is cut to a day, and after 40,000 HELLOs the master's memory comes back to
 * within 10% of what it was.
 */

import { assert, assertEquals } from "../assert.ts";
import { eventually, startFarm } from "../farm.ts";
import { LibzmqSlave } from "../fixtures/libzmq_slave.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { PythonPeer } from "../process.ts";
import { rawHandshake, readToEnd, writeAll } from "../zmq_support.ts";
import { MAX_CONNECTIONS, MAX_UNFINISHED_BYTES } from "../../shared/protocols.ts";

const MAX = MAX_CONNECTIONS.slaves;

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

  await t.step(
    "the queue keeps at most MAX_CONNECTIONS.slaves, and room for another host",
    async () => {
      const held = await flood(master.slaveQueue, MAX + 50, MAX + 50);
      assertEquals([held.acked, held.unanswered], [MAX, 50]);
      await master.waitForLog(new RegExp(`${MAX} connections are open: closing new ones`));
      // libzmq's source address: a slave on another host (127.0.0.2) still joins
      const port = master.slaveQueue.slice(master.slaveQueue.lastIndexOf(":") + 1);
      const elsewhere = await LibzmqSlave.start(`tcp://127.0.0.2:0;127.0.0.1:${port}`, "elsewhere");
      await master.waitForLog(/closing the oldest of those for one from 127\.0\.0\.2/);
      await held.close();
      await elsewhere.peer.close();
      // every slave that joined is forgotten (libzmq reconnects the 50 refused on its own, so a
      // few of them may join as the others go)
      const count = (pattern: RegExp) => master.stderr.match(pattern)?.length ?? 0;
      await eventually("the master forgot them", () => {
        const joined = count(/\) joined: /g);
        return Promise.resolve(joined >= MAX + 1 && count(/\) went away/g) === joined);
      });
      // once they are gone, a real slave joins
      await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "after");
      assertEquals((await slave.hello()).msg, "ACK");
    },
  );

  await t.step("40,000 HELLOs: memory comes back to within 10% of before", async () => {
    const warm = await flood(master.slaveQueue, 2_000, 0);
    await warm.close();
    const before = rssMiB(pid);
    const big = await flood(master.slaveQueue, 40_000, 0);
    await big.close();
    assertEquals(big.acked, 40_000);
    const peak = rssMiB(pid);
    // the Slave Driver forgot every one: the next slave id follows the 44,002 before it
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "last");
    assertEquals((await slave.hello()).msg, "ACK");
    assert(slave.slaveId > 44_000, `slave id ${slave.slaveId}`);
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

Deno.test("master: unfinished messages on the slave queue are bounded, not 64 MiB a connection", async () => {
  // 2,000 peers, each having sent all of a 63 MiB frame but its last byte, made it hold 125 GiB
  await using farm = await startFarm({ verbose: false });
  const { master } = farm;
  const MIB = 1024 * 1024;
  const held = Math.floor(MAX_UNFINISHED_BYTES / (63 * MIB)) + 1; // 5: one too many
  const ended = new Set<Deno.Conn>();
  const conns: Deno.Conn[] = [];
  const reading: Promise<unknown>[] = [];
  for (let i = 0; i < held; i++) {
    const conn = await rawHandshake(master.slaveQueue, "REQ");
    // REQ's empty delimiter, then a 63 MiB frame (a long header) of which 8 MiB is sent
    const header = new Uint8Array([0x01, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]);
    new DataView(header.buffer).setBigUint64(3, BigInt(63 * MIB));
    await writeAll(conn, header);
    await writeAll(conn, new Uint8Array(8 * MIB));
    conns.push(conn);
    reading.push(readToEnd(conn).then(() => ended.add(conn), () => {}));
  }
  await master.waitForLog(/unfinished messages would hold over 268435456 bytes/);
  await eventually("one connection closed", () => Promise.resolve(ended.size === 1));
  for (const c of conns) if (!ended.has(c)) c.close();
  await Promise.all(reading);
  // and a slave is served
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "after");
  assertEquals((await slave.hello()).msg, "ACK");
});
