import { assertEquals, assertRejects } from "../tests/assert.ts";
import { Batcher } from "./batcher.ts";

/** A fetcher whose requests the test ends by hand, recording the keys of each. */
function manual() {
  const requests: { keys: number[]; end: (fail?: boolean) => void }[] = [];
  const fetchMany = (keys: number[]) => {
    const { promise, resolve, reject } = Promise.withResolvers<string[]>();
    requests.push({
      keys,
      end: (fail) => fail ? reject(new Error("refused")) : resolve(keys.map((k) => `v${k}`)),
    });
    return promise;
  };
  return { requests, fetchMany };
}

Deno.test("a lookup that finds a request free goes alone; those made meanwhile go together", async () => {
  const { requests, fetchMany } = manual();
  const batcher = new Batcher(fetchMany, 1, 3);
  const first = batcher.get(1);
  const rest = [2, 3, 4, 5].map((k) => batcher.get(k));
  assertEquals(requests.map((r) => r.keys), [[1]]);
  requests[0]!.end();
  assertEquals(await first, "v1");
  await Promise.resolve();
  // the first request ended: the next takes at most maxBatch of those waiting
  assertEquals(requests.map((r) => r.keys), [[1], [2, 3, 4]]);
  requests[1]!.end();
  await Promise.all(rest.slice(0, 3));
  assertEquals(requests.map((r) => r.keys), [[1], [2, 3, 4], [5]]);
  requests[2]!.end();
  assertEquals(await Promise.all(rest), ["v2", "v3", "v4", "v5"]);
});

Deno.test("up to inFlight requests go at once", () => {
  const { requests, fetchMany } = manual();
  const batcher = new Batcher(fetchMany, 2, 10);
  for (const k of [1, 2, 3, 4]) batcher.get(k);
  assertEquals(requests.map((r) => r.keys), [[1], [2]]);
});

Deno.test("a request that fails fails each of its lookups, and the next ones still go", async () => {
  const { requests, fetchMany } = manual();
  const batcher = new Batcher(fetchMany, 1, 10);
  const first = batcher.get(1);
  const second = batcher.get(2);
  requests[0]!.end(true);
  await assertRejects(() => first, Error, "refused");
  await Promise.resolve();
  requests[1]!.end();
  assertEquals(await second, "v2");
});

Deno.test("a fetcher answering the wrong number of values fails the lookups", async () => {
  const batcher = new Batcher((keys: number[]) => Promise.resolve(keys.slice(1)), 1, 10);
  const lookups = [batcher.get(1), batcher.get(2)];
  await assertRejects(() => lookups[0]!, Error, "0 values for 1 keys");
  await assertRejects(() => lookups[1]!, Error, "0 values for 1 keys");
});
