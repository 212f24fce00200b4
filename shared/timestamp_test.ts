import { assertEquals, assertThrows } from "../tests/assert.ts";
import { Duration } from "./duration.ts";
import { Timestamp, TimestampError } from "./timestamp.ts";

Deno.test("timestamp: RFC 3339 in, Python's isoformat with Z out", () => {
  assertEquals(Timestamp.parse("2020-01-02T03:04:05Z").toString(), "2020-01-02T03:04:05Z");
  assertEquals(Timestamp.parse("2020-01-02T03:04:05.5Z").toString(), "2020-01-02T03:04:05.500000Z");
  assertEquals(
    Timestamp.parse("2020-01-02T04:04:05.000001+01:00").toString(),
    "2020-01-02T03:04:05.000001Z",
  );
  assertEquals(
    Timestamp.parse("2020-01-02 03:04:05.123456789").toString(),
    "2020-01-02T03:04:05.123456Z",
  );
  assertEquals(Timestamp.parse("1969-12-31T23:59:59.999999Z").micros, -1);
  assertEquals(
    Timestamp.parse("1969-12-31T23:59:59.999999Z").toString(),
    "1969-12-31T23:59:59.999999Z",
  );
  for (
    const bad of [
      "2020-13-01T00:00:00Z",
      "2020-02-30T00:00:00Z",
      "yesterday",
      "2020-01-02T25:00:00Z",
    ]
  ) {
    assertThrows(() => Timestamp.parse(bad), TimestampError, undefined, bad);
  }
  const t = Timestamp.parse("2020-01-02T03:04:05Z");
  assertEquals(t.plus(Duration.of({ hours: 1 })).toString(), "2020-01-02T04:04:05Z");
  assertEquals(t.until(t.plus(Duration.of({ seconds: 2 }))), Duration.of({ seconds: 2 }));
  assertEquals(Timestamp.fromDate(t.toDate()), t);
});
