import { assert, assertEquals, assertInstanceOf, assertThrows } from "../tests/assert.ts";
import { CborError, type CborValue, decode, encode, NO_DATA, Tagged } from "./cbor.ts";
import { Duration } from "./duration.ts";
import { Timestamp } from "./timestamp.ts";

/** Hex of bytes, spaced per byte, for readable failures. */
function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Bytes from a WIRE.md-style spec: hex byte groups and "quoted" ASCII text. */
function wire(spec: string): Uint8Array {
  const out: number[] = [];
  for (const token of spec.match(/"[^"]*"|[0-9a-f]+/g) ?? []) {
    if (token.startsWith('"')) {
      out.push(...new TextEncoder().encode(token.slice(1, -1)));
    } else {
      for (let i = 0; i < token.length; i += 2) out.push(parseInt(token.slice(i, i + 2), 16));
    }
  }
  return new Uint8Array(out);
}

const golden: [string, CborValue, string][] = [
  ["IDLE, a message without data", "IDLE", "64 49 44 4c 45"],
  ["BUILD with data", ["BUILD", ["foo", "1.0"]], '82 65 "BUILD" 82 63 "foo" 63 "1.0"'],
  ["a 3 hour duration", Duration.of({ hours: 3 }), "d9 07d1 83 00 19 2a30 00"],
  [
    "a timestamp with microseconds",
    Timestamp.parse("2020-01-02T03:04:05.123456Z"),
    'c0 78 1b "2020-01-02T03:04:05.123456Z"',
  ],
  [
    "a slave's HELLO",
    ["HELLO", [Duration.of({ hours: 3 }), "311", "cp311", "linux_x86_64", "host1"]],
    '82 65 "HELLO" 85 d9 07d1 83 00 19 2a30 00 63 "311" 65 "cp311" 6c "linux_x86_64" 65 "host1"',
  ],
  ["no data inside data", NO_DATA, "d9 07d2 f6"],
  ["a set", new Set(["a"]), 'd9 0102 81 61 "a"'],
  [
    "a timestamp without microseconds",
    Timestamp.parse("2020-01-02T03:04:05Z"),
    'c0 74 "2020-01-02T03:04:05Z"',
  ],
];

for (const [name, value, spec] of golden) {
  Deno.test(`cbor golden bytes: ${name}`, () => {
    const bytes = encode(value);
    assertEquals(hex(bytes), hex(wire(spec)));
    assertEquals(decode(bytes), value);
  });
}

Deno.test("cbor uses the shortest integer forms", () => {
  const cases: [number | bigint, string][] = [
    [0, "00"],
    [23, "17"],
    [24, "18 18"],
    [255, "18 ff"],
    [256, "19 01 00"],
    [65535, "19 ff ff"],
    [65536, "1a 00 01 00 00"],
    [2 ** 32 - 1, "1a ff ff ff ff"],
    [2 ** 32, "1b 00 00 00 01 00 00 00 00"],
    [2 ** 40, "1b 00 00 01 00 00 00 00 00"],
    [-1, "20"],
    [-24, "37"],
    [-25, "38 18"],
    [-(2 ** 40), "3b 00 00 00 ff ff ff ff ff"],
    [2n ** 64n - 1n, "1b ff ff ff ff ff ff ff ff"],
    [-(2n ** 64n), "3b ff ff ff ff ff ff ff ff"],
  ];
  for (const [n, spec] of cases) {
    assertEquals(hex(encode(n)), hex(wire(spec.replaceAll(" ", ""))), `encoding ${n}`);
    assertEquals(decode(encode(n)), n, `round trip of ${n}`);
  }
});

Deno.test("cbor keeps integers beyond 2^53 as bigint, never as floats", () => {
  const big = 2n ** 60n + 7n;
  const bytes = encode(big);
  assertEquals(bytes[0], 0x1b);
  assertEquals(decode(bytes), big);
  assertEquals(decode(encode(2n ** 100n)), 2n ** 100n);
  assertEquals(decode(encode(-(2n ** 100n))), -(2n ** 100n));
  // a safe-range bigint comes back as a plain number
  assertEquals(decode(encode(5n)), 5);
});

Deno.test("cbor writes floats as float64 like cbor2, and reads half and single", () => {
  assertEquals(hex(encode(1.5)), "fb 3f f8 00 00 00 00 00 00");
  assertEquals(hex(encode(NaN)), "f9 7e 00");
  assertEquals(hex(encode(-Infinity)), "f9 fc 00");
  assertEquals(decode(wire("f93e00")), 1.5);
  assertEquals(decode(wire("fa3fc00000")), 1.5);
  assertEquals(decode(wire("f90001")), 2 ** -24);
});

