/**
 * Controlling piw-master as a monitor does (PUSH to its control queue): PAUSE makes slaves
 * SLEEP, RESUME lets them build, KILL tells one slave DIE, HELLO replays the slaves' states on
 * the status queue, QUIT stops the master cleanly. A monitor saying HELLO in a loop does not make
 * the master gather its statistics from the database once a HELLO.
 */

import { assert, assertEquals } from "../assert.ts";
import {
  decodeMessage,
  encodeMessage,
  masterControl,
  monitorStats,
  reverse,
} from "../../shared/protocols.ts";
import { Push, Subscriber } from "../../shared/zmq/mod.ts";
import { eventually, startFarm } from "../farm.ts";
import { metricValue, type ParsedMetrics, parseMetrics } from "../fixtures/metrics.ts";
import { HOME_MIN_MS } from "../../master/task.ts";
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
    "KILL: that slave is told DIE at its next request, and monitors that it left",
    async () => {
      const monitor = new Subscriber({ receiveTimeout: 30_000 });
      monitor.subscribe();
      monitor.connect(master.statusQueue);
      // HELLO replays the slaves' states, seen once the subscription has reached the master
      let subscribed = false;
      const replayed = (async () => {
        for (;;) {
          const m = decodeMessage(reverse(monitorStats), (await monitor.receive())[0]!);
          if (m.msg === "SLAVE" && m.data[0] === b.slaveId) return subscribed = true;
        }
      })();
      while (!subscribed) {
        await master.control("HELLO");
        await Promise.race([replayed, new Promise((r) => setTimeout(r, 200))]);
      }
      await master.control("KILL", b.slaveId);
      await master.waitForLog(new RegExp(`slave ${b.slaveId} will be told DIE`));
      assertEquals(await b.request("IDLE"), { msg: "DIE" });
      // monitors see it told DIE, then gone: it is forgotten, and its BYE would be ignored
      // (STATS come every 10 s, so a receive alone would never time out)
      const seen: string[] = [];
      const until = Date.now() + 30_000;
      while (seen.at(-1) !== "BYE" && Date.now() < until) {
        const m = decodeMessage(reverse(monitorStats), (await monitor.receive())[0]!);
        if (m.msg === "SLAVE" && m.data[0] === b.slaveId) seen.push(m.data[2]);
      }
      assertEquals(seen.slice(-2), ["DIE", "BYE"]);
      await monitor.close();
    },
  );

  await t.step("QUIT: the master stops cleanly", async () => {
    await master.control("QUIT");
    const s = await master.status();
    assertEquals(s.code, 0, master.stderr);
    await master.waitForLog(/piw-master: stopped$/m);
  });
});

Deno.test("master: HELLO in a loop gathers the statistics at most once per HOME_MIN_MS", async () => {
  await using farm = await startFarm({ metrics: true });
  const { master } = farm;
  const started = performance.now();
  const file = master.metricsFile!;
  const status = new Subscriber({ receiveTimeout: 30_000 });
  status.subscribe();
  status.connect(master.statusQueue);
  const HELLOS = 300;
  const push = new Push({ linger: 5000 });
  push.connect(master.controlQueue);
  for (let i = 0; i < HELLOS; i++) await push.send(encodeMessage(reverse(masterControl), "HELLO"));
  await push.close();
  let p: ParsedMetrics | undefined;
  await eventually("the metrics file counts every HELLO's request", async () => {
    p = await parseMetrics(file).catch(() => undefined);
    return p !== undefined && metricValue(p, "piwheels_statistics_requests_total") === HELLOS;
  }, 120_000);
  const seconds = (performance.now() - started) / 1000;
  const gathered = metricValue(p!, "piwheels_statistics_gathered_total")!;
  // at start, every 10 s (development mode), and on request at most once per HOME_MIN_MS, with
  // one more for the requests that came in between: before, once a HELLO
  const bound = 2 + seconds / 10 + 2 * (seconds / (HOME_MIN_MS / 1000) + 1);
  assert(gathered >= 1 && gathered <= bound, `${gathered} gatherings in ${seconds} s`);
  // and the monitor still gets the statistics
  for (;;) {
    const m = decodeMessage(reverse(monitorStats), (await status.receive())[0]!);
    if (m.msg === "STATS") break;
  }
  await status.close();
});
