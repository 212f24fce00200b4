/**
 * A slave's build and an import publish files of one version at once, and what the master
 * deletes of the other's is only what is no longer listed:
 * - the slave's build cannot be logged: it takes back only what is still its own. It used to
 *   delete the name outright, by then the imported file, which the database went on listing;
 * - the slave's build replaces an earlier build, whose other file an import has replaced on
 *   disk meanwhile: the earlier build's file goes, not the import's. Logging the slave's build
 *   used to delete the name, by then the imported file, which the import's build then listed.
 *
 * The interleaving is held in place by an advisory lock the test holds, which a trigger makes
 * the slave's build wait for when it is logged. Where the second import is logged before the
 * slave's build has its file removed, the File Juggler keeps the name for the later build: that
 * is driven on its own queue.
 */

import { assert, assertEquals, assertRejects } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, type Farm, startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { makeWheel, type TestWheel } from "../fixtures/wheel.ts";
import { connect } from "../../shared/db/driver.ts";
import { Duration } from "../../shared/duration.ts";
import {
  decodeMessage,
  encodeNamedMessage,
  fileJugglerFs,
  mrChase,
  reverse,
} from "../../shared/protocols.ts";
import { Request } from "../../shared/zmq/mod.ts";
import { sha256File } from "../../shared/hash.ts";
import { TEMP_PREFIX } from "../../master/incoming_file.ts";
import { RpcClient } from "../../master/rpc.ts";

const LOCK = 4242;
const tool = reverse(mrChase);

/** piw-import of `wheels` of raced 1.0 for cp311 (sent as slave 0); the final reply. */
async function importWheels(farm: Farm, wheels: TestWheel[]) {
  const req = new Request({ receiveTimeout: 30_000, linger: 0 });
  req.connect(farm.master.importQueue);
  try {
    const ask = async (msg: string, data?: unknown) => {
      await req.send(encodeNamedMessage(tool, msg, data));
      return decodeMessage(tool, (await req.receive())[0]!);
    };
    const files = wheels.map((w) => [w.filename, w.bytes.length, w.sha256, ...w.tags, {}]);
    let reply = await ask("IMPORT", ["cp311", "raced", "1.0", true, Duration.ZERO, "", files]);
    await using sender = new TestSlave(farm.master.slaveQueue, farm.master.fileQueue);
    sender.slaveId = 0;
    while (reply.msg === "SEND") {
      await sender.transfer(wheels.find((w) => w.filename === reply.data)!.bytes);
      reply = await ask("SENT");
    }
    return reply;
  } finally {
    await req.close();
  }
}

/**
 * Has the builds of `slave` wait, when they are logged, for the advisory lock the test holds,
 * and then fail if `fail`.
 */
async function holdBuildsOf(farm: Farm, slave: TestSlave, fail: boolean) {
  await queryDb(
    farm.db.superDsn,
    `CREATE FUNCTION hold_first() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.built_by = ${slave.slaveId} THEN
         PERFORM pg_advisory_xact_lock(${LOCK});
         ${fail ? "RAISE EXCEPTION 'the first build cannot be logged';" : ""}
       END IF;
       RETURN NEW;
     END $$`,
  );
  await queryDb(
    farm.db.superDsn,
    "CREATE TRIGGER hold_first BEFORE INSERT ON builds FOR EACH ROW EXECUTE FUNCTION hold_first()",
  );
}

/** Until the slave's build waits for the lock, when it is logged. */
async function waitingForLock(farm: Farm) {
  await eventually("the slave's build waits to be logged", async () => {
    const held = await queryDb<{ n: number }>(
      farm.db.superDsn,
      "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
    );
    return held[0]!.n === 1;
  });
}

/** Each published file of raced 1.0 the database lists, with its SHA-256 and that on disk. */
async function listedAndOnDisk(farm: Farm) {
  const listed = await queryDb<{ filename: string; filehash: string }>(
    farm.db.superDsn,
    "SELECT filename, filehash FROM files ORDER BY filename",
  );
  const out: string[] = [];
  for (const { filename, filehash } of listed) {
    const path = `${farm.master.output}/simple/raced/${filename}`;
    const onDisk = await sha256File(path).catch((e) => `${e.name}`);
    const metadata = await Deno.stat(`${path}.metadata`).then(() => "", (e) => ` ${e.name}`);
    out.push(`${filename} ${filehash === onDisk ? "as listed" : onDisk}${metadata}`);
  }
  return out;
}

