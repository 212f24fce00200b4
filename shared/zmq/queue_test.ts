/** The ring-buffer queue keeps order across growth and wrap-around. */

import { assertEquals } from "../../tests/assert.ts";
import { Queue } from "./queue.ts";

Deno.test("queue: first in, first out, across growth and wrap-around", () => {
  const queue = new Queue<number>();
  const out: number[] = [];
  for (let i = 0; i < 5; i++) queue.push(i);
  out.push(queue.shift()!, queue.shift()!);
  for (let i = 5; i < 40; i++) queue.push(i);
  assertEquals(queue.length, 38);
  assertEquals(queue.peek(), 2);
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item);
  assertEquals(out, Array.from({ length: 40 }, (_, i) => i));
  assertEquals(queue.shift(), undefined);
  queue.push(1);
  queue.clear();
  assertEquals([queue.length, queue.peek()], [0, undefined]);
});
