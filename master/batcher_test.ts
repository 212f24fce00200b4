import { assertEquals, assertRejects } from "../tests/assert.ts";
import { Batcher } from "./batcher.ts";

/** A fetch whose calls are recorded and answered by the test; `call(n)` waits for the nth. */
function server() {
  const calls: { keys: string[]; answer: (values: string[] | Error) => void }[] = [];
  const waiting: (() => void)[] = [];
  const fetch = (keys: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ keys, answer: (v) => v instanceof Error ? reject(v) : resolve(v) });
      for (const wake of waiting.splice(0)) wake();
    });
  const call = async (n: number) => {
    while (calls.length <= n) await new Promise<void>((r) => waiting.push(r));
    return calls[n]!;
  };
  return { calls, fetch, call };
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

Deno.test("batcher: a failed batch has each key fetched again alone, so one bad key fails only itself", async () => {
  const { call, fetch } = server();
  const b = new Batcher({ fetch, inFlight: 1, maxBatch: 10 });
  const a = b.get("a");
  const [c, d, e] = [b.get("c"), b.get("d"), b.get("e")];
  (await call(0)).answer(new Error("the database went away"));
  await assertRejects(() => a, Error, "went away"); // alone already: it fails
  assertEquals((await call(1)).keys, ["c", "d", "e"]);
  (await call(1)).answer(new Error("d is bad"));
  const f = b.get("f"); // waits behind those going alone
  assertEquals((await call(2)).keys, ["c"]);
  (await call(2)).answer(["C"]);
  assertEquals(await c, "C");
  assertEquals((await call(3)).keys, ["d"]);
  (await call(3)).answer(new Error("d is bad"));
  await assertRejects(() => d, Error, "d is bad");
  assertEquals((await call(4)).keys, ["e"]);
  (await call(4)).answer(["E", "extra"]); // a wrong count fails like an error
  await assertRejects(() => e, Error, "2 values came for 1 keys");
  assertEquals((await call(5)).keys, ["f"]);
  (await call(5)).answer(["F"]);
  assertEquals(await f, "F");
});
