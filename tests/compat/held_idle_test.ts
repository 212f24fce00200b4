/**
 * The real piw-master (subprocess, real PostgreSQL) with a slave that is not ours:
 * `tests/fixtures/python_held_slave.py`, written in Python from PIWHEELS-0.16.md §3 with Debian's
 * python3-zmq (libzmq) and python3-cbor2. Its IDLE waits at the master (nothing to build) when it
 * is SIGTERMed; as deployed, its BYE goes into a REQ socket still waiting for a reply and is
 * lost, and it closes. The master must take the closed connection for the slave's going: a
 * release arriving afterwards goes to the other slave, never to the departed one.
 */

import { assert, assertEquals, assertMatch } from "../assert.ts";
import { startFarm } from "../farm.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { Collected, PYTHON, reap, ROOT } from "../process.ts";
import { connect } from "../../shared/db/driver.ts";

/** The most the build may take to reach the other slave before the test gives up. */
const GIVE_UP_MS = 60_000;

Deno.test("compat: a Python slave SIGTERMed while its IDLE is held: the next build goes to another slave", async () => {
  await using farm = await startFarm();
  const { pypi, db, master } = farm;
  const departing = new Deno.Command(PYTHON, {
    args: [`${ROOT}/tests/fixtures/python_held_slave.py`, master.slaveQueue, "departing"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const said = new Collected(departing.stdout, "the Python slave");
  const complaints = new Collected(departing.stderr, "the Python slave's stderr");
  await using staying = new TestSlave(master.slaveQueue, master.fileQueue, "cp311", "staying");
  const watch = await connect(db.superDsn, { applicationName: "piwheels tests: handover" });
  try {
    const departedId = Number((await said.waitFor(/"slave_id": (\d+)/))[1]);
    await said.waitFor(/"idle": 1\b/);
    assertEquals((await staying.hello()).msg, "ACK");
    // the other slave asks for work too: its IDLE waits (SLEEP when held too long: ask again)
    const handed = (async () => {
      for (;;) {
        const reply = await staying.request("IDLE");
        if (reply.msg !== "SLEEP") return { reply, at: performance.now() };
      }
    })();
    handed.catch(() => {}); // awaited below; if the test fails first, the slave's closing ends it

    const status = await reap(departing, { signal: "SIGTERM" });
    await Promise.all([said.ended, complaints.ended]);
    assertEquals(status.code, 0, said.text + complaints.text);
    // as deployed: the BYE could not go into a REQ socket still waiting for its reply
    assertMatch(said.text, /"bye": "lost: /);
    await master.waitForLog(new RegExp(`slave ${departedId} \\(departing\\) went away`));

    await pypi.release("handed-over", "1.0");
    let inDatabase = 0;
    for (;;) {
      const rows = await watch.query(
        "SELECT 1 FROM versions WHERE package = 'handed-over' AND version = '1.0'",
      );
      if (rows.length) {
        inDatabase = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const { reply, at } = await Promise.race([
      handed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`handed-over 1.0 never reached the other slave:\n${master.stderr}`)),
          GIVE_UP_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    assertEquals(reply, { msg: "BUILD", data: ["handed-over", "1.0"] });
    assert(
      master.stderr.includes(`slave ${staying.slaveId} (staying): build handed-over 1.0`),
      master.stderr,
    );
    assert(!master.stderr.includes(`slave ${departedId} (departing): build`), master.stderr);
    assert(!said.text.includes('"BUILD"'), said.text);
    console.log(
      `handed to the other slave ${Math.round(at - inDatabase)} ms after the release was in ` +
        "the database",
    );
  } finally {
    await reap(departing, { signal: "SIGKILL", graceMs: 0 }).catch(() => {});
    await watch.close();
  }
});
