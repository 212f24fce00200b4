/**
 * Plots drawn on the server as SVG, for pages that are read without JavaScript: counts per
 * period (a day, a week) as bars, several series stacked (builds that succeeded and failed), with
 * a scale, the periods' labels, and the figures as text for screen readers (`<title>` and
 * `<desc>`, and a `<title>` per bar that browsers show on hover). The SVG is well-formed XML
 * and goes inline into the page.
 *
 * @module
 */

/** One stacked series: its name, its colour and one value per period. */
export interface PlotSeries {
  /** Its name, in the legend. */
  label: string;
  /** A CSS colour. */
  color: string;
  /** One value per period, in the order of {@linkcode Plot.periods}. */
  values: number[];
}

/** What a plot shows. */
export interface Plot {
  /** Its title, drawn above it. */
  title: string;
  /** The periods' labels, oldest first (e.g. `2026-12-05`). */
  periods: string[];
  /** The series, stacked bottom to top. */
  series: PlotSeries[];
}

const WIDTH = 640;
const HEIGHT = 220;
const LEFT = 48;
const RIGHT = 8;
const TOP = 28;
const BOTTOM = 36;

const SPECIAL = /[&<>"]/;

function escape(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** A round step for about `ticks` gridlines up to `max`: 1, 2 or 5 times a power of ten. */
export function niceStep(max: number, ticks = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return Math.max(1, step);
}

const number = new Intl.NumberFormat("en");

/** A count as people read it: 1,234 (small whole numbers need no formatter). */
function figure(n: number): string {
  return Number.isInteger(n) && n >= 0 && n < 1000 ? String(n) : number.format(n);
}

/** Short figures for the scale: 1,500 → 1.5k, 2,000,000 → 2M. */
function short(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
  return figure(n);
}

/** The start of every plot's `<svg>` element. */
const OPEN =
  `<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
  `width="100%" role="img" font-family="sans-serif" font-size="11">`;

/** A plot drawn without its title: its description, and what follows the title. */
interface Drawing {
  desc: string;
  rest: string;
}

/**
 * Plots drawn lately, by what they show apart from their titles (see {@linkcode drawingKey}):
 * most projects' plots are alike (no builds or downloads in the period), and a full rewrite
 * draws two for each of thousands of pages.
 */
const drawings = new Map<string, Drawing>();
/** How many drawings are kept (the oldest goes first). */
const DRAWINGS_KEPT = 64;

/** What a plot's drawing depends on: every period, and every series' label, colour and values. */
function drawingKey(plot: Plot): string {
  let key = plot.periods.join(" ");
  for (const s of plot.series) key += `\n${s.label}\t${s.color}\t${s.values.join(" ")}`;
  return key;
}

/** The plot as an inline `<svg>` element. */
export function renderPlot(plot: Plot): string {
  const key = drawingKey(plot);
  let drawing = drawings.get(key);
  if (drawing === undefined) {
    drawing = draw(plot);
    if (drawings.size >= DRAWINGS_KEPT) drawings.delete(drawings.keys().next().value!);
    drawings.set(key, drawing);
  }
  const title = escape(plot.title);
  return `${OPEN}<title>${title}</title>${drawing.desc}` +
    `<text x="${LEFT}" y="16" font-size="13" font-weight="bold">${title}</text>${drawing.rest}`;
}

/** Draws a plot but for its title. */
function draw(plot: Plot): Drawing {
  // plain loops: a project page has two plots, and a full rewrite writes thousands of pages
  const n = plot.periods.length;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (const s of plot.series) total += Math.max(0, s.values[i] ?? 0);
    if (total > peak) peak = total;
  }
  const step = niceStep(peak);
  const top = Math.max(step, Math.ceil(peak / step) * step);
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const y = (v: number) => TOP + plotH - (v / top) * plotH;
  const slot = n ? plotW / n : plotW;
  const barW = Math.max(1, slot * 0.8);
  const parts: string[] = [];
  let sum = "";
  for (const s of plot.series) {
    let all = 0;
    for (const v of s.values) all += v;
    sum += `${sum ? ", " : ""}${s.label}: ${figure(all)}`;
  }
  const range = n ? `${plot.periods[0]} to ${plot.periods[n - 1]}` : "no data";
  const desc = `<desc>${escape(`${range}. ${sum}.`)}</desc>`;
  // the legend, right-aligned on the title's line
  let lx = WIDTH - RIGHT;
  for (const s of [...plot.series].reverse()) {
    const w = 14 + s.label.length * 6.5;
    lx -= w;
    parts.push(
      `<rect x="${lx}" y="7" width="10" height="10" fill="${escape(s.color)}"/>`,
      `<text x="${lx + 13}" y="16">${escape(s.label)}</text>`,
    );
    lx -= 8;
  }
  // the scale: gridlines and their figures
  for (let v = 0; v <= top; v += step) {
    const gy = y(v).toFixed(1);
    parts.push(
      `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${gy}" y2="${gy}" stroke="#ddd"/>`,
      `<text x="${LEFT - 4}" y="${gy}" dy="4" text-anchor="end" fill="#555">${short(v)}</text>`,
    );
  }
  // the bars, stacked
  plot.periods.forEach((period, i) => {
    const x = (LEFT + i * slot + (slot - barW) / 2).toFixed(1);
    let base = 0;
    for (const s of plot.series) {
      const v = Math.max(0, s.values[i] ?? 0);
      if (v === 0) continue;
      const y1 = y(base + v);
      const h = Math.max(0.5, y(base) - y1);
      parts.push(
        `<rect x="${x}" y="${y1.toFixed(1)}" width="${barW.toFixed(1)}" height="${
          h.toFixed(1)
        }" fill="${escape(s.color)}"><title>${
          escape(`${period}: ${figure(v)} ${s.label}`)
        }</title></rect>`,
      );
      base += v;
    }
  });
  // the periods' labels: the first, the last, and evenly between (at most 6)
  const every = Math.max(1, Math.ceil(n / 6));
  plot.periods.forEach((period, i) => {
    if (i % every !== 0 && i !== n - 1) return;
    if (i !== n - 1 && n - 1 - i < every / 2) return; // too close to the last
    const x = (LEFT + i * slot + slot / 2).toFixed(1);
    parts.push(
      `<text x="${x}" y="${HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555">${
        escape(period)
      }</text>`,
    );
  });
  parts.push(
    `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${TOP + plotH}" y2="${
      TOP + plotH
    }" stroke="#888"/>`,
    "</svg>",
  );
  return { desc, rest: parts.join("") };
}

/**
 * Counts by day for the `days` days up to `today` (oldest first), from rows of a day
 * (`YYYY-MM-DD`) and a count; days without a row count 0.
 */
export function daily(
  rows: readonly (readonly [string, number])[],
  today: Date,
  days: number,
): { periods: string[]; values: number[] } {
  const byDay = new Map<string, number>(rows);
  const periods = daysUpTo(today, days);
  return { periods, values: periods.map((d) => byDay.get(d) ?? 0) };
}

/** The last {@linkcode daysUpTo} made: every page written on one day has the same days. */
let lastDays: { key: string; periods: readonly string[] } | undefined;

/** The `days` days up to `today` (`YYYY-MM-DD`, oldest first), a fresh array each call. */
function daysUpTo(today: Date, days: number): string[] {
  const key = `${today.toISOString().slice(0, 10)} ${days}`;
  if (lastDays?.key !== key) {
    const periods: string[] = [];
    for (let i = days - 1; i >= 0; i--) {
      periods.push(new Date(today.getTime() - i * 86_400_000).toISOString().slice(0, 10));
    }
    lastDays = { key, periods };
  }
  return [...lastDays.periods];
}
