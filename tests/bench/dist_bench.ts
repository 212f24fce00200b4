/**
 * The executables of `deno task dist`: their sizes, the first run (unpacking into an empty
 * cache) and a warm start (`--version`), against `deno run` of the same tool from the source;
 * and the same for the aarch64 executables under qemu-user on this x86_64 machine.
 *
 * Run: deno task dist && deno run -A tests/bench/dist_bench.ts
 *
 * @module
 */

import { TOOLS } from "../../shared/flags.ts";
import { toolCommand } from "../farm.ts";
import { median } from "./median.ts";

const DIST = new URL("../../dist", import.meta.url).pathname;

async function timed(cmd: string[], env: Record<string, string>): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return performance.now() - start;
}

async function measure(target: string, runs: number, env: Record<string, string> = {}) {
  const rows: string[] = [];
  for (const name of ["piw-master", "piw-slave", "piw-monitor"] as const) {
    const binary = `${DIST}/${target}/${name}`;
    const size = (await Deno.stat(binary)).size / 2 ** 20;
    const first: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < runs; i++) {
      const home = await Deno.makeTempDir();
      const e = { PATH: "/usr/bin:/bin", HOME: home, ...env };
      first.push(await timed([binary, "--version"], e));
      warm.push(await timed([binary, "--version"], e));
      await Deno.remove(home, { recursive: true });
    }
    const source: number[] = [];
    if (target === "x86_64-linux") {
      for (let i = 0; i < runs; i++) {
        source.push(await timed([...toolCommand(name), "--version"], {}));
      }
    }
    rows.push(
      `| ${target} | ${name} | ${size.toFixed(1)} MiB | ${median(first).toFixed(0)} ms | ${
        median(warm).toFixed(0)
      } ms | ${source.length ? `${median(source).toFixed(0)} ms` : "—"} |`,
    );
  }
  return rows;
}

console.log("| target | tool | size | first run (unpack) | warm start | deno run of the source |");
console.log("| --- | --- | ---: | ---: | ---: | ---: |");
for (const row of await measure("x86_64-linux", 5)) console.log(row);
for (const row of await measure("aarch64-linux", 3, { QEMU_LD_PREFIX: "/usr/aarch64-linux-gnu" })) {
  console.log(row);
}
console.log(
  `\n(${
    Object.keys(TOOLS).length
  } tools per target; every executable of a target shares one payload)`,
);
