/**
 * piw-master and a release whose build kills its slave (a setup.py that crashes the machine or
 * the slave, or makes it start again): each slave lost while building it used to put it back in
 * the queue for the next slave, for ever, so one such release took every slave of its ABI in
 * turn. The third loss logs it as failed, saying why, and the slaves build the rest.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { MAX_LOST } from "../../master/tasks/slave_driver.ts";

Deno.test("master: a release whose slaves are lost three times is logged as failed", async () => {
  assertEquals(MAX_LOST, 3);
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("poison", "1.0");
  await master.waitForFile("project/poison/index.html", "1.0");
  const handedOut = async (s: TestSlave) => {
    let reply = await s.request("IDLE");
    while (reply.msg === "SLEEP") reply = await s.request("IDLE");
    return reply;
  };

  // lost once: the slave's connection closes while it builds
  const first = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "first");
  assertEquals((await first.hello()).msg, "ACK");
  assertEquals(await handedOut(first), { msg: "BUILD", data: ["poison", "1.0"] });
  await first.close();
  await master.waitForLog(/slave \d+ \(first\) went away; poison 1\.0 goes back/);

  // twice: the next slave starts again (HELLO) while it builds; three times: it goes away
  const second = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "second");
  assertEquals((await second.hello()).msg, "ACK");
  assertEquals(await handedOut(second), { msg: "BUILD", data: ["poison", "1.0"] });
  assertEquals((await second.hello()).msg, "ACK");
  assertEquals(await handedOut(second), { msg: "BUILD", data: ["poison", "1.0"] });
  await second.close();
  await master.waitForLog(
    /the slaves building poison 1\.0 for cp311 were lost 3 times \(the last, slave \d+ \(second\), went away\): logged as failed/,
  );
  const logged = () =>
    queryDb<{ status: boolean; output: string }>(
      farm.db.superDsn,
      "SELECT b.status, o.output FROM builds b JOIN output o USING (build_id) " +
        "WHERE b.package = 'poison'",
    );
  await eventually("the failed build is logged", async () => (await logged()).length === 1);
  const [build] = await logged();
  assertEquals(build?.status, false);
  assertStringIncludes(build!.output, "were lost 3 times");

  // it is not handed out again; the rest is built
  await pypi.release("healthy", "1.0");
  await using third = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "third");
  assertEquals((await third.hello()).msg, "ACK");
  assertEquals(await handedOut(third), { msg: "BUILD", data: ["healthy", "1.0"] });
  await eventually(
    "the project page says it failed",
    async () =>
      (await Deno.readTextFile(`${master.output}/project/poison/index.html`)).includes("fail"),
  );
  assert(!master.stderr.includes("(third) went away"));
});
