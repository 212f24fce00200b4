/**
 * The speed of CURVE's crypto (`shared/zmq/nacl.ts`, over `@noble/ciphers` and
 * `@noble/curves`): sealing and opening MESSAGE boxes (XSalsa20-Poly1305 under a precomputed
 * key) of 64 KiB and 1 MiB, in MB/s, and X25519 (a handshake takes three per side) per second.
 * Prints the medians of `--runs`.
 *
 * `@noble/*` was chosen over `tweetnacl` 1.0.3 (nacl-fast), the other audited pure-JS candidate,
 * by this bench when it measured both (box/unbox MB/s: 64 KiB 171/170 against 143/136, 1 MiB
 * 155/160 against 134/125; X25519 1,119/s against 923/s).
 *
 * Run: deno run tests/bench/zmq_crypto.ts [--runs 5]
 *
 * @module
 */

import { keyPair, open, precompute, seal } from "../../shared/zmq/nacl.ts";

const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 5;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

const a = keyPair();
const b = keyPair();
const key = precompute(b.publicKey, a.secretKey);
const rows = ["| operation | size | rate |", "| --- | --- | ---: |"];
for (const size of [65536, 1 << 20]) {
  const plain = new Uint8Array(size).map((_, i) => (i * 7919) & 0xff);
  const count = Math.max(8, (64 << 20) / size);
  const boxRates: number[] = [];
  const openRates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const nonce = new Uint8Array(24);
    const boxed: Uint8Array[] = [];
    let started = performance.now();
    for (let i = 0; i < count; i++) {
      nonce[23] = i;
      boxed.push(seal(key, nonce, plain));
    }
    boxRates.push((count * size) / 1e3 / (performance.now() - started));
    started = performance.now();
    for (let i = 0; i < count; i++) {
      nonce[23] = i;
      if (!open(key, nonce, boxed[i]!)) throw new Error("a box did not open");
    }
    openRates.push((count * size) / 1e3 / (performance.now() - started));
  }
  rows.push(`| seal | ${size >> 10} KiB | ${median(boxRates).toFixed(0)} MB/s |`);
  rows.push(`| open | ${size >> 10} KiB | ${median(openRates).toFixed(0)} MB/s |`);
}
const x25519Rates: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const started = performance.now();
  for (let i = 0; i < 200; i++) precompute(b.publicKey, a.secretKey);
  x25519Rates.push(200 / ((performance.now() - started) / 1000));
}
rows.push(
  `| X25519 + HSalsa20 (crypto_box_beforenm) | 32 B | ${median(x25519Rates).toFixed(0)}/s |`,
);
console.log(rows.join("\n"));
