import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { Duration } from "../duration.ts";
import { Timestamp } from "../timestamp.ts";
import { parseInt8, parseInterval, parseTimestamp, toParam } from "./values.ts";

Deno.test("values: timestamps as PostgreSQL prints them keep their microseconds", () => {
  const t = Timestamp.parse("2024-05-06T07:08:09.123456Z");
  assertEquals(parseTimestamp("2024-05-06 07:08:09.123456+00"), t);
  assertEquals(parseTimestamp("2024-05-06T07:08:09.123456+00:00"), t);
  assertEquals(parseTimestamp("2024-05-06 09:08:09.123456+02"), t);
  assertEquals(parseTimestamp("2024-05-06 07:08:09.123456"), t);
  assertThrows(() => parseTimestamp("infinity"));
});

Deno.test("values: intervals as PostgreSQL prints them", () => {
  assertEquals(
    parseInterval("00:01:02.000005"),
    Duration.of({ minutes: 1, seconds: 2, microseconds: 5 }),
  );
  assertEquals(parseInterval("3 days 04:00:00"), Duration.of({ days: 3, hours: 4 }));
  assertEquals(parseInterval("1 day"), Duration.of({ days: 1 }));
  assertEquals(parseInterval("40:00:00"), Duration.of({ hours: 40 }));
  assertThrows(() => parseInterval("1 mon"));
});

Deno.test("values: bigints become numbers, never rounded", () => {
  assertEquals(parseInt8("9007199254740991"), Number.MAX_SAFE_INTEGER);
  assertEquals(parseInt8("-12"), -12);
  assertThrows(() => parseInt8("9007199254740993"), RangeError, "beyond a safe integer");
});

Deno.test("values: timestamps and durations go out as exact text", () => {
  assertEquals(
    toParam(Timestamp.parse("2024-05-06T07:08:09.000001Z")),
    "2024-05-06T07:08:09.000001Z",
  );
  assertEquals(toParam(Duration.of({ seconds: 1, microseconds: 1 })), "1000001 microseconds");
  assertEquals(toParam("text"), "text");
  assertEquals(toParam(null), null);
});
