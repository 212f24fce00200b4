/**
 * The plots of builds and downloads per day, drawn on the server as SVG, through the whole
 * farm: a real slave builds one package and fails another, piw-logger records downloads (today
 * and two days ago), and the stats page the master writes, and the project's page once it is
 * written again, carry both plots, well-formed XML by Python's parser, with a bar for each of
 * those days and counts.
 */

import { assertEquals } from "../assert.ts";
import { eventually, startFarm, startSlave } from "../farm.ts";
import { combinedLine } from "../fixtures/access_log.ts";
import { python, runTool } from "../process.ts";

interface Svg {
  title: string;
  bars: [number, number, number, number, string][];
}

/** The inline SVGs of a page, parsed by Python's XML parser. */
async function plotsOf(html: string): Promise<Svg[]> {
  const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
  const out = await python("parse_svg.py", [], JSON.stringify(svgs));
  assertEquals(out.code, 0, out.stdout + out.stderr);
  return JSON.parse(out.stdout);
}

const day = (daysAgo: number) =>
  new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);

Deno.test("plots: the stats and project pages show builds and downloads per day as SVG", async () => {
  await using farm = await startFarm();
  const { pypi, master } = farm;
  await pypi.release("plotted-good", "1.0");
  await pypi.release("plotted-bad", "1.0", { setupPy: 'raise SystemExit("no")\n' });
  await using slave = await startSlave({ master, label: "plotter" });
  await master.waitForFile("project/plotted-bad/index.html", "failed after", 120_000);
  const wheel = "plotted_good-1.0-py3-none-any.whl";
  await master.waitForFile("simple/plotted-good/index.html", wheel, 120_000);
  const path = `/simple/plotted-good/${wheel}`;
  const lines = [
    combinedLine(path),
    combinedLine(path),
    combinedLine(path),
    combinedLine(path, { time: new Date(Date.now() - 2 * 86_400_000) }),
  ];
  const logged = await runTool("piw-logger", ["--log-queue", master.logQueue], {
    stdin: lines.join("\n") + "\n",
  });
  assertEquals(logged.code, 0, logged.stderr);

  const today = day(0);
  let plots: Svg[] = [];
  await eventually("the stats page plots the builds and the downloads", async () => {
    const html = await Deno.readTextFile(`${master.output}/stats.html`).catch(() => "");
    plots = html.includes("<svg") ? await plotsOf(html) : [];
    const titles = plots.flatMap((p) => p.bars.map((b) => b[4]));
    return titles.includes(`${today}: 3 downloads`);
  }, 60_000);
  assertEquals(plots.map((p) => p.title), [
    "Builds per day, last 30 days",
    "Downloads per day, last 30 days",
  ]);
  assertEquals(plots[0]!.bars.map((b) => b[4]), [`${today}: 1 succeeded`, `${today}: 1 failed`]);
  assertEquals(plots[1]!.bars.map((b) => b[4]), [
    `${day(2)}: 1 downloads`,
    `${today}: 3 downloads`,
  ]);
  // three times as tall
  assertEquals(Math.round(plots[1]!.bars[1]![3] / plots[1]!.bars[0]![3]), 3);

  // the project's page, written again (as piw-rebuild asks), shows its own
  const rebuilt = await runTool("piw-rebuild", [
    "--import-queue",
    master.importQueue,
    "-y",
    "project",
    "plotted-good",
  ]);
  assertEquals(rebuilt.code, 0, rebuilt.stderr);
  let project: Svg[] = [];
  await eventually("the project page plots its downloads", async () => {
    const html = await Deno.readTextFile(`${master.output}/project/plotted-good/index.html`);
    project = await plotsOf(html);
    return project[1]?.bars.length === 2;
  });
  assertEquals(project.map((p) => p.title), [
    "Builds of plotted-good per day, last 30 days",
    "Downloads of plotted-good per day, last 30 days",
  ]);
  assertEquals(project[0]!.bars.map((b) => b[4]), [`${today}: 1 succeeded`]);
  assertEquals(project[1]!.bars.map((b) => b[4]), [
    `${day(2)}: 1 downloads`,
    `${today}: 3 downloads`,
  ]);
  assertEquals((await slave.stop()).code, 0);
});
