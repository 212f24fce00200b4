/**
 * The server-side plots: well-formed XML by Python's own parser, bars as tall as their values
 * on a round scale, stacked in order, and text that could break the markup escaped.
 */

import { assertEquals } from "../../tests/assert.ts";
import { python } from "../../tests/process.ts";
import { daily, niceStep, renderPlot } from "./plot.ts";

async function parse(svgs: string[]) {
  const out = await python("parse_svg.py", [], JSON.stringify(svgs));
  assertEquals(out.code, 0, out.stdout + out.stderr);
  return JSON.parse(out.stdout) as {
    tag: string;
    title: string;
    bars: [number, number, number, number, string][];
  }[];
}

Deno.test("plot: stacked bars on a round scale, well-formed XML, escaped text", async () => {
  const svg = renderPlot({
    title: 'Builds of <b>"x" & y</b>',
    periods: ["2026-12-03", "2026-12-04", "2026-12-05"],
    series: [
      { label: "succeeded", color: "#2a2", values: [10, 0, 30] },
      { label: "failed <&>", color: "#c22", values: [10, 5, 0] },
    ],
  });
  const [plot] = await parse([svg]);
  assertEquals(plot!.tag, "{http://www.w3.org/2000/svg}svg");
  assertEquals(plot!.title, 'Builds of <b>"x" & y</b>');
  const bars = plot!.bars;
  assertEquals(bars.map((b) => b[4]), [
    "2026-12-03: 10 succeeded",
    "2026-12-03: 10 failed <&>",
    "2026-12-04: 5 failed <&>",
    "2026-12-05: 30 succeeded",
  ]);
  // heights in proportion to the values; the failed bar sits on top of the succeeded one
  const [a, b, c, d] = bars;
  assertEquals(Math.round(a![3] / c![3]), 2);
  assertEquals(Math.round(d![3] / a![3]), 3);
  assertEquals(Math.round(b![1] + b![3]), Math.round(a![1]));
  assertEquals(a![0], b![0]);
});

Deno.test("plot: an empty plot is still a plot; days without rows count 0", async () => {
  const { periods, values } = daily([["2026-12-04", 7]], new Date("2026-12-05T10:00:00Z"), 3);
  assertEquals(periods, ["2026-12-03", "2026-12-04", "2026-12-05"]);
  assertEquals(values, [0, 7, 0]);
  const [empty] = await parse([renderPlot({ title: "Nothing", periods: [], series: [] })]);
  assertEquals(empty!.bars, []);
  assertEquals([niceStep(0), niceStep(7), niceStep(40), niceStep(1234)], [1, 2, 10, 500]);
});

Deno.test("plot: the days are those of each call's day and length, whatever came before", () => {
  const at = (iso: string, days: number) => daily([], new Date(iso), days).periods;
  const first = at("2026-12-05T01:00:00Z", 2);
  first.push("changed by its caller");
  assertEquals(at("2026-12-05T23:00:00Z", 2), ["2026-12-04", "2026-12-05"]);
  assertEquals(at("2026-12-06T00:00:01Z", 2), ["2026-12-05", "2026-12-06"]);
  assertEquals(at("2026-12-06T00:00:01Z", 3), ["2026-12-04", "2026-12-05", "2026-12-06"]);
  assertEquals(at("2026-12-05T12:00:00Z", 1), ["2026-12-05"]);
});

Deno.test("plot: plots alike but for their titles keep their own titles; other values, other bars", async () => {
  const plot = (title: string, values: number[]) =>
    renderPlot({
      title,
      periods: ["2026-12-04", "2026-12-05"],
      series: [{ label: "downloads", color: "#15c", values }],
    });
  const [a, b, c, d] = await parse([
    plot("Downloads of a", [3, 1]),
    plot("Downloads of <b>", [3, 1]),
    plot("Downloads of a", [3, 2]),
    plot("Downloads of a", [3, 1]),
  ]);
  assertEquals([a!.title, b!.title, c!.title], [
    "Downloads of a",
    "Downloads of <b>",
    "Downloads of a",
  ]);
  assertEquals(b!.bars, a!.bars);
  assertEquals(d, a);
  assertEquals(c!.bars.map((bar) => bar[4]), [
    "2026-12-04: 3 downloads",
    "2026-12-05: 2 downloads",
  ]);
  assertEquals(a!.bars.map((bar) => bar[4]), [
    "2026-12-04: 3 downloads",
    "2026-12-05: 1 downloads",
  ]);
});
