/**
 * Cross-implementation CBOR: Debian's python3-cbor2 (as the Python piwheels peers use it)
 * encodes messages that we decode, and decodes messages that we encode.
 */

import { assert, assertEquals } from "./assert.ts";
import { python } from "./process.ts";
import { fromHex } from "./zmq_support.ts";
import { encodeHex } from "../shared/hash.ts";
import { decode, encode } from "../shared/cbor.ts";
import { Duration } from "../shared/duration.ts";
import {
  decodeMessage,
  dependencies,
  encodeMessage,
  type FileMessage,
  lumberjack,
  monitorStats,
  reverse,
  slaveDriver,
} from "../shared/protocols.ts";
import { Timestamp } from "../shared/timestamp.ts";

const FILE: FileMessage = [
  "foo-1.0-cp311-cp311-linux_armv7l.whl",
  123456,
  "ab".repeat(32),
  "foo",
  "1.0",
  "cp311",
  "cp311",
  "linux_armv7l",
  { apt: ["libc6", "libssl3"] },
];
const BAR: FileMessage = [
  "bar-2.0-py3-none-any.whl",
  99,
  "cd".repeat(32),
  "bar",
  "2.0",
  "py3",
  "none",
  "any",
  {},
];

async function pythonEncoded(): Promise<Map<string, Uint8Array>> {
  const out = await python("cbor_peer.py", ["encode"]);
  assertEquals(out.code, 0, out.stderr);
  return new Map(
    out.stdout.trim().split("\n").map((line) => {
      const [name, hex] = line.split(" ");
      return [name!, fromHex(hex!)];
    }),
  );
}

Deno.test("python cbor2 → us: HELLO with a timedelta decodes, and we encode the same bytes", async () => {
  const frame = (await pythonEncoded()).get("hello")!;
  const m = decodeMessage(slaveDriver, frame);
  assertEquals(m, {
    msg: "HELLO",
    data: [Duration.of({ hours: 3 }), "311", "cp311", "linux_x86_64", "host1"],
  });
  if (m.msg !== "HELLO") throw new Error("unreachable");
  assertEquals(encodeHex(encodeMessage(reverse(slaveDriver), "HELLO", m.data)), encodeHex(frame));
});

Deno.test("python cbor2 → us: BUILT with files and dependencies decodes byte-exact", async () => {
  const frame = (await pythonEncoded()).get("built")!;
  const m = decodeMessage(slaveDriver, frame);
  assertEquals(m, {
    msg: "BUILT",
    data: [true, Duration.of({ minutes: 2, seconds: 5, milliseconds: 250 }), "build log\n", [
      [...FILE],
      [...BAR],
    ]],
  });
  if (m.msg !== "BUILT") throw new Error("unreachable");
  assertEquals(encodeHex(encodeMessage(reverse(slaveDriver), "BUILT", m.data)), encodeHex(frame));
});

Deno.test("python cbor2 → us: datetimes keep their microseconds", async () => {
  const frames = await pythonEncoded();
  const slave = decodeMessage(reverse(monitorStats), frames.get("slave")!);
  assertEquals(slave, {
    msg: "SLAVE",
    data: [7, Timestamp.parse("2020-01-02T03:04:05.123456Z"), "BUILD", ["foo", "1.0"]],
  });
  if (slave.msg !== "SLAVE") throw new Error("unreachable");
  assertEquals(
    encodeHex(encodeMessage(monitorStats, "SLAVE", slave.data)),
    encodeHex(frames.get("slave")!),
  );
  const download = decodeMessage(lumberjack, frames.get("download")!);
  assertEquals(download.msg, "LOGDOWNLOAD");
  assertEquals(download.data?.[2], Timestamp.parse("2021-06-01T12:00:00Z"));
  assertEquals(download.data?.slice(3), [
    "armv7l",
    null,
    null,
    "Linux",
    null,
    "CPython",
    "3.11.2",
    "pip",
    "23.0.1",
    null,
  ]);
});

Deno.test("python cbor2 → us: sets, big integers and negative durations", async () => {
  const frames = await pythonEncoded();
  const set = decode(frames.get("set")!) as [string, Set<string[]>];
  assert(set[1] instanceof Set);
  assertEquals(dependencies.parse(set[1]), { apt: ["libc6", "zlib1g"] });
  assertEquals(decode(frames.get("big")!), ["STATFS", [2 ** 40, 2 ** 33 + 1]]);
  assertEquals(decode(frames.get("negative")!), ["DUR", new Duration(-1)]);
});

Deno.test("us → python cbor2: durations, timestamps, sets and files survive", async () => {
  const frames: [string, Uint8Array][] = [
    [
      "hello",
      encodeMessage(reverse(slaveDriver), "HELLO", [
        Duration.of({ hours: 3 }),
        "311",
        "cp311",
        "linux_armv7l",
        "pi4",
      ]),
    ],
    [
      "built",
      encodeMessage(reverse(slaveDriver), "BUILT", [
        false,
        Duration.of({ days: 1, seconds: 3, microseconds: 9 }),
        "log",
        [[...FILE]],
      ]),
    ],
    [
      "slave",
      encodeMessage(monitorStats, "SLAVE", [
        3,
        Timestamp.parse("2020-01-02T03:04:05.000001Z"),
        "ACK",
        [Duration.of({ hours: 3 }), "311", "cp311", "linux_armv7l", "pi4"],
      ]),
    ],
    ["set", encode(new Set([["apt", "libc6"]]))],
    ["big", encode([2 ** 40, -(2 ** 40), 2n ** 63n])],
    ["negative", encode(new Duration(-1))],
  ];
  const out = await python(
    "cbor_peer.py",
    ["decode"],
    frames.map(([n, f]) => `${n} ${encodeHex(f)}\n`).join(""),
  );
  assertEquals(out.code, 0, out.stderr);
  const seen = new Map(
    out.stdout.trim().split("\n").map((line) => {
      const { name, value } = JSON.parse(line);
      return [name as string, value as unknown];
    }),
  );
  const i = (n: number | bigint) => ({ $int: String(n) });
  assertEquals(seen.get("hello"), ["HELLO", [
    { $timedelta: [0, 10800, 0] },
    "311",
    "cp311",
    "linux_armv7l",
    "pi4",
  ]]);
  assertEquals(seen.get("built"), ["BUILT", [false, { $timedelta: [1, 3, 9] }, "log", [[
    FILE[0],
    i(FILE[1]),
    FILE[2],
    FILE[3],
    FILE[4],
    FILE[5],
    FILE[6],
    FILE[7],
    FILE[8],
  ]]]]);
  assertEquals(seen.get("slave"), ["SLAVE", [
    i(3),
    { $datetime: "2020-01-02T03:04:05.000001+00:00", utc: true },
    "ACK",
    [{ $timedelta: [0, 10800, 0] }, "311", "cp311", "linux_armv7l", "pi4"],
  ]]);
  assertEquals(seen.get("set"), { $set: [["apt", "libc6"]] });
  assertEquals(seen.get("big"), [i(2 ** 40), i(-(2 ** 40)), i(2n ** 63n)]);
  assertEquals(seen.get("negative"), { $timedelta: [-1, 86399, 999999] });
});
