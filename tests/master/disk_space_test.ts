/**
 * piw-master with little room left under its output path (`--min-free`): no build is handed out
 * while the file system has less than that free, and a build whose files would leave less is put
 * off (the slave is answered DONE, nothing is logged, and the version stays pending), where the
 * disk filling up used to fail each transfer until the slave was told DIE, and deployed slaves
 * exit on DIE, so a full disk stopped every slave in turn. An import that would leave less is
 * refused with why (piw-import alone looked at no limit at all).
 */

import { statfs } from "node:fs/promises";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { queryDb } from "../db.ts";
import { startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { Duration } from "../../shared/duration.ts";
import type { FileMessage } from "../../shared/protocols.ts";
import { ImportQueue } from "../../tools/import_queue.ts";

const MIB = 1024 * 1024;

/** MiB free under the temporary directory, where the farm's output goes. */
async function freeMiB(): Promise<number> {
  const s = await statfs(Deno.env.get("TMPDIR") ?? "/tmp");
  return Math.floor((s.bavail * s.bsize) / MIB);
}

/** IMPORT of imported 2.0 (cp311), a successful build of these files, on `queue`. */
function importing(queue: ImportQueue, files: FileMessage[]) {
  return queue.request("IMPORT", ["cp311", "imported", "2.0", true, Duration.ZERO, "", files]);
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

Deno.test("master: an import whose files would leave under --min-free is refused", async () => {
  // only the Slave Driver looked at --min-free: piw-import could declare (and send) 1000 files
  // of 2 GiB on a full disk
  await using farm = await startFarm({ args: ["--min-free", String(await freeMiB() - 1024)] });
  const { pypi, master } = farm;
  pypi.binaryRelease("imported", "2.0");
  await master.waitForFile("project/imported/index.html", "skipped: binary only");
  await using queue = new ImportQueue(master.importQueue);
  const wheel = (platform: string) =>
    makeWheel("imported", "2.0", { py: "cp311", abi: "cp311", platform });
  const declare = (w: TestWheel, size: number) =>
    [w.filename, size, w.sha256, ...w.tags, {}] as FileMessage;
  const huge = wheel("linux_armv7l");
  const reply = await importing(queue, [
    declare(huge, 1024 * MIB),
    declare(wheel("linux_aarch64"), 512 * MIB),
  ]);
  assertEquals(reply.msg, "ERROR");
  assertStringIncludes(String(reply.data), "its 1.5 GiB of files would leave under --min-free");
  await master.waitForLog(/refused an import: its 1\.5 GiB of files would leave/);
  // a small one goes as ever
  const small = wheel("linux_armv7l");
  assertEquals(
    await importing(queue, [declare(small, small.bytes.length)]),
    { msg: "SEND", data: small.filename },
  );
});

Deno.test("master: builds being received count against --min-free together", async () => {
  // each build was checked against the free space alone: two slaves' builds and an import of
  // 1.5 GiB each passed together with 2 GiB above --min-free, where only one of them fits
  await using farm = await startFarm({ args: ["--min-free", String(await freeMiB() - 2048)] });
  const { pypi, master } = farm;
  await master.waitForLog(/ free under .* \(--min-free [0-9.]+ [KMGT]iB\)/);
  pypi.binaryRelease("imported", "2.0");
  await pypi.release("first", "1.0");
  await pypi.release("second", "1.0");
  await master.waitForFile("project/second/index.html", "1.0");
  await master.waitForFile("project/imported/index.html", "skipped: binary only");
  /** A wheel of `pkg` 1.0 said to be 1.5 GiB (never sent: its size is all that counts). */
  const claim = (w: TestWheel) => [w.filename, 1536 * MIB, w.sha256, ...w.tags, {}];
  const builds = new Map<string, TestSlave>();
  try {
    for (const label of ["a", "b"]) {
      const slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", label);
      assertEquals((await slave.hello()).msg, "ACK");
      let reply = await slave.request("IDLE");
      while (reply.msg === "SLEEP") reply = await slave.request("IDLE");
      assertEquals(reply.msg, "BUILD");
      builds.set((reply.data as [string, string])[0], slave);
    }
    const first = builds.get("first")!;
    const second = builds.get("second")!;
    const built = (pkg: string) => [true, Duration.ZERO, "", [claim(makeWheel(pkg, "1.0"))]];
    const firstWheel = makeWheel("first", "1.0");
    assertEquals(await first.request("BUILT", built("first")), {
      msg: "SEND",
      data: firstWheel.filename,
    });
    // the first's 1.5 GiB are on their way: the second's do not fit with them
    assertEquals(await second.request("BUILT", built("second")), { msg: "DONE" });
    await master.waitForLog(
      /put off its build of second 1\.0: its 1\.5 GiB of files would leave under --min-free .*, 1\.5 GiB of it for builds being received\)/,
    );
    // nor does an import's
    await using queue = new ImportQueue(master.importQueue);
    const imported = makeWheel("imported", "2.0", {
      py: "cp311",
      abi: "cp311",
      platform: "linux_armv7l",
    });
    const importClaimed = () => importing(queue, [claim(imported) as FileMessage]);
    const refused = await importClaimed();
    assertEquals(refused.msg, "ERROR");
    assertStringIncludes(String(refused.data), "1.5 GiB of it for builds being received");
    // the first's transfer given up (its slave gone), its room is free again
    await first.close();
    builds.delete("first");
    await master.waitForLog(new RegExp(`slave ${first.slaveId} \\(${first.label}\\) went away`));
    assertEquals(await importClaimed(), {
      msg: "SEND",
      data: imported.filename,
    });
  } finally {
    for (const slave of builds.values()) await slave.close();
  }
});
