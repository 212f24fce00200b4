/**
 * A real piw-slave survives its master restarting: while it waits for work (it starts again
 * with HELLO once the master has been silent for its master timeout) and in the middle of a
 * build (the new master does not know it, so its BUILT goes unanswered; it starts again, is
 * given the same build, and finishes it).
 */

import { assertEquals } from "../assert.ts";
import { piwheelsDatabase, startMaster, startSlave } from "../farm.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";

const SLOW_BUT_FINE = `import time
from setuptools import setup
time.sleep(6)
setup(name="restart-slow", version="1.0", py_modules=["restart_slow"])
`;

Deno.test("slave: survives a master restart while idle and while building", async (t) => {
  await using pypi = new FakePyPI();
  await using db = await piwheelsDatabase();
  const setup = { pypiXmlrpc: pypi.xmlrpcUrl, pypiSimple: pypi.simpleUrl, dsn: db.userDsn };
  let master = await startMaster(setup);
  const queues = { slaveQueue: master.slaveQueue, fileQueue: master.fileQueue };
  await using slave = await startSlave({
    master,
    label: "survivor",
    masterTimeout: "3s",
    args: ["--sandbox", "bwrap"],
  });
  try {
    await slave.waitForLog(/connected to the master as slave 1;/);

    await t.step("a restart while the slave waits for work", async () => {
      assertEquals((await master.stop()).code, 0);
      master = await startMaster({ ...setup, ...queues });
      await slave.waitForLog(/starting again/, 30_000);
      await pypi.release("restart-idle", "1.0");
      await master.waitForFile(
        "simple/restart-idle/index.html",
        "restart_idle-1.0-py3-none-any.whl",
        60_000,
      );
    });

    await t.step("a restart in the middle of a build", async () => {
      await pypi.release("restart-slow", "1.0", { setupPy: SLOW_BUT_FINE });
      await slave.waitForLog(/building restart-slow==1\.0 in /, 30_000);
      assertEquals((await master.stop()).code, 0);
      master = await startMaster({ ...setup, ...queues });
      await master.waitForFile(
        "simple/restart-slow/index.html",
        "restart_slow-1.0-py3-none-any.whl",
        90_000,
      );
      assertEquals(slave.stderr.match(/building restart-slow==1\.0 in /g)?.length, 2, slave.stderr);
    });
  } finally {
    await master.stop();
  }
});
