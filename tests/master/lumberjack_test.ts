/**
 * The Lumberjack against bad web-log records on the log queue: a record whose free text
 * PostgreSQL could not keep (a NUL, or more than its column holds, as a deployed logger sends
 * what the client said) is kept cut and with U+FFFD; a record the database refuses anyway is
 * dropped alone: every valid record that came with it is stored; and a database that cannot take
 * records for a while loses none. A message larger than any
 * record is not taken, and what an error quotes of a peer's message is cut short.
 */

import { assert, assertEquals } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, type Farm, startFarm } from "../farm.ts";
import { IN_FLIGHT, QUIT_MS } from "../../master/tasks/lumberjack.ts";
import { encode } from "../../shared/cbor.ts";
import { connect } from "../../shared/db/driver.ts";
import { MAX_LOG_BATCH } from "../../shared/protocols.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { isZmqError, Push } from "../../shared/zmq/mod.ts";

Deno.test("lumberjack: a bad record is dropped alone, never with its batch", async (t) => {
  await using farm = await startFarm({ abis: [] });
  const { master, db } = farm;
  const push = new Push({ linger: 5000 });
  push.connect(master.logQueue);
  const hits = async (agent: string) =>
    (await queryDb<{ n: number }>(
      db.superDsn,
      "SELECT count(*)::int AS n FROM web_hits WHERE user_agent LIKE $1",
      [`${agent}%`],
    ))[0]!.n;
  // as a hostile peer would send them: encoded without our validation
  const page = (agent: string) => encode(["LOGPAGE", ["faq", "192.0.2.1", Timestamp.now(), agent]]);

  try {
    await t.step("a NUL or an over-long User-Agent: kept, as PostgreSQL can hold it", async () => {
      for (let i = 0; i < 12; i++) {
        if (i === 6) await push.send(page("nul\u0000agent"));
        if (i === 7) await push.send(page(`long ${"x".repeat(5000)}`));
        await push.send(page(`nul-batch ${i}`));
      }
      await eventually(
        "the 14 records are stored",
        async () => await hits("nul-batch") === 12 && await hits("long") === 1,
      );
      assertEquals(await hits("nul\uFFFDagent"), 1);
      const [long] = await queryDb<{ n: number }>(
        db.superDsn,
        "SELECT length(user_agent) AS n FROM web_hits WHERE user_agent LIKE 'long%'",
      );
      assertEquals(long!.n, 4096);
    });

    await t.step("a message larger than any record: not taken", async () => {
      // an unknown message's name is quoted cut short
      await push.send(encode([`UNKNOWN${"y".repeat(50_000)}`, []]));
      await push.send(page("after-unknown"));
      await eventually("the next record is stored", async () => await hits("after-unknown") === 1);
      const [line] = await master.waitForLog(/lumberjack: warning: .*unknown message "UNKNOWN.*/);
      assert(line.length < 200, `${line.length} characters logged`);
      // the master drops the connection: what follows it may be lost, until it connects again
      await push.send(page(`huge ${"x".repeat(100_000)}`));
      let sent = 0;
      await eventually("a record sent after it is stored", async () => {
        await push.send(page(`after-huge ${sent++}`));
        return await hits("after-huge") > 0;
      });
      assertEquals(await hits("huge"), 0);
    });

    await t.step("a database that cannot take records for a while loses none", async () => {
      // each batch was split down to single records, each refused in turn and dropped
      await queryDb(db.superDsn, "CREATE TABLE hold (x int); INSERT INTO hold VALUES (1)");
      await queryDb(
        db.superDsn,
        `CREATE FUNCTION refuse_for_now() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
         BEGIN
           IF EXISTS (SELECT FROM hold) THEN
             RAISE EXCEPTION 'the database is starting up' USING ERRCODE = '57P03';
           END IF;
           RETURN NEW;
         END $$`,
      );
      await queryDb(
        db.superDsn,
        `CREATE TRIGGER refuse_for_now BEFORE INSERT ON web_hits
         FOR EACH ROW EXECUTE FUNCTION refuse_for_now()`,
      );
      for (let i = 0; i < 20; i++) await push.send(page(`held ${i}`));
      await master.waitForLog(/cannot record \d+ web log record\(s\), trying again: .*starting up/);
      await queryDb(db.superDsn, "DELETE FROM hold");
      await eventually("the 20 records are stored", async () => await hits("held") === 20);
      await master.waitForLog(/the database takes web log records again/);
      await queryDb(db.superDsn, "DROP TRIGGER refuse_for_now ON web_hits");
    });

    await t.step("a record the database refuses: dropped alone, its batch stored", async () => {
      await queryDb(
        db.superDsn,
        "ALTER TABLE web_hits ADD CONSTRAINT no_poison CHECK (user_agent NOT LIKE 'poison%')",
      );
      const frames = [];
      for (let i = 0; i < 200; i++) frames.push(page(i % 50 === 7 ? `poison ${i}` : `good ${i}`));
      for (const f of frames) await push.send(f);
      await eventually("the 196 good records are stored", async () => await hits("good") === 196);
      assertEquals(await hits("poison"), 0);
      await master.waitForLog(/dropped a web log record the database refuses/);
    });
  } finally {
    await push.close();
  }
});

/**
 * Sends records (`quit 0`, `quit 1`…) while the database takes none (web_hits is locked) until the
 * Lumberjack's socket pushes back: the Lumberjack then holds IN_FLIGHT batches of one record and
 * IN_FLIGHT * MAX_LOG_BATCH records waiting, its socket what its connection read before reading
 * paused (at the high-water mark, 1,000, resuming at half of it: more than 500), and the rest is
 * in the connection's buffers and ours. Then tells the master to QUIT, runs `meanwhile` once the
 * log queue is closed, lets the database go, and waits for the master to stop. Resolves to the
 * numbers of the records stored, in order.
 */
async function quitWhileHeld(farm: Farm, meanwhile: () => Promise<void>): Promise<number[]> {
  const { master, db } = farm;
  const page = (agent: string) => encode(["LOGPAGE", ["faq", "192.0.2.1", Timestamp.now(), agent]]);
  const lock = await connect(db.superDsn);
  const locked = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const holding = lock.transaction(async (tx) => {
    await tx.exec("LOCK TABLE web_hits IN EXCLUSIVE MODE");
    locked.resolve();
    await release.promise;
  });
  const push = new Push({ linger: 0 });
  try {
    await Promise.race([locked.promise, holding]);
    push.connect(master.logQueue);
    await push.send(page("quit 0"));
    push.options.sendTimeout = 2000;
    for (let i = 1;; i++) {
      try {
        await push.send(page(`quit ${i}`));
      } catch (e) {
        if (isZmqError(e, "EAGAIN")) break;
        throw e;
      }
    }
    await master.control("QUIT");
    const path = master.logQueue.slice("ipc://".length);
    await eventually("the log queue is closed", async () => {
      try {
        await Deno.lstat(path);
        return false;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return true;
        throw e;
      }
    });
    await meanwhile();
    release.resolve();
    await holding;
    assertEquals((await master.status()).code, 0, master.stderr);
  } finally {
    release.resolve();
    await lock.close();
    await push.close();
  }
  return (await queryDb<{ n: number }>(
    db.superDsn,
    "SELECT substr(user_agent, 6)::int AS n FROM web_hits WHERE user_agent LIKE 'quit %' ORDER BY 1",
  )).map((row) => row.n);
}

/** What the Lumberjack holds itself when its socket pushes back (see quitWhileHeld). */
const TAKEN = IN_FLIGHT + IN_FLIGHT * MAX_LOG_BATCH;

Deno.test("lumberjack: at QUIT, the records received are recorded, those its socket holds too", async () => {
  // QUIT closed the socket at once: what it held (up to its high-water mark) was lost
  await using farm = await startFarm({ abis: [] });
  const stored = await quitWhileHeld(farm, () => Promise.resolve());
  // every record taken, in the order sent, and none the connection had not delivered
  assert(stored.length > TAKEN + 500 && stored.length <= TAKEN + 1_000, `${stored.length} stored`);
  assertEquals(stored, Array.from(stored, (_, i) => i));
  const { master } = farm;
  await master.waitForLog(
    new RegExp(`lumberjack: recorded ${stored.length} web log record\\(s\\) received before QUIT`),
  );
  assert(!/lumberjack: warning: not recorded/.test(master.stderr), master.stderr);
});

Deno.test("lumberjack: at QUIT, what a database that takes nothing has not recorded is dropped, counted", async () => {
  // shutdown is bounded: after QUIT_MS, what is left goes
  await using farm = await startFarm({ abis: [] });
  const { master } = farm;
  let dropped = 0;
  const stored = await quitWhileHeld(farm, async () => {
    const [, count] = await master.waitForLog(
      new RegExp(
        `lumberjack: warning: not recorded within ${QUIT_MS / 1000} s of QUIT: dropped (\\d+) ` +
          `web log record\\(s\\), and ${IN_FLIGHT} went unanswered by the database`,
      ),
    );
    dropped = Number(count);
  });
  assert(dropped > TAKEN - IN_FLIGHT + 500 && dropped <= TAKEN - IN_FLIGHT + 1_000, `${dropped}`);
  await master.waitForLog(/lumberjack: recorded 0 web log record\(s\) received before QUIT/);
  // none of those dropped is stored: only records of the IN_FLIGHT batches of one it left
  // unanswered (whether each of these is stored depends on how far it got before the Oracles
  // stopped)
  assert(stored.every((n) => n < IN_FLIGHT), `stored: ${stored}`);
});
