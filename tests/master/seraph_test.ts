/**
 * Seraph, in front of the master's oracles, through the database queue (moved to an ipc://
 * address for the test): requests sent one after another are answered by the oracle that
 * answered last, so that they keep to one database session.
 */

import { assert, assertEquals } from "../assert.ts";
import { eventually, startFarm } from "../farm.ts";
import { RpcClient } from "../../master/rpc.ts";
import { theOracle } from "../../shared/protocols.ts";

Deno.test("seraph: requests one after another go to the oracle that answered last", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-seraph-test-" });
  try {
    const dbQueue = `ipc://${dir}/db`;
    await using farm = await startFarm({ abis: [], args: ["--db-queue", dbQueue] });
    const client = new RpcClient(dbQueue, theOracle);
    const count = 30;
    try {
      for (let i = 0; i < count; i++) {
        assertEquals(await client.call("PKGEXISTS", `seraph-${i}`), { msg: "OK", data: false });
      }
    } finally {
      await client.close();
    }
    const answered = () =>
      [...farm.master.stderr.matchAll(/(the_oracle_\d+): PKGEXISTS took/g)].map((m) => m[1]!);
    await eventually(
      `the ${count} requests are logged`,
      () => Promise.resolve(answered().length === count),
    );
    const by = answered();
    // each went to another oracle while the least recently used one took the next; a request
    // of the master's own in between can send one elsewhere, never most of them
    const kept = by.slice(1).filter((oracle, i) => oracle === by[i]).length;
    assert(kept >= count / 2, `oracles one after another: ${by.join(" ")}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