Deno.test("cbor round-trips nested structures, maps and byte strings", () => {
  const value: CborValue = {
    name: "x",
    list: [1, -2, true, false, null, undefined, "ü€😀", new Uint8Array([0, 255])],
    nested: { deps: { apt: ["libc6", "libssl3"] } },
    when: Timestamp.parse("1999-12-31T23:59:59.000001Z"),
    took: Duration.of({ days: 2, seconds: 5, microseconds: 7 }),
    tags: new Set([1, 2]),
  };
  assertEquals(decode(encode(value)), value);
  const map = new Map<CborValue, CborValue>([[1, "one"], ["two", 2]]);
  assertEquals(decode(encode(map)), map);
  assertInstanceOf(decode(encode(new Tagged(99, "x"))), Tagged);
});

Deno.test("cbor maps keyed __proto__ do not touch prototypes", () => {
  const bytes = wire('a1 69 "__proto__" a1 61 "x" 01');
  const value = decode(bytes) as Record<string, unknown>;
  assertEquals(Object.keys(value), ["__proto__"]);
  assertEquals(Object.getPrototypeOf(value), Object.prototype);
  assertEquals(({} as Record<string, unknown>).x, undefined);
});

Deno.test("cbor durations follow Python's normalisation, negative ones too", () => {
  const minus = new Duration(-1);
  assertEquals([minus.days, minus.seconds, minus.microseconds], [-1, 86399, 999999]);
  assertEquals(hex(encode(minus)), hex(wire("d9 07d1 83 20 1a 00 01 51 7f 1a 00 0f 42 3f")));
  assertEquals(decode(encode(minus)), minus);
});

Deno.test("cbor accepts tag 1 epoch timestamps and indefinite lengths", () => {
  assertEquals(decode(wire("c1 1a 5e0d5da5")), Timestamp.parse("2020-01-02T03:04:05Z"));
  assertEquals(
    decode(wire("c1 fb 41d783576947e6b4")),
    Timestamp.fromEpochSeconds(1577934245.123456),
  );
  assertEquals(decode(wire('9f 01 62 "ab" ff')), [1, "ab"]);
  assertEquals(decode(wire('bf 61 "a" 01 ff')), { a: 1 });
  assertEquals(decode(wire('7f 61 "a" 62 "bc" ff')), "abc");
  assertEquals(decode(wire("5f 41 01 42 02 03 ff")), new Uint8Array([1, 2, 3]));
});

Deno.test("cbor rejects malformed input with CborError", () => {
  const bad: [string, string][] = [
    ["", "empty input"],
    ["82 01", "truncated array"],
    ["1b 00 00", "truncated integer"],
    ["01 02", "trailing bytes"],
    ["62 c3 28", "invalid UTF-8"],
    ["9b ff ff ff ff ff ff ff ff", "huge array length"],
    ["7a ff ff ff ff", "text longer than the input"],
    ["1c", "reserved additional information"],
    ["ff", "a lone break"],
    ["f8 20", "unsupported simple value"],
    ["d9 07d1 82 00 00", "a duration of two fields"],
    ["d9 07d1 83 00 1a 00 01 51 80 00", "duration seconds out of range"],
    ["d9 07d2 01", "tag 2002 over something other than null"],
    ['c0 63 "abc"', "tag 0 over a non-date"],
    ["c0 01", "tag 0 over a number"],
    ["5f 61 61 ff", "text chunk in a byte string"],
    ["1f", "indefinite integer"],
  ];
  for (const [spec, why] of bad) {
    assertThrows(() => decode(wire(spec.replaceAll(" ", ""))), CborError, undefined, why);
  }
  assertThrows(() => decode(new Uint8Array(200).fill(0x81)), CborError, "nesting");
});

Deno.test("cbor: random bytes never throw anything but CborError", () => {
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const samples = [encode(["BUILT", [true, Duration.of({ minutes: 2 }), "log", []]])];
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    let bytes: Uint8Array;
    if (i % 2) {
      bytes = new Uint8Array(1 + Math.floor(rand() * 40)).map(() => Math.floor(rand() * 256));
    } else {
      bytes = samples[0]!.slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) {
        bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      }
    }
    try {
      decode(bytes);
      decoded++;
    } catch (e) {
      assert(e instanceof CborError, `${e} from ${hex(bytes)}`);
    }
  }
  assert(decoded > 0, "some random inputs should decode");
});

Deno.test("cbor refuses to encode what has no CBOR form", () => {
  assertThrows(() => encode((() => 1) as unknown as CborValue), CborError);
  assertThrows(() => encode(new Date() as unknown as CborValue), CborError);
  assertThrows(() => encode(Symbol("x") as unknown as CborValue), CborError);
});
