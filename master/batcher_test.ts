import { assertEquals, assertRejects } from "../tests/assert.ts";
import { Batcher } from "./batcher.ts";

/** A fetch whose calls are recorded and answered by the test. */
function server() {
  const calls: { keys: string[]; answer: (values: string[] | Error) => void }[] = [];
  const fetch = (keys: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ keys, answer: (v) => v instanceof Error ? reject(v) : resolve(v) });
    });
  return { calls, fetch };
}

const upper = (keys: string[]) => keys.map((k) => k.toUpperCase());

Deno.test("batcher: an idle server gets each key alone, at once", async () => {
  const { calls, fetch } = server();
  const b = new Batcher({ fetch, inFlight: 2, maxBatch: 10 });
  const a = b.get("a");
  const c = b.get("c");
  assertEquals(calls.map((c) => c.keys), [["a"], ["c"]]);
  for (const call of calls) call.answer(upper(call.keys));
  assertEquals([await a, await c], ["A", "C"]);
});

Deno.test("batcher: keys that wait for a busy server go together, at most maxBatch", async () => {
  const { calls, fetch } = server();
  const b = new Batcher({ fetch, inFlight: 1, maxBatch: 2 });
  const got = ["a", "b", "c", "d"].map((k) => b.get(k));
  assertEquals(calls.map((c) => c.keys), [["a"]]);
  calls[0]!.answer(["A"]);
  assertEquals(await got[0], "A");
  assertEquals(calls.map((c) => c.keys), [["a"], ["b", "c"]]);
  calls[1]!.answer(["B", "C"]);
  assertEquals([await got[1], await got[2]], ["B", "C"]);
  assertEquals(calls.map((c) => c.keys), [["a"], ["b", "c"], ["d"]]);
  calls[2]!.answer(["D"]);
  assertEquals(await got[3], "D");
});

Deno.test("batcher: a failed batch fails its keys only, and the next batch still goes", async () => {
  const { calls, fetch } = server();
  const b = new Batcher({ fetch, inFlight: 1, maxBatch: 10 });
  const a = b.get("a");
  const [c, d] = [b.get("c"), b.get("d")];
  calls[0]!.answer(new Error("the database went away"));
  await assertRejects(() => a, Error, "went away");
  assertEquals(calls[1]?.keys, ["c", "d"]);
  calls[1]!.answer(["C"]); // one value short
  await assertRejects(() => c, Error, "1 values came for 2 keys");
  await assertRejects(() => d, Error, "1 values came for 2 keys");
  const e = b.get("e");
  calls[2]!.answer(["E"]);
  assertEquals(await e, "E");
});
