/**
 * Controlling piw-master as a monitor does (PUSH to its control queue): PAUSE makes slaves
 * SLEEP, RESUME lets them build, KILL tells one slave DIE, HELLO replays the slaves' states on
 * the status queue, QUIT stops the master cleanly.
 */

import { assertEquals } from "../assert.ts";
import { decodeMessage, monitorStats, reverse } from "../../shared/protocols.ts";
import { Subscriber } from "../../shared/zmq/mod.ts";
import { startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";

Deno.test("master: PAUSE, RESUME, KILL, HELLO and QUIT from the control queue", async (t) => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await using a = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "slave-a");
  await using b = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "slave-b");
  await a.hello();
  await b.hello();
  const status = new Subscriber({ receiveTimeout: 10_000 });
  status.subscribe();
  status.connect(master.statusQueue);

  await t.step("PAUSE: a slave asking for work is told to SLEEP, work or not", async () => {
    await master.control("PAUSE");
    await master.waitForLog(/slave_driver: paused/);
    await pypi.release("paused-pkg", "1.0");
    await new Promise((r) => setTimeout(r, 3000)); // Cloud Gazer does not poll while paused
    assertEquals(await a.request("IDLE"), { msg: "SLEEP" });
  });

  await t.step("RESUME: the release is found and handed out", async () => {
    await master.control("RESUME");
    await master.waitForLog(/slave_driver: resumed/);
    assertEquals(await a.request("IDLE"), { msg: "BUILD", data: ["paused-pkg", "1.0"] });
  });

  await t.step("HELLO: every slave's state is replayed to the monitors", async () => {
    await master.control("HELLO");
    const seen = new Map<number, string[]>();
    while (![a.slaveId, b.slaveId].every((id) => seen.get(id)?.includes("HELLO"))) {
      const [frame] = await status.receive();
      const m = decodeMessage(reverse(monitorStats), frame!);
      if (m.msg === "SLAVE") seen.set(m.data[0], [...seen.get(m.data[0]) ?? [], m.data[2]]);
    }
    assertEquals(seen.get(a.slaveId)?.includes("BUILD"), true, "a's replay says what it builds");
  });

  await t.step("a monitor that comes after the last one left sees the slaves' states", async () => {
    await status.close(); // nothing subscribes now: the states are not published
    // a peer subscribing and cancelling in a loop: the master tells its Slave Driver the latest
    // state, one message at a time, and carries on
    const flood = new Subscriber();
    flood.connect(master.statusQueue);
    for (let i = 0; i < 2000; i++) {
      flood.subscribe("x");
      flood.unsubscribe("x");
    }
    await flood.close();
    const late = new Subscriber({ receiveTimeout: 10_000 });
    late.subscribe();
    late.connect(master.statusQueue);
    const joined = new Set<number>();
    let seen: number | undefined;
    const receiving = (async () => {
      for (;;) {
        const m = decodeMessage(reverse(monitorStats), (await late.receive())[0]!);
        if (m.msg === "SLAVE" && m.data[2] === "HELLO") return seen = m.data[0];
      }
    })();
    // until its subscription has reached the master, a slave joining goes unseen
    const slaves: TestSlave[] = [];
    try {
      while (seen === undefined) {
        const c = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "slave-c");
        slaves.push(c);
        await Promise.race([c.hello().then(() => joined.add(c.slaveId)), receiving]);
      }
      await receiving;
      assertEquals(joined.has(seen!), true, `${seen} is one of the slaves that joined`);
    } finally {
      for (const c of slaves) await c[Symbol.asyncDispose]();
      await late.close();
    }
  });

  await t.step(
    "KILL: that slave is told DIE at its next request; the other carries on",
    async () => {
      await master.control("KILL", b.slaveId);
      await master.waitForLog(new RegExp(`slave ${b.slaveId} will be told DIE`));
      assertEquals(await b.request("IDLE"), { msg: "DIE" });
    },
  );

  await t.step("QUIT: the master stops cleanly", async () => {
    await master.control("QUIT");
    const s = await master.status();
    assertEquals(s.code, 0, master.stderr);
    await master.waitForLog(/piw-master: stopped$/m);
  });
});
