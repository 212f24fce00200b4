/**
 * The Lumberjack against bad web-log records on the log queue: a record PostgreSQL would refuse
 * (a NUL in a field) is refused when it arrives, and a record the database refuses anyway is
 * dropped alone: every valid record that came with it is stored.
 */

import { assertEquals } from "../assert.ts";
import { queryDb } from "../db.ts";
import { eventually, startFarm } from "../farm.ts";
import { encode } from "../../shared/cbor.ts";
import { Timestamp } from "../../shared/timestamp.ts";
import { Push } from "../../shared/zmq/mod.ts";

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
    await t.step("a NUL in a field: that record refused, the others stored", async () => {
      for (let i = 0; i < 12; i++) {
        if (i === 6) await push.send(page("nul\u0000agent"));
        await push.send(page(`nul-batch ${i}`));
      }
      await eventually(
        "the 12 good records are stored",
        async () => await hits("nul-batch") === 12,
      );
      assertEquals(await hits("nul"), 12);
      await master.waitForLog(/lumberjack: warning: .*LOGPAGE.*without NUL characters/);
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
