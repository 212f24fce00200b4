/**
 * Metrics in Prometheus's data model, and its text exposition format (version 0.0.4, as
 * node_exporter's textfile collector reads it). Each master task keeps a {@linkcode Metrics}
 * registry; its snapshots (plain data, {@linkcode Family}) travel to Big Brother, which merges
 * them ({@linkcode mergeFamilies}: the same series from several tasks is summed, so three
 * Oracles make one latency histogram) and writes them ({@linkcode formatExposition}).
 *
 * @module
 */

/** A metric's kind. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One series of a family: its labels and its value (a counter's or a gauge's) or histogram. */
export interface Series {
  /** Label names and values, sorted by name. */
  labels: [string, string][];
  /** A counter's or gauge's value. */
  value?: number;
  /** A histogram's count of observations in each bucket (not cumulative), then above the last. */
  counts?: number[];
  /** A histogram's sum of observations. */
  sum?: number;
}

/** A metric family as a snapshot: its name, help, type, and series. */
export interface Family {
  /** The metric's name (a histogram's `_bucket`, `_sum` and `_count` are added). */
  name: string;
  /** What it measures. */
  help: string;
  /** Its kind. */
  type: MetricType;
  /** A histogram's bucket upper bounds, ascending. */
  bounds?: number[];
  /** Its series. */
  series: Series[];
}

/** Labels as given to a metric: name → value. */
export type Labels = Record<string, string>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Bounds (seconds) for request latencies: 0.5 ms to 10 s. */
export const LATENCY_BOUNDS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  10,
];

function sortedLabels(labels: Labels): [string, string][] {
  const entries = Object.entries(labels);
  for (const [name] of entries) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new Error(`bad label ${name}`);
  }
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function seriesKey(labels: [string, string][]): string {
  return JSON.stringify(labels);
}

