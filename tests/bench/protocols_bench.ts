/**
 * Encode+validate and decode+validate of a BUILT message carrying 5 files (the largest message
 * a slave sends routinely), and the raw CBOR codec on the same value for comparison.
 *
 * Run: deno task bench tests/bench/protocols_bench.ts
 */

import { decode, encode } from "../../shared/cbor.ts";
import { Duration } from "../../shared/duration.ts";
import {
  decodeMessage,
  encodeMessage,
  type FileMessage,
  reverse,
  slaveDriver,
} from "../../shared/protocols.ts";

const files: FileMessage[] = Array.from({ length: 5 }, (_, i) => [
  `package_${i}-1.2.${i}-cp311-cp311-linux_armv7l.whl`,
  123456 + i,
  "0123456789abcdef".repeat(4),
  `package_${i}`,
  `1.2.${i}`,
  "cp311",
  "cp311",
  "linux_armv7l",
  { apt: ["libc6", "libgcc-s1", "libstdc++6"] },
]);
const data: [boolean, Duration, string, FileMessage[]] = [
  true,
  Duration.of({ minutes: 3, seconds: 7, microseconds: 12 }),
  "Collecting package\n  Downloading package-1.2.0.tar.gz\nBuilding wheels\n".repeat(20),
  files,
];
const slave = reverse(slaveDriver);
const frame = encodeMessage(slave, "BUILT", data);

Deno.bench("BUILT (5 files): encode + validate", { group: "built", baseline: true }, () => {
  encodeMessage(slave, "BUILT", data);
});

Deno.bench("BUILT (5 files): decode + validate", { group: "built" }, () => {
  decodeMessage(slaveDriver, frame);
});

Deno.bench("BUILT (5 files): CBOR encode only", { group: "built" }, () => {
  encode(["BUILT", data]);
});

Deno.bench("BUILT (5 files): CBOR decode only", { group: "built" }, () => {
  decode(frame);
});
