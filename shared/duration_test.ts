import { assertEquals, assertThrows } from "../tests/assert.ts";
import { Duration, DurationError } from "./duration.ts";

Deno.test("duration: parses what operators type", () => {
  const cases: [string, Duration][] = [
    ["3h", Duration.of({ hours: 3 })],
    ["1h30m", Duration.of({ minutes: 90 })],
    ["90s", Duration.of({ seconds: 90 })],
    ["1.5h", Duration.of({ minutes: 90 })],
    ["2d 4h", Duration.of({ days: 2, hours: 4 })],
    ["2 days, 1:30:00", Duration.of({ days: 2, minutes: 90 })],
    ["1:30:00", Duration.of({ minutes: 90 })],
    ["0:00:01.5", Duration.fromSeconds(1.5)],
    ["250ms", Duration.fromMillis(250)],
    ["45", Duration.of({ seconds: 45 })],
    ["10 minutes", Duration.of({ minutes: 10 })],
    ["-5s", Duration.of({ seconds: -5 })],
  ];
  for (const [text, expected] of cases) assertEquals(Duration.parse(text), expected, text);
  for (const bad of ["", "h", "3x", "3h junk", "1:99:00", "abc"]) {
    assertThrows(() => Duration.parse(bad), DurationError, undefined, bad);
  }
});

Deno.test("duration: toString reads back, and Python's fields are normalised", () => {
  for (
    const d of [
      Duration.of({ hours: 3 }),
      Duration.of({ days: 1, seconds: 5.5 }),
      new Duration(1),
      Duration.ZERO,
      new Duration(-90_000_000),
    ]
  ) {
    assertEquals(Duration.parse(d.toString()), d, d.toString());
  }
  assertEquals(Duration.of({ hours: 3 }).toString(), "3h");
  const d = Duration.of({ days: 1, hours: 1, microseconds: 5 });
  assertEquals([d.days, d.seconds, d.microseconds], [1, 3600, 5]);
  assertEquals(Duration.fromParts(1, 3600, 5), d);
  assertThrows(() => Duration.fromParts(0, 86400, 0), DurationError);
  assertThrows(() => Duration.fromParts(0, 0, 1_000_000), DurationError);
  assertThrows(() => new Duration(0.5), DurationError);
  assertEquals(Duration.of({ minutes: 1 }).totalSeconds(), 60);
});