/** A family being kept: its description and its series by label set. */
class Kept {
  readonly series = new Map<string, Series>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly bounds?: number[],
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${name}`);
    if (type === "counter" && !name.endsWith("_total")) {
      throw new Error(`a counter's name ends in _total: ${name}`);
    }
  }

  at(labels: Labels): Series {
    const sorted = sortedLabels(labels);
    const key = seriesKey(sorted);
    let s = this.series.get(key);
    if (!s) {
      s = this.type === "histogram"
        ? { labels: sorted, counts: new Array(this.bounds!.length + 1).fill(0), sum: 0 }
        : { labels: sorted, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  snapshot(): Family {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      ...(this.bounds ? { bounds: [...this.bounds] } : {}),
      series: [...this.series.values()].map((s) => ({
        labels: s.labels.map(([k, v]) => [k, v] as [string, string]),
        ...(s.counts ? { counts: [...s.counts], sum: s.sum } : { value: s.value }),
      })),
    };
  }
}

/** A counter: only goes up. */
export interface Counter {
  /** Adds `by` (default 1) to the series of `labels`. */
  inc(labels?: Labels, by?: number): void;
}

/** A gauge: a value that goes up and down. */
export interface Gauge {
  /** Sets the series of `labels` to `value`. */
  set(value: number, labels?: Labels): void;
  /** Forgets every series (before setting the current ones again). */
  reset(): void;
}

/** A histogram: observations counted in buckets, with their sum. */
export interface Histogram {
  /** Counts one observation in the series of `labels`. */
  observe(value: number, labels?: Labels): void;
}

/** A task's metrics. */
export class Metrics {
  readonly #families = new Map<string, Kept>();
  readonly #collectors: (() => void)[] = [];

  #family(name: string, help: string, type: MetricType, bounds?: readonly number[]): Kept {
    const known = this.#families.get(name);
    if (known) {
      if (known.type !== type) throw new Error(`${name} is a ${known.type} already`);
      return known;
    }
    const kept = new Kept(name, help, type, bounds ? [...bounds] : undefined);
    this.#families.set(name, kept);
    return kept;
  }

  /** A counter (its name ends in `_total`). */
  counter(name: string, help: string): Counter {
    const f = this.#family(name, help, "counter");
    return {
      inc(labels = {}, by = 1) {
        if (!(by >= 0)) throw new Error(`a counter only goes up: ${by}`);
        f.at(labels).value! += by;
      },
    };
  }

  /** A gauge. */
  gauge(name: string, help: string): Gauge {
    const f = this.#family(name, help, "gauge");
    return {
      set(value, labels = {}) {
        f.at(labels).value = value;
      },
      reset() {
        f.series.clear();
      },
    };
  }

  /** A histogram with the given bucket upper bounds (ascending). */
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    const f = this.#family(name, help, "histogram", bounds);
    return {
      observe(value, labels = {}) {
        const s = f.at(labels);
        let i = 0;
        while (i < f.bounds!.length && value > f.bounds![i]!) i++;
        s.counts![i]!++;
        s.sum! += value;
      },
    };
  }

  /** Runs `fn` before each snapshot, to set gauges from the task's state. */
  onCollect(fn: () => void): void {
    this.#collectors.push(fn);
  }

  /** Whether any metric is defined. */
  get empty(): boolean {
    return this.#families.size === 0;
  }

  /** The current values, as plain data. */
  snapshot(): Family[] {
    for (const collect of this.#collectors) collect();
    return [...this.#families.values()].map((f) => f.snapshot());
  }
}

/**
 * Merges snapshots: families of one name become one, and a series (by its labels) present in
 * several is summed (counts, sums and values alike). A family whose type or buckets disagree
 * with the first of its name is left out.
 */
export function mergeFamilies(snapshots: Family[][]): Family[] {
  const merged = new Map<string, { family: Family; series: Map<string, Series> }>();
  for (const snapshot of snapshots) {
    for (const f of snapshot) {
      let m = merged.get(f.name);
      if (!m) {
        m = { family: { ...f, series: [] }, series: new Map() };
        merged.set(f.name, m);
      } else if (
        m.family.type !== f.type || JSON.stringify(m.family.bounds) !== JSON.stringify(f.bounds)
      ) {
        continue;
      }
      for (const s of f.series) {
        const key = seriesKey(s.labels);
        const known = m.series.get(key);
        if (!known) {
          m.series.set(key, { ...s, ...(s.counts ? { counts: [...s.counts] } : {}) });
          continue;
        }
        if (known.counts && s.counts) {
          s.counts.forEach((n, i) => known.counts![i] = (known.counts![i] ?? 0) + n);
          known.sum = (known.sum ?? 0) + (s.sum ?? 0);
        } else {
          known.value = (known.value ?? 0) + (s.value ?? 0);
        }
      }
    }
  }
  return [...merged.values()].map(({ family, series }) => ({
    ...family,
    series: [...series.values()],
  }));
}

function number(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function labelText(labels: [string, string][]): string {
  if (labels.length === 0) return "";
  return `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/** The families in Prometheus's text exposition format (0.0.4), sorted by name. */
export function formatExposition(families: Family[]): string {
  const lines: string[] = [];
  for (const f of [...families].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.series) {
      if (f.type !== "histogram") {
        lines.push(`${f.name}${labelText(s.labels)} ${number(s.value ?? 0)}`);
        continue;
      }
      const bounds = f.bounds ?? [];
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += s.counts?.[i] ?? 0;
        lines.push(
          `${f.name}_bucket${labelText([...s.labels, ["le", number(le)]])} ${cumulative}`,
        );
      });
      cumulative += s.counts?.[bounds.length] ?? 0;
      lines.push(`${f.name}_bucket${labelText([...s.labels, ["le", "+Inf"]])} ${cumulative}`);
      lines.push(`${f.name}_sum${labelText(s.labels)} ${number(s.sum ?? 0)}`);
      lines.push(`${f.name}_count${labelText(s.labels)} ${cumulative}`);
    }
  }
  return lines.join("\n") + "\n";
}
