/**
 * The box and unbox speed of the two audited pure-JS candidates for ZMTP CURVE's MESSAGE boxes
 * (crypto_box_afternm: XSalsa20-Poly1305 under a precomputed key): `@noble/ciphers` and
 * `tweetnacl` (nacl-fast), on 64 KiB and 1 MiB frames. Prints MB/s, the median of `--runs`.
 *
 * Run: deno run tests/bench/zmq_crypto.ts [--runs 5]
 *
 * @module
 */

import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import nacl from "tweetnacl";

const runsFlag = Deno.args.indexOf("--runs");
const RUNS = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 5;
const key = crypto.getRandomValues(new Uint8Array(32));

interface Candidate {
  box(plain: Uint8Array, nonce: Uint8Array): Uint8Array;
  open(boxed: Uint8Array, nonce: Uint8Array): Uint8Array | null;
}

const CANDIDATES: Record<string, Candidate> = {
  "@noble/ciphers 2.4.0": {
    box: (plain, nonce) => xsalsa20poly1305(key, nonce).encrypt(plain),
    open: (boxed, nonce) => xsalsa20poly1305(key, nonce).decrypt(boxed),
  },
  "tweetnacl 1.0.3": {
    box: (plain, nonce) => nacl.secretbox(plain, nonce, key),
    open: (boxed, nonce) => nacl.secretbox.open(boxed, nonce, key),
  },
};

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

const rows = ["| library | frame | box MB/s | unbox MB/s |", "| --- | --- | ---: | ---: |"];
for (const size of [65536, 1 << 20]) {
  const plain = new Uint8Array(size).map((_, i) => (i * 7919) & 0xff);
  const count = Math.max(8, (64 << 20) / size);
  for (const [name, lib] of Object.entries(CANDIDATES)) {
    const boxRates: number[] = [];
    const openRates: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const nonce = new Uint8Array(24);
      const boxed: Uint8Array[] = [];
      let started = performance.now();
      for (let i = 0; i < count; i++) {
        nonce[23] = i;
        boxed.push(lib.box(plain, nonce));
      }
      boxRates.push((count * size) / 1e3 / (performance.now() - started));
      started = performance.now();
      for (let i = 0; i < count; i++) {
        nonce[23] = i;
        if (!lib.open(boxed[i]!, nonce)) throw new Error(`${name} could not open its own box`);
      }
      openRates.push((count * size) / 1e3 / (performance.now() - started));
    }
    rows.push(
      `| ${name} | ${size >> 10} KiB | ${median(boxRates).toFixed(0)} | ${
        median(openRates).toFixed(0)
      } |`,
    );
  }
}
console.log(rows.join("\n"));
