import { assertEquals } from "../tests/assert.ts";
import { consolidate, exclude, intersect, range, split } from "./ranges.ts";

// The examples of the manual, chapter 12.22 (piwheels.ranges).

Deno.test("ranges: consolidate merges overlapping and touching ranges", () => {
  assertEquals([...consolidate([range(0, 5), range(4, 10)])], [range(0, 10)]);
  assertEquals([...consolidate([range(0, 5), range(5, 10)])], [range(0, 10)]);
  assertEquals([...consolidate([range(0, 5), range(6, 10)])], [range(0, 5), range(6, 10)]);
  assertEquals([...consolidate([])], []);
  assertEquals([...consolidate([range(0, 10), range(2, 5), range(12, 14)])], [
    range(0, 10),
    range(12, 14),
  ]);
});

Deno.test("ranges: exclude removes a range from a list of ranges", () => {
  assertEquals([...exclude([range(10)], range(2))], [range(2, 10)]);
  assertEquals([...exclude([range(10)], range(2, 4))], [range(0, 2), range(4, 10)]);
  assertEquals([...exclude([range(0, 4), range(6, 10)], range(3, 7))], [range(0, 3), range(7, 10)]);
  assertEquals([...exclude([range(10)], range(0, 10))], []);
  assertEquals([...exclude([range(10)], range(5, 5))], [range(10)]);
});

Deno.test("ranges: intersect gives the overlap or undefined", () => {
  assertEquals(intersect(range(10), range(5)), range(0, 5));
  assertEquals(intersect(range(10), range(10, 2)), undefined);
  assertEquals(intersect(range(10), range(2, 5)), range(2, 5));
  assertEquals(intersect(range(0, 5), range(5, 10)), undefined);
});

Deno.test("ranges: split divides the range containing a value", () => {
  assertEquals([...split([range(10)], 5)], [range(0, 5), range(5, 10)]);
  assertEquals([...split([range(10)], 0)], [range(0, 10)]);
  assertEquals([...split([range(10)], 20)], [range(0, 10)]);
  assertEquals([...split([range(0, 3), range(5, 9)], 7)], [range(0, 3), range(5, 7), range(7, 9)]);
});
