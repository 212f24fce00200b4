/**
 * piw-master and a release whose build kills its slave (a setup.py that crashes the machine or
 * the slave, or makes it start again): each slave lost while building it used to put it back in
 * the queue for the next slave, for ever, so one such release took every slave of its ABI in
 * turn. The third loss logs it as failed, saying why, and the slaves build the rest. A slave
 * lost while it sends the wheels of a build it finished does not count: the transfer failed.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { type MasterReply, TestSlave } from "../fixtures/test_slave.ts";
import { MAX_LOST } from "../../master/tasks/slave_driver.ts";
import { Duration } from "../../shared/duration.ts";
import { encodeNamedMessage, reverse, slaveDriver } from "../../shared/protocols.ts";
import { makeWheel } from "../fixtures/wheel.ts";

Deno.test("master: a release whose slaves are lost three times is logged as failed", async () => {
  assertEquals(MAX_LOST, 3);
  await using farm = await startFarm();
  const { pypi, master } = farm;
  // first in the queue: the newer release, and by name when released in the same second
  await pypi.release("z-healthy", "1.0");
  await pypi.release("a-poison", "1.0");
  await master.waitForFile("project/a-poison/index.html", "1.0");
  await master.waitForFile("project/z-healthy/index.html", "1.0");
  const handedOut = async (s: TestSlave) => {
    let reply = await s.request("IDLE");
    while (reply.msg === "SLEEP") reply = await s.request("IDLE");
    return reply;
  };
  const poison: MasterReply = { msg: "BUILD", data: ["a-poison", "1.0"] };

  // lost once: the slave's connection closes while it builds
  const first = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "first");
  assertEquals((await first.hello()).msg, "ACK");
  assertEquals(await handedOut(first), poison);
  await first.close();
  await master.waitForLog(/slave \d+ \(first\) went away; a-poison 1\.0 goes back/);

  // twice: the next slave starts again (HELLO) while it builds; then its build is done, and
  // its connection closes while it sends the wheel: the transfer failed, not the build
  const second = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "second");
  assertEquals((await second.hello()).msg, "ACK");
  assertEquals(await handedOut(second), poison);
  assertEquals((await second.hello()).msg, "ACK");
  assertEquals(await handedOut(second), poison);
  const wheel = makeWheel("a-poison", "1.0");
  const files = [[wheel.filename, wheel.bytes.length, wheel.sha256, ...wheel.tags, {}]];
  assertEquals((await second.request("BUILT", [true, Duration.ZERO, "", files])).msg, "SEND");
  await second.close();
  await master.waitForLog(/slave \d+ \(second\) went away; a-poison 1\.0 goes back/);

  // three times: a slave says BYE while it builds (a deployed slave does on any exception); a
  // slave asking for work meanwhile is not given it while it is logged
  const third = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "third");
  await using fourth = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "fourth");
  assertEquals((await third.hello()).msg, "ACK");
  assertEquals((await fourth.hello()).msg, "ACK");
  assertEquals(await handedOut(third), poison);
  await third.req.send(encodeNamedMessage(reverse(slaveDriver), "BYE"));
  assertEquals(await handedOut(fourth), { msg: "BUILD", data: ["z-healthy", "1.0"] });
  await third.close();
  await master.waitForLog(
    /the slaves building a-poison 1\.0 for cp311 were lost 3 times \(the last, slave \d+ \(third\), said goodbye\): logged as failed/,
  );
  const logged = () =>
    queryDb<{ status: boolean; output: string }>(
      farm.db.superDsn,
      "SELECT b.status, o.output FROM builds b JOIN output o USING (build_id) " +
        "WHERE b.package = 'a-poison'",
    );
  await eventually("the failed build is logged", async () => (await logged()).length === 1);
  const [build] = await logged();
  assertEquals(build?.status, false);
  assertStringIncludes(build!.output, "were lost 3 times");
  await eventually(
    "the project page says it failed",
    async () =>
      (await Deno.readTextFile(`${master.output}/project/a-poison/index.html`)).includes("fail"),
  );

  // it is not handed out again
  assertEquals((await fourth.request("BUILT", [false, Duration.ZERO, "", []])).msg, "DONE");
  const again = await fourth.request("IDLE");
  assert(again.msg === "SLEEP", `after it: ${JSON.stringify(again)}`);
  assert(!master.stderr.includes("(fourth) went away"));
});
