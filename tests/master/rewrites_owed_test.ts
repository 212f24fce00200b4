/**
 * A master killed (SIGKILL) after logging a build and before writing its pages: the build is in
 * the database and its wheel on disk, but the version's pages did not list it, and nothing would
 * ever write them (the version counts as built). Logging the build owed the rewrite in the same
 * transaction (`rewrites_pending`), so the next start writes the pages, and the build's log if it
 * is missing, and the Scribe pays what it wrote. The Scribe is held before the pages by a lock on
 * a table their data reads (`downloads`), as a slow database would hold it.
 */

import { assert, assertEquals } from "../assert.ts";
import { lockTable, queryDb, waitsForLock } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { logPath } from "../../master/scribe/log_path.ts";

Deno.test("master: pages and a log a kill -9 left unwritten are written at the next start", async () => {
  await using farm = await startFarm();
  const { pypi, master, db } = farm;
  await pypi.release("owed", "1.0");
  await master.waitForFile("project/owed/index.html", "1.0");
  const wheel = makeWheel("owed", "1.0");

  // the Scribe cannot read the project's data: its pages wait
  let buildId: number;
  {
    await using _lock = await lockTable(db.superDsn, "downloads", "ACCESS EXCLUSIVE");
    await using slave = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "built");
    assertEquals((await slave.hello()).msg, "ACK");
    assertEquals(await slave.request("IDLE"), { msg: "BUILD", data: ["owed", "1.0"] });
    assertEquals(await slave.deliver([wheel]), { msg: "DONE" });
    await eventually(
      "the Scribe waits for owed's data",
      () => waitsForLock(db.superDsn, "get_project_data"),
    );
    master.process.kill("SIGKILL");
    await master.status();
    const [row] = await queryDb<{ id: number }>(
      db.superDsn,
      "SELECT build_id::int AS id FROM builds WHERE package = 'owed' AND status",
    );
    buildId = row!.id;
  }
  const simple = await Deno.readTextFile(`${master.output}/simple/owed/index.html`);
  assert(!simple.includes(wheel.sha256), "the kill came before the pages");
  // the LOG order is lost the same way when the Scribe's queue is long: as if it had been
  await Deno.remove(`${master.output}/${logPath(buildId)}`).catch(() => {});

  // the same database and output, as an operator restarting the service
  await using again = await farm.restart();
  await again.waitForLog(/page rewrite\(s\) owed: writing them/);
  // (its output is the first master's: `again.waitForFile` would look in its own)
  const shows = (path: string, text: string) => () =>
    Deno.readTextFile(`${master.output}/${path}`).then((page) => page.includes(text));
  await eventually(
    "the simple page lists the wheel",
    shows("simple/owed/index.html", wheel.sha256),
  );
  await eventually("the project page too", shows("project/owed/index.html", wheel.filename));
  await again.waitForLog(new RegExp(`wrote the missing log of build ${buildId} \\(owed\\)`));
  await Deno.stat(`${master.output}/${logPath(buildId)}`);
  await eventually("the rewrites owed are paid", async () => {
    const rows = await queryDb<{ n: number }>(
      db.superDsn,
      "SELECT count(*)::int AS n FROM rewrites_pending",
    );
    return rows[0]!.n === 0;
  });
});
