/**
 * What CURVE costs, the real master (PostgreSQL) plain and with CURVE side by side, taking turns
 * for `--runs` rounds:
 *
 * - a 30 MiB wheel imported over the file queue (the File Juggler's 1 MiB chunks, 8 in flight) by
 *   this tree's sender (as piw-slave and piw-import send): MiB/s;
 * - builds per minute of `--slaves` simulated slaves of ours (instant builds of tiny wheels:
 *   HELLO, IDLE, BUILT, the transfer, SENT) for `--seconds` each round (loadsim, the load
 *   benchmark's simulator, speaks NULL only).
 *
 * Prints the medians and CURVE/plain.
 *
 * Run: PIWHEELS_TEST_SUPERDSN=… deno run -A tests/bench/curve_transfer.ts [--runs 5] [--mib 30]
 *   [--slaves 4] [--seconds 15]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeCertificates } from "../../shared/curve_keys.ts";
import { clientOptions, type CurveClient, readCurveClient } from "../../shared/curve_setup.ts";
import { sendFile } from "../../shared/file_sender.ts";
import { FileState } from "../../shared/states.ts";
import { parseWheelFilename } from "../../shared/wheel.ts";
import { ImportQueue } from "../../tools/import_queue.ts";
import { Duration } from "../../shared/duration.ts";
import { type Farm, startFarm } from "../farm.ts";
import { makeWheel } from "../fixtures/wheel.ts";
import { TestSlave } from "../fixtures/test_slave.ts";
import { median } from "./median.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    mib: { type: "string", default: "30" },
    slaves: { type: "string", default: "4" },
    seconds: { type: "string", default: "15" },
  },
});
const RUNS = Number(values.runs);
const MIB = Number(values.mib);
const SLAVES = Number(values.slaves);
const SECONDS = Number(values.seconds);

const keys = await Deno.makeTempDir({ prefix: "piw-curve-bench-" });
await Deno.mkdir(`${keys}/clients`);
const masterKeys = await writeCertificates(keys, "master");
const importer = await writeCertificates(keys, "importer");
await Deno.copyFile(importer.publicFile, `${keys}/clients/importer.key`);
const curve = await readCurveClient(importer.secretFile, masterKeys.publicFile);
const slaveKeys = await writeCertificates(keys, "slaves");
const slaveCurve = await readCurveClient(slaveKeys.secretFile, masterKeys.publicFile);
await Deno.copyFile(slaveKeys.publicFile, `${keys}/clients/slaves.key`);

interface Variant {
  name: string;
  farm: Farm;
  curve?: CurveClient;
  rates: number[];
  builds: number[];
}

const variants: Variant[] = [
  { name: "plain", farm: await startFarm({ verbose: false }), rates: [], builds: [] },
  {
    name: "CURVE",
    farm: await startFarm({
      verbose: false,
      args: ["--curve-key", masterKeys.secretFile, "--curve-clients", `${keys}/clients`],
    }),
    curve,
    rates: [],
    builds: [],
  },
];

/** Imports version `version` of `big` through the variant's master; resolves to MiB/s. */
async function transfer(v: Variant, version: string): Promise<number> {
  const { pypi, master } = v.farm;
  pypi.binaryRelease("big", version);
  await master.waitForFile("project/big/index.html", `>${version}<`, 60_000);
  const wheel = makeWheel("big", version, { padding: MIB * 1024 * 1024 });
  const path = `${master.dir}/${wheel.filename}`;
  await Deno.writeFile(path, wheel.bytes);
  const state = FileState.fromTags(
    wheel.filename,
    wheel.bytes.length,
    wheel.sha256,
    parseWheelFilename(wheel.filename),
  );
  await using queue = new ImportQueue(master.importQueue, Duration.of({ seconds: 120 }));
  const first = await queue.request("IMPORT", [
    0,
    "big",
    version,
    "cp311",
    true,
    Duration.ZERO,
    "bench",
    [state.asMessage()],
  ]);
  if (first.msg !== "SEND") throw new Error(`IMPORT was answered ${JSON.stringify(first)}`);
  const start = performance.now();
  await sendFile(master.fileQueue, 0, path, { curve: v.curve });
  const seconds = (performance.now() - start) / 1000;
  const done = await queue.request("SENT");
  if (done.msg !== "DONE") throw new Error(`SENT was answered ${JSON.stringify(done)}`);
  await Deno.remove(path);
  return wheel.bytes.length / 1024 / 1024 / seconds;
}

/** `SLAVES` simulated slaves build what the variant's master hands out; resolves to builds/min. */
async function buildRate(v: Variant, round: number): Promise<number> {
  const { pypi, master } = v.farm;
  const releases = 3000;
  for (let i = 0; i < releases; i++) await pypi.release(`rate-${round}-${i}`, "1.0");
  await master.waitForLog(new RegExp(`up to (serial )?${pypi.serial}\\b`), 120_000);
  const options = v.curve ? clientOptions(slaveCurve) : {};
  const fleet = Array.from(
    { length: SLAVES },
    (_, i) =>
      new TestSlave(
        master.slaveQueue,
        master.fileQueue,
        "cp311",
        `rate-${i}`,
        undefined,
        options,
      ),
  );
  let done = 0;
  const until = performance.now() + SECONDS * 1000;
  const start = performance.now();
  try {
    await Promise.all(fleet.map(async (s) => {
      await s.hello();
      while (performance.now() < until) {
        const reply = await s.request("IDLE");
        if (reply.msg !== "BUILD") continue;
        const [pkg, version] = reply.data;
        if ((await s.deliver([makeWheel(pkg, version)])).msg !== "DONE") throw new Error("no DONE");
        done++;
      }
    }));
  } finally {
    for (const s of fleet) await s.close();
  }
  return done / ((performance.now() - start) / 60_000);
}

try {
  for (let run = 0; run <= RUNS; run++) {
    for (const v of variants) {
      const rate = await transfer(v, `1.${run}`);
      const built = await buildRate(v, run);
      if (run > 0) v.rates.push(rate); // the first round warms up
      if (run > 0) v.builds.push(built);
    }
  }
  const [plain, encrypted] = variants.map((v) => median(v.rates));
  console.log(`| ${MIB} MiB over the file queue | MiB/s (median of ${RUNS}) | range |`);
  console.log("| --- | ---: | --- |");
  for (const v of variants) {
    const lo = Math.min(...v.rates).toFixed(0);
    const hi = Math.max(...v.rates).toFixed(0);
    console.log(`| ${v.name} | ${median(v.rates).toFixed(0)} | ${lo}–${hi} |`);
  }
  console.log(`CURVE/plain: ${(encrypted! / plain!).toFixed(2)}`);
  const [plainBuilds, curveBuilds] = variants.map((v) => median(v.builds));
  console.log(`\n| ${SLAVES} simulated slaves | builds/min (median of ${RUNS}) | range |`);
  console.log("| --- | ---: | --- |");
  for (const v of variants) {
    const lo = Math.min(...v.builds).toFixed(0);
    const hi = Math.max(...v.builds).toFixed(0);
    console.log(`| ${v.name} | ${median(v.builds).toFixed(0)} | ${lo}–${hi} |`);
  }
  console.log(`CURVE/plain: ${(curveBuilds! / plainBuilds!).toFixed(2)}`);
} finally {
  for (const v of variants) await v.farm[Symbol.asyncDispose]();
  await Deno.remove(keys, { recursive: true });
}
