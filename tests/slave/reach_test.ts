/**
 * A master piw-slave cannot reach is reported at the default log level (no `-v`), and so is
 * reaching it when it comes up: the operator of a slave that builds nothing sees why.
 */

import { assertEquals, assertMatch } from "../assert.ts";
import { freePort, startSlave } from "../farm.ts";
import { PythonPeer, reap } from "../process.ts";

Deno.test("slave: an unreachable master is reported without -v, and reaching it later", async () => {
  const slaveQueue = `tcp://127.0.0.1:${freePort()}`;
  const fileQueue = `tcp://127.0.0.1:${freePort()}`;
  await using slave = await startSlave({
    master: { slaveQueue, fileQueue },
    label: "patient",
    verbose: false,
  });
  await slave.waitForLog(/cannot reach the master/);
  assertMatch(
    slave.stderr,
    new RegExp(
      `^piw-slave: warning: cannot reach the master at ${slaveQueue} \\(for \\d+s\\); still trying\n$`,
    ),
  );
  // the master comes up: the slave says so, says HELLO, and waits for work
  const master = new PythonPeer("python_master.py", [
    slaveQueue,
    fileQueue,
    "https://pypi.org/simple/",
    "unused",
    "1.0",
    "/dev/null",
    "patient",
    "hold-waiting",
  ]);
  try {
    assertEquals(await master.line(), { ready: true });
    assertEquals(await master.line(), { state: "waiting" });
    await slave.waitForLog(/connected to the master as slave 7/);
    assertMatch(slave.stderr, new RegExp(`\npiw-slave: reached the master at ${slaveQueue}\n`));
    const bye = master.call({ command: "bye" });
    assertEquals((await reap(slave.process, { signal: "SIGTERM" })).code, 0, slave.stderr);
    assertEquals(await bye, { bye: true });
  } finally {
    await master.finish(true);
  }
});
