/**
 * The real piw-master with a monitor that is not ours: `tests/fixtures/python_monitor.py`, a
 * monitor written in Python from WIRE.md with Debian's python3-zmq (libzmq) and python3-cbor2,
 * as the Python piw-monitor is built. It decodes the master's status messages (durations,
 * timestamps, the no-data tag) and its PAUSE and RESUME control the master.
 */

import { assertEquals, assertMatch } from "../assert.ts";
import { startMaster } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { PythonPeer } from "../process.ts";

/** What the Python monitor answers to `until`. */
interface Seen {
  slave?: [number, string, string, unknown];
  stats?: Record<string, number>;
  error?: string;
}

Deno.test("master: a Python monitor reads its status and controls it through libzmq and cbor2", async () => {
  await using pypi = new FakePyPI();
  await using master = await startMaster({
    pypiXmlrpc: pypi.xmlrpcUrl,
    pypiSimple: pypi.simpleUrl,
  });
  const monitor = new PythonPeer("python_monitor.py", [master.statusQueue, master.controlQueue]);
  try {
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "py-watched");
    assertEquals((await slave.hello()).msg, "ACK");

    // HELLO replays the slave: HELLO with its HELLO data (a 3 h duration), and the STATS
    const acked = await monitor.call<Seen>({
      op: "until",
      label: "py-watched",
      message: "HELLO",
      timeout: 30_000,
    });
    assertEquals(acked.error, undefined);
    const [slaveId, when, , hello] = acked.slave!;
    assertEquals(slaveId, slave.slaveId);
    assertMatch(when, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/);
    assertEquals(hello, [3 * 3600, "311", "cp311", "linux_x86_64", "py-watched"]);
    for (const key of ["packages_built", "builds_count", "builds_time", "disk_free"]) {
      assertEquals(typeof acked.stats![key], "number", key);
    }

    // PAUSE from Python: a slave asking for work while a build waits is told SLEEP
    await pypi.release("watched-pkg", "1.0");
    assertEquals(await monitor.call({ op: "push", msg: "PAUSE" }), { ok: true });
    await master.waitForLog(/slave_driver: paused/);
    assertEquals((await slave.request("IDLE")).msg, "SLEEP");
    const slept = await monitor.call<Seen>({
      op: "until",
      label: "py-watched",
      message: "SLEEP",
      timeout: 30_000,
    });
    assertEquals(slept.slave![3], null, "SLEEP has no data: tag 2002");

    // RESUME from Python: the build goes out
    assertEquals(await monitor.call({ op: "push", msg: "RESUME" }), { ok: true });
    await master.waitForLog(/slave_driver: resumed/);
    assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["watched-pkg", "1.0"] });
    const build = await monitor.call<Seen>({
      op: "until",
      label: "py-watched",
      message: "BUILD",
      timeout: 30_000,
    });
    assertEquals(build.slave![3], ["watched-pkg", "1.0"]);
  } finally {
    await monitor.call({ op: "close" }).catch(() => {});
    await monitor.finish();
  }
});
