/**
 * What CURVE costs a transfer: a 30 MiB wheel imported into the real master (PostgreSQL, the
 * File Juggler's 1 MiB chunks, 8 in flight) over its file queue, plain and with CURVE, by this
 * tree's sender (as piw-slave and piw-import send), the two masters taking turns for `--runs`
 * rounds. Prints the median MiB/s of each and CURVE/plain.
 *
 * Run: PIWHEELS_TEST_SUPERDSN=… deno run -A tests/bench/curve_transfer.ts [--runs 5] [--mib 30]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeCertificates } from "../../shared/curve_keys.ts";
import { type CurveClient, readCurveClient } from "../../shared/curve_setup.ts";
import { sendFile } from "../../shared/file_sender.ts";
import { FileState } from "../../shared/states.ts";
import { parseWheelFilename } from "../../shared/wheel.ts";
import { ImportQueue } from "../../tools/import_queue.ts";
import { Duration } from "../../shared/duration.ts";
import { type Farm, startFarm } from "../farm.ts";
import { makeWheel } from "../fixtures/wheel.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "5" }, mib: { type: "string", default: "30" } },
});
const RUNS = Number(values.runs);
const MIB = Number(values.mib);

const keys = await Deno.makeTempDir({ prefix: "piw-curve-bench-" });
await Deno.mkdir(`${keys}/clients`);
const masterKeys = await writeCertificates(keys, "master");
const importer = await writeCertificates(keys, "importer");
await Deno.copyFile(importer.publicFile, `${keys}/clients/importer.key`);
const curve = await readCurveClient(importer.secretFile, masterKeys.publicFile);

interface Variant {
  name: string;
  farm: Farm;
  curve?: CurveClient;
  rates: number[];
}

const variants: Variant[] = [
  { name: "plain", farm: await startFarm({ verbose: false }), rates: [] },
  {
    name: "CURVE",
    farm: await startFarm({
      verbose: false,
      args: ["--curve-key", masterKeys.secretFile, "--curve-clients", `${keys}/clients`],
    }),
    curve,
    rates: [],
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  for (let run = 0; run <= RUNS; run++) {
    for (const v of variants) {
      const rate = await transfer(v, `1.${run}`);
      if (run > 0) v.rates.push(rate); // the first round warms up
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
} finally {
  for (const v of variants) await v.farm[Symbol.asyncDispose]();
  await Deno.remove(keys, { recursive: true });
}
