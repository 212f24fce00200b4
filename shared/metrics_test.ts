/**
 * The metrics registry and the text format, read back by the parser of Debian's
 * python3-prometheus-client: label values with quotes, backslashes and newlines survive,
 * histograms are cumulative, and snapshots from several tasks merge by summing.
 */

import { assertEquals, assertThrows } from "../tests/assert.ts";
import { python } from "../tests/process.ts";
import { formatExposition, mergeFamilies, Metrics } from "./metrics.ts";

async function parsed(text: string) {
  const dir = await Deno.makeTempDir({ prefix: "piw-metrics-" });
  try {
    await Deno.writeTextFile(`${dir}/m.prom`, text);
    const out = await python("parse_metrics.py", [`${dir}/m.prom`]);
    assertEquals(out.code, 0, `${out.stdout}${out.stderr}\n${text}`);
    return JSON.parse(out.stdout) as {
      families: Record<string, string>;
      samples: [string, Record<string, string>, number][];
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("metrics: the real parser reads what we write, tricky labels and all", async () => {
  const m = new Metrics();
  const c = m.counter("t_requests_total", 'Requests\nby "kind" \\ path');
  c.inc({ kind: 'a "quoted"\nvalue \\ here' });
  c.inc({ kind: "plain" }, 2.5);
  m.gauge("t_level", "A level").set(-3);
  const h = m.histogram("t_seconds", "Latency", [0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 2]) h.observe(v, { op: "x" });
  const p = await parsed(formatExposition(m.snapshot()));
  assertEquals(p.families, { t_requests: "counter", t_level: "gauge", t_seconds: "histogram" });
  const get = (name: string, labels: Record<string, string>) =>
    p.samples.find(([n, l]) => n === name && JSON.stringify(l) === JSON.stringify(labels))?.[2];
  assertEquals(get("t_requests_total", { kind: 'a "quoted"\nvalue \\ here' }), 1);
  assertEquals(get("t_requests_total", { kind: "plain" }), 2.5);
  assertEquals(get("t_level", {}), -3);
  // cumulative: 0.05 and 0.1 are ≤ 0.1; 0.5 ≤ 1; 2 only in +Inf
  assertEquals(get("t_seconds_bucket", { op: "x", le: "0.1" }), 2);
  assertEquals(get("t_seconds_bucket", { op: "x", le: "1" }), 3);
  assertEquals(get("t_seconds_bucket", { op: "x", le: "+Inf" }), 4);
  assertEquals(get("t_seconds_count", { op: "x" }), 4);
  assertEquals(get("t_seconds_sum", { op: "x" }), 2.65);
});

Deno.test("metrics: snapshots of several tasks merge into one family each, summed", () => {
  const a = new Metrics();
  const b = new Metrics();
  for (const m of [a, b]) {
    m.histogram("t_seconds", "Latency", [1]).observe(0.5, { op: "x" });
    m.counter("t_total", "Things").inc({ k: "v" });
  }
  b.counter("t_total", "Things").inc({ k: "w" }, 5);
  const merged = mergeFamilies([a.snapshot(), b.snapshot()]);
  assertEquals(
    formatExposition(merged),
    [
      "# HELP t_seconds Latency",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{op="x",le="1"} 2',
      't_seconds_bucket{op="x",le="+Inf"} 2',
      't_seconds_sum{op="x"} 1',
      't_seconds_count{op="x"} 2',
      "# HELP t_total Things",
      "# TYPE t_total counter",
      't_total{k="v"} 2',
      't_total{k="w"} 5',
      "",
    ].join("\n"),
  );
  // the snapshots themselves were not changed by merging
  assertEquals(a.snapshot()[1]!.series[0]!.value, 1);
});

Deno.test("metrics: names that Prometheus would reject are refused where they are made", () => {
  const m = new Metrics();
  assertThrows(() => m.counter("t_requests", "a counter without _total"));
  assertThrows(() => m.gauge("9lives", "a name starting with a digit"));
  assertThrows(() => m.gauge("t_g", "").set(1, { "bad-label": "x" }));
  assertThrows(() => m.counter("t_total", "").inc({}, -1));
  m.gauge("t_same", "");
  assertThrows(() => m.counter("t_same", ""));
});
