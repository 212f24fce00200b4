/**
 * piw-master with little room left under its output path (`--min-free`): no build is handed out
 * while the file system has less than that free, and a build whose files would leave less is put
 * off (the slave is answered DONE, nothing is logged, and the version stays pending), where the
 * disk filling up used to fail each transfer until the slave was told DIE, and deployed slaves
 * exit on DIE, so a full disk stopped every slave in turn.
 */

import { statfs } from "node:fs/promises";
import { assertEquals } from "../assert.ts";
import { queryDb } from "../db.ts";
import { startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { Duration } from "../../shared/duration.ts";

const MIB = 1024 * 1024;

/** MiB free under the temporary directory, where the farm's output goes. */
async function freeMiB(): Promise<number> {
  const s = await statfs(Deno.env.get("TMPDIR") ?? "/tmp");
  return Math.floor((s.bavail * s.bsize) / MIB);
}

Deno.test("master: under --min-free, no build is handed out", async () => {
  await using farm = await startFarm({ args: ["--min-free", String(await freeMiB() + 1024)] });
  const { pypi, master } = farm;
  await master.waitForLog(/no build is handed out until there is more/);
  await pypi.release("waits", "1.0");
  await master.waitForFile("project/waits/index.html", "1.0");
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  assertEquals((await slave.hello()).msg, "ACK");
  assertEquals(await slave.request("IDLE"), { msg: "SLEEP" });
});

Deno.test("master: a build whose files would leave under --min-free is put off", async () => {
  // 1 GiB above the limit: room for a small wheel, not for 1.5 GiB
  await using farm = await startFarm({ args: ["--min-free", String(await freeMiB() - 1024)] });
  const { pypi, master, db } = farm;
  await master.waitForLog(/ free under .* \(--min-free [0-9.]+ [KMGT]iB\)/);
  await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311");
  assertEquals((await slave.hello()).msg, "ACK");
  await pypi.release("huge", "1.0");
  assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["huge", "1.0"] });
  // never sent: its size is all the master goes by
  const huge = makeWheel("huge", "1.0");
  const claimed = [huge.filename, 1536 * MIB, huge.sha256, ...huge.tags, {}];
  assertEquals(await slave.request("BUILT", [true, Duration.ZERO, "", [claimed]]), {
    msg: "DONE",
  });
  await master.waitForLog(/put off its build of huge 1\.0: its 1\.5 GiB of files would leave/);
  // nothing logged: the version is still to be built
  const builds = await queryDb(db.superDsn, "SELECT 1 FROM builds WHERE package = 'huge'");
  assertEquals(builds.length, 0);
  // a small wheel goes as ever
  await pypi.release("small", "1.0");
  let reply = await slave.request("IDLE");
  while (reply.msg === "SLEEP") reply = await slave.request("IDLE");
  assertEquals(reply, { msg: "BUILD", data: ["small", "1.0"] });
  const small = makeWheel("small", "1.0");
  assertEquals(await slave.deliver([small]), { msg: "DONE" });
  await master.waitForFile("simple/small/index.html", small.sha256);
});
