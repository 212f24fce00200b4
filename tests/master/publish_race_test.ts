/**
 * A slave's build and an import publish the same wheel name for one version at once, and the
 * slave's build cannot be logged: what the master takes back of it is only what is still its
 * own. It used to delete the name outright, by then the imported file, which the database went
 * on listing. The interleaving is held in place by an advisory lock the test holds, which a
 * trigger makes the slave's build wait for when it is logged.
 */

import { assertEquals } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { connect } from "../../shared/db/driver.ts";
import { Duration } from "../../shared/duration.ts";
import { decodeMessage, encodeNamedMessage, mrChase, reverse } from "../../shared/protocols.ts";
import { Request } from "../../shared/zmq/mod.ts";
import { sha256File } from "../../shared/hash.ts";

const LOCK = 4242;
const tool = reverse(mrChase);

Deno.test("master: a build that cannot be logged takes back only what is still its own", async () => {
  await using farm = await startFarm();
  const { pypi, master, db } = farm;
  await pypi.release("raced", "1.0");
  await using x = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "first");
  assertEquals((await x.hello()).msg, "ACK");
  assertEquals(await x.request("IDLE"), { msg: "BUILD", data: ["raced", "1.0"] });
  /** piw-import of `w` for cp311 (sent as slave 0); the final reply. */
  const importWheel = async (w: TestWheel) => {
    const req = new Request({ receiveTimeout: 30_000, linger: 0 });
    req.connect(master.importQueue);
    try {
      const ask = async (msg: string, data?: unknown) => {
        await req.send(encodeNamedMessage(tool, msg, data));
        return decodeMessage(tool, (await req.receive())[0]!);
      };
      const files = [[w.filename, w.bytes.length, w.sha256, ...w.tags, {}]];
      let reply = await ask("IMPORT", ["cp311", "raced", "1.0", true, Duration.ZERO, "", files]);
      await using sender = new TestSlave(master.slaveQueue, master.fileQueue);
      sender.slaveId = 0;
      while (reply.msg === "SEND") {
        await sender.transfer(w.bytes);
        reply = await ask("SENT");
      }
      return reply;
    } finally {
      await req.close();
    }
  };
  // the first slave's build waits, when it is logged, for the lock the test holds, then fails
  await queryDb(
    db.superDsn,
    `CREATE FUNCTION hold_first() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.built_by = ${x.slaveId} THEN
         PERFORM pg_advisory_xact_lock(${LOCK});
         RAISE EXCEPTION 'the first build cannot be logged';
       END IF;
       RETURN NEW;
     END $$`,
  );
  await queryDb(
    db.superDsn,
    "CREATE TRIGGER hold_first BEFORE INSERT ON builds FOR EACH ROW EXECUTE FUNCTION hold_first()",
  );
  const mine = makeWheel("raced", "1.0", { padding: 100 }); // raced-1.0-py3-none-any.whl
  const theirs = makeWheel("raced", "1.0", { padding: 200 });
  assertEquals(mine.filename, theirs.filename);
  const lock = await connect(db.superDsn, { applicationName: "piwheels tests: the lock" });
  try {
    await lock.query(`SELECT pg_advisory_lock(${LOCK})`);
    const placed = `${master.output}/simple/raced/${mine.filename}`;
    const first = x.deliver([mine]);
    // its file is in place, and its logging waits for the lock
    await eventually("the first build's file is in place", async () => {
      const held = await queryDb<{ n: number }>(
        db.superDsn,
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
      );
      return held[0]!.n === 1;
    });
    assertEquals(await sha256File(placed), mine.sha256);
    // the import finds the name no build holds, replaces it, and is logged
    assertEquals(await importWheel(theirs), { msg: "DONE" });
    assertEquals(await sha256File(placed), theirs.sha256);
    await lock.query(`SELECT pg_advisory_unlock(${LOCK})`);
    assertEquals(await first, { msg: "DIE" });
    await master.waitForLog(/cannot check or log the build of raced 1\.0: .*cannot be logged/);
  } finally {
    await lock.close();
  }
  // what is listed is on disk, as listed
  const listed = await queryDb<{ filehash: string }>(
    db.superDsn,
    "SELECT filehash FROM files WHERE filename = $1",
    [theirs.filename],
  );
  assertEquals(listed, [{ filehash: theirs.sha256 }]);
  const path = `${master.output}/simple/raced/${theirs.filename}`;
  assertEquals(await sha256File(path), theirs.sha256);
  await Deno.stat(`${path}.metadata`);
  await master.waitForFile("simple/raced/index.html", theirs.sha256);
});
