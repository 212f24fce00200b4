/**
 * What the sandbox costs a build: the wall time of `build()` of a tiny pure-Python package from
 * the fake PyPI under bubblewrap and without a sandbox, against the same `pip wheel` run
 * directly (a build also runs a second, sandboxed command: the wheel's library scan). The three
 * take turns within each run. Then the cost of one sandboxed command alone: `/bin/true` through
 * `Sandbox.run` in each mode. Prints Markdown tables of the medians of `--runs` runs (default 9).
 *
 * Run: deno run -A tests/bench/sandbox_overhead.ts [--runs 9]
 *
 * @module
 */

import { Duration } from "../../shared/duration.ts";
import { Logger } from "../../shared/log.ts";
import { build } from "../../slave/builder.ts";
import { probeInterpreter } from "../../slave/interpreter.ts";
import { Sandbox } from "../../slave/sandbox.ts";
import { TailBuffer } from "../../slave/tail.ts";
import { Workspace } from "../../slave/workspace.ts";
import { FakePyPI } from "../fixtures/fake_pypi.ts";
import { PYTHON } from "../process.ts";
import { median } from "./median.ts";

const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1] || 9);
const logger = new Logger("bench");
await using pypi = new FakePyPI();
await pypi.release("tiny", "1.0");
const interpreter = await probeInterpreter(PYTHON);
const sandboxes = {
  bwrap: await Sandbox.create({ mode: "bwrap", logger }),
  none: await Sandbox.create({ mode: "none", logger }),
};
const buildDir = await Deno.makeTempDir();

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function viaBuilder(sandbox: Sandbox): Promise<void> {
  const r = await build({
    package: "tiny",
    version: "1.0",
    indexUrl: pypi.simpleUrl,
    interpreter,
    buildDir,
    timeout: Duration.of({ minutes: 1 }),
    sandbox,
    logger,
  });
  await r.cleanup();
  if (!r.status) throw new Error(r.output);
}

async function plainPip(): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: buildDir });
  const out = await new Deno.Command(PYTHON, {
    args: [
      "-m",
      "pip",
      "wheel",
      "--no-input",
      "--disable-pip-version-check",
      "--no-cache-dir",
      "--verbose",
      "--no-deps",
      "--no-binary",
      ":all:",
      "--no-build-isolation",
      "--wheel-dir",
      dir,
      "--index-url",
      pypi.simpleUrl,
      "tiny==1.0",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

async function trueIn(sandbox: Sandbox, workspace: Workspace): Promise<void> {
  const end = await sandbox.run({
    command: ["/bin/true"],
    workspace,
    network: true,
    timeout: Duration.of({ minutes: 1 }),
    output: new TailBuffer(1024),
  });
  if (end.code !== 0) throw new Error(`/bin/true exited with ${end.code}`);
}

const builds: Record<string, number[]> = { "plain pip wheel": [], none: [], bwrap: [] };
const commands: Record<string, number[]> = { none: [], bwrap: [] };
try {
  await viaBuilder(sandboxes.bwrap); // warm the page cache
  for (let i = 0; i < runs; i++) {
    builds["plain pip wheel"]!.push(await timed(plainPip));
    builds.none!.push(await timed(() => viaBuilder(sandboxes.none)));
    builds.bwrap!.push(await timed(() => viaBuilder(sandboxes.bwrap)));
  }
  const workspace = await Workspace.create(buildDir);
  for (let i = 0; i < runs; i++) {
    for (const mode of ["none", "bwrap"] as const) {
      commands[mode]!.push(await timed(() => trueIn(sandboxes[mode], workspace)));
    }
  }
} finally {
  await Deno.remove(buildDir, { recursive: true });
}

const ms = (x: number) => `${x.toFixed(0)} ms`;
const base = median(builds["plain pip wheel"]!);
console.log(
  `| build of a tiny pure-Python package (median of ${runs}) | wall time | vs plain pip |`,
);
console.log("| --- | ---: | ---: |");
for (const [name, xs] of Object.entries(builds)) {
  const m = median(xs);
  console.log(`| ${name} | ${ms(m)} | ${name === "plain pip wheel" ? "—" : ms(m - base)} |`);
}
console.log(`\n| one sandboxed /bin/true (median of ${runs}) | wall time |`);
console.log("| --- | ---: |");
for (const [name, xs] of Object.entries(commands)) console.log(`| ${name} | ${ms(median(xs))} |`);