Deno.test("master: a build that cannot be logged takes back only what is still its own", async () => {
  await using farm = await startFarm();
  const { pypi, master, db } = farm;
  await pypi.release("raced", "1.0");
  await using x = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "first");
  assertEquals((await x.hello()).msg, "ACK");
  assertEquals(await x.request("IDLE"), { msg: "BUILD", data: ["raced", "1.0"] });
  const importWheel = (w: TestWheel) => importWheels(farm, [w]);
  // the first slave's build waits, when it is logged, for the lock the test holds, then fails
  await holdBuildsOf(farm, x, true);
  const mine = makeWheel("raced", "1.0", { padding: 100 }); // raced-1.0-py3-none-any.whl
  const theirs = makeWheel("raced", "1.0", { padding: 200 });
  assertEquals(mine.filename, theirs.filename);
  const lock = await connect(db.superDsn, { applicationName: "piwheels tests: the lock" });
  try {
    await lock.query(`SELECT pg_advisory_lock(${LOCK})`);
    const placed = `${master.output}/simple/raced/${mine.filename}`;
    const first = x.deliver([mine]);
    // its file is in place, and its logging waits for the lock
    await waitingForLock(farm);
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

Deno.test("master: logging a build removes a replaced build's file, not one placed since", async () => {
  await using farm = await startFarm();
  const { pypi, master, db } = farm;
  await pypi.release("raced", "1.0");
  await using x = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "rebuilder");
  assertEquals((await x.hello()).msg, "ACK");
  assertEquals(await x.request("IDLE"), { msg: "BUILD", data: ["raced", "1.0"] });
  // meanwhile an import publishes two wheels of the version
  const any = makeWheel("raced", "1.0", { padding: 100 }); // raced-1.0-py3-none-any.whl
  const cp311 = { py: "cp311", abi: "cp311", platform: "linux_x86_64" };
  const specific = makeWheel("raced", "1.0", { ...cp311, padding: 100 });
  assertEquals(await importWheels(farm, [any, specific]), { msg: "DONE" });
  await holdBuildsOf(farm, x, false);
  const lock = await connect(db.superDsn, { applicationName: "piwheels tests: the lock" });
  const rebuilt = makeWheel("raced", "1.0", { padding: 300 });
  const reimported = makeWheel("raced", "1.0", { ...cp311, padding: 400 });
  try {
    await lock.query(`SELECT pg_advisory_lock(${LOCK})`);
    // the slave's build of the any wheel replaces it on disk, and is logged: it replaces the
    // import's build in the database, and waits for the lock
    const slaveBuild = x.deliver([rebuilt]);
    await waitingForLock(farm);
    const path = `${master.output}/simple/raced/${reimported.filename}`;
    assertEquals(
      await sha256File(`${master.output}/simple/raced/${rebuilt.filename}`),
      rebuilt.sha256,
    );
    // a second import replaces the specific wheel on disk, and waits to be logged for the
    // slave's build, which holds the first import's build
    const importing = importWheels(farm, [reimported]);
    await eventually(
      "the import's file is in place",
      async () => await sha256File(path).catch(() => "") === reimported.sha256,
    );
    await lock.query(`SELECT pg_advisory_unlock(${LOCK})`);
    // the slave's build is logged, and no longer lists the specific wheel: what goes is the
    // first import's file, which the second one replaced; then the second import is logged
    assertEquals(await slaveBuild, { msg: "DONE" });
    assertEquals(await importing, { msg: "DONE" });
    // whichever came first: the slave's REMOVE, or the import's logging
    await master.waitForLog(
      /removed what a build not logged yet replaced at \S+cp311\S+|kept \S+cp311\S+: build \d+ placed it since/,
    );
  } finally {
    await lock.close();
  }
  assertEquals(await listedAndOnDisk(farm), [
    `${reimported.filename} as listed`,
    `${rebuilt.filename} as listed`,
  ]);
  // nothing is left of what was replaced (kept beside the transfers' temporary files)
  const left = [];
  for await (const e of Deno.readDir(`${master.output}/simple/raced`)) left.push(e.name);
  assertEquals(left.filter((name) => !name.startsWith("index.")).sort(), [
    reimported.filename,
    `${reimported.filename}.metadata`,
    rebuilt.filename,
    `${rebuilt.filename}.metadata`,
  ]);
  for await (const e of Deno.readDir(`${master.output}/simple`)) {
    assert(!e.name.startsWith(TEMP_PREFIX), `${e.name} is left`);
  }
  await master.waitForFile("simple/raced/index.html", reimported.sha256);
});

Deno.test("master: a late REMOVE keeps what a build logged after it placed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-remove-test-" });
  await using _ = { [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
  const fsQueue = `ipc://${dir}/fs`;
  await using farm = await startFarm({ args: ["--fs-queue", fsQueue] });
  const { pypi, master, db } = farm;
  await pypi.release("raced", "1.0");
  await using x = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "rebuilder");
  assertEquals((await x.hello()).msg, "ACK");
  assertEquals(await x.request("IDLE"), { msg: "BUILD", data: ["raced", "1.0"] });
  const cp311 = { py: "cp311", abi: "cp311", platform: "linux_x86_64" };
  assertEquals(await importWheels(farm, [makeWheel("raced", "1.0", cp311)]), { msg: "DONE" });
  // the slave's build replaces the imported file, and is logged
  const rebuilt = makeWheel("raced", "1.0", { ...cp311, padding: 300 });
  assertEquals(await x.deliver([rebuilt]), { msg: "DONE" });
  const [row] = await queryDb<{ id: number }>(
    db.superDsn,
    "SELECT build_id::int AS id FROM builds WHERE built_by = $1",
    [x.slaveId],
  );
  const id = row!.id;
  const path = `${master.output}/simple/raced/${rebuilt.filename}`;
  const fs = new RpcClient(fsQueue, fileJugglerFs);
  try {
    // the logging of an earlier build stopped listing the name: it stays
    assertEquals(await fs.call("REMOVE", ["raced", rebuilt.filename, id - 1]), {
      msg: "OK",
      data: null,
    });
    assertEquals(await sha256File(path), rebuilt.sha256);
    await Deno.stat(`${path}.metadata`);
    await master.waitForLog(
      new RegExp(`kept \\S+${rebuilt.filename}: build ${id} placed it since`),
    );
    // the version's builds were deleted (as a later build's logging would): it goes
    assertEquals(await fs.call("REMOVE", ["raced", rebuilt.filename, null]), {
      msg: "OK",
      data: null,
    });
    for (const p of [path, `${path}.metadata`]) {
      await assertRejects(() => Deno.stat(p), Deno.errors.NotFound);
    }
  } finally {
    await fs.close();
  }
});
