/**
 * piw-abi through its command line, as a subprocess with the flags it ships with, against the
 * real master (subprocess) on real PostgreSQL: what it lists, and a skip reason the master
 * would refuse refused as it is read.
 */

import { assert, assertEquals, assertStringIncludes } from "../assert.ts";
import { startFarm } from "../farm.ts";
import { runTool } from "../process.ts";

Deno.test("piw-abi: skip and unskip; a reason longer than the master takes is a usage error", async () => {
  await using farm = await startFarm();
  const abi = (...args: string[]) =>
    runTool("piw-abi", ["--import-queue", farm.master.importQueue, ...args]);
  const list = async () => {
    const r = await abi("list");
    assertEquals(r.code, 0, r.stderr);
    return r.stdout;
  };
  assertEquals(await list(), "cp311\n");

  // it was sent, and the protocol refused it on the way out: "mr chase: ABI: data[2]: Too
  // big", exit 1
  const long = await abi("skip", "cp311", "x".repeat(1001));
  assertEquals(long.code, 2, long.stderr);
  assertStringIncludes(long.stderr, "reason");
  assertStringIncludes(long.stderr, "1000");
  assert(!long.stderr.includes("data["), long.stderr);
  assertEquals(await list(), "cp311\n");

  const skipped = await abi("skip", "cp311", "x".repeat(1000));
  assertEquals(skipped.code, 0, skipped.stderr);
  assertEquals(skipped.stdout, `cp311\tskipped: ${"x".repeat(1000)}\n`);
  const unskipped = await abi("unskip", "cp311");
  assertEquals(unskipped.code, 0, unskipped.stderr);
  assertEquals(await list(), "cp311\n");
});
