/**
 * piw-monitor's screen, drawn from the farm's state and the UI's (focus, selection, dialog)
 * into a {@linkcode Canvas}, with the regions the mouse can hit:
 *
 * ```
 * piw-monitor · connected · last message 2s ago · master at ipc:///tmp/piw-status
 * Queue: cp311 12, cp39 3 · Built in the last hour: 45
 * Disk: 12.3 GiB free of 50.0 GiB (24%) · Downloads: 1,234 last month, 56,789 in all
 *  Label            ABI      State                         Time     Seen     Timeout
 *  slave-a          cp311    building numpy 1.26.0         3m12s    1s       3h00m
 *  …
 * Sent PAUSE to the master
 *  Pause (p)   Resume (r)   Kill Slave (k)   Terminate Master (t)   Quit (q)
 * ```
 *
 * The title row leads with what an operator must not miss, each in its own colour: ` PAUSED `
 * (reverse video, yellow) while the master says it is paused, and `no word from the master for
 * 2m10s` (white on red) once it has been silent for longer than its STATS period and a margin;
 * a master whose queue went away is `MASTER GONE` (white on red). A gone slave's row is greyed
 * (dim) until it is forgotten. {@linkcode windowTitle} says the same in the terminal's title.
 *
 * @module
 */

import { age, type FarmState } from "../farm_state.ts";
import {
  describeActivity,
  describeDisk,
  describeQueue,
  formatAge,
  formatCount,
} from "../format.ts";
import { Canvas, type Style } from "./canvas.ts";
import { Timestamp } from "../../shared/timestamp.ts";

/** The buttons at the bottom, in order, with their hot-keys. */
export const BUTTONS = [
  { label: "Pause", key: "p" },
  { label: "Resume", key: "r" },
  { label: "Kill Slave", key: "k" },
  { label: "Terminate Master", key: "t" },
  { label: "Quit", key: "q" },
] as const;

/** What the UI shows besides the farm. */
export interface UiState {
  /** Where the keyboard goes: the slave list or the buttons. */
  focus: "list" | "controls";
  /** The selected slave's id. */
  selected: number | null;
  /** The focused button (an index into {@linkcode BUTTONS}). */
  button: number;
  /** The first slave shown (the list scrolls to keep the selection in view). */
  scroll: number;
  /** The confirmation asked for Terminate Master, with Yes (0) or No (1) focused. */
  dialog: { yes: boolean } | null;
  /** The last thing the monitor has to say. */
  message: { text: string; warning: boolean } | null;
  /** When the master went away (ms), while it is away; null before it was ever there. */
  goneSince: number | null;
  /** The status queue's address, for the title. */
  statusQueue: string;
}

/** The UI's state on start: the list focused, nothing selected yet, no master yet. */
export function initialUi(statusQueue: string): UiState {
  return {
    focus: "list",
    selected: null,
    button: 0,
    scroll: 0,
    dialog: null,
    message: null,
    goneSince: null,
    statusQueue,
  };
}

/** What the mouse can hit. */
export type Target =
  | { kind: "slave"; slaveId: number }
  | { kind: "button"; index: number }
  | { kind: "dialog"; yes: boolean };

/** A region of one row the mouse can hit: columns `x0` to `x1` (exclusive). */
export interface Hit {
  readonly y: number;
  readonly x0: number;
  readonly x1: number;
  readonly target: Target;
}

/** The drawn screen and its hit regions. */
export interface Screen {
  readonly canvas: Canvas;
  readonly hits: Hit[];
}

const TITLE: Style = { reverse: true, bold: true };
const GONE: Style = { bg: "red", fg: "white", bold: true };
const PAUSED: Style = { reverse: true, bold: true, fg: "yellow" };
const PAUSED_NOTE: Style = { fg: "yellow", bold: true };
const LABEL: Style = { bold: true };
const PLAIN: Style = {};
const HEADER: Style = { underline: true, bold: true };
const SELECTED: Style = { reverse: true };
const SELECTED_IDLE: Style = { bold: true, underline: true };
const WARNING: Style = { fg: "yellow", bold: true };
const BUTTON: Style = { fg: "cyan" };
const BUTTON_FOCUSED: Style = { reverse: true, fg: "cyan" };
const DIALOG: Style = { bg: "blue", fg: "white", bold: true };
const DIALOG_FOCUSED: Style = { bg: "white", fg: "blue", bold: true };

const ACTIVITY_STYLES: Record<string, Style> = {
  idle: PLAIN,
  sleeping: { fg: "yellow" },
  building: { fg: "green" },
  sending: { fg: "blue", bold: true },
  cleaning: { fg: "magenta" },
  gone: { dim: true },
};

/** A gone slave's row (greyed), and the same when selected. */
const GONE_ROW: Style = { dim: true };
const GONE_SELECTED: Style = { dim: true, reverse: true };
const GONE_SELECTED_IDLE: Style = { dim: true, underline: true };

/** The rows above and below the slave list. */
const TOP = 4;
const BOTTOM = 2;

/** How many slave rows fit in a terminal of `rows` rows. */
export function listHeight(rows: number): number {
  return Math.max(1, rows - TOP - BOTTOM);
}

/** Draws the screen for `cols` × `rows` at `now` (ms); keeps `ui.scroll` showing the selection. */
export function layout(farm: FarmState, ui: UiState, cols: number, rows: number, now: number) {
  const canvas = new Canvas(cols, rows);
  const hits: Hit[] = [];
  title(canvas, farm, ui, now);
  statistics(canvas, farm);
  slaveList(canvas, hits, farm, ui, now);
  footer(canvas, hits, ui);
  if (ui.dialog) dialog(canvas, hits, ui.dialog.yes);
  return { canvas, hits } satisfies Screen;
}

function title(canvas: Canvas, farm: FarmState, ui: UiState, now: number): void {
  if (!farm.connected) {
    const text = ui.goneSince === null
      ? ` piw-monitor · waiting for the master at ${ui.statusQueue}`
      : ` piw-monitor · MASTER GONE for ${formatAge((now - ui.goneSince) / 1000)} · ` +
        `waiting for it at ${ui.statusQueue}`;
    canvas.text(0, 0, text, ui.goneSince === null ? TITLE : GONE, canvas.cols);
    return;
  }
  canvas.fill(0, 0, canvas.cols, 1, TITLE);
  let x = 0;
  const put = (text: string, style: Style) => {
    canvas.text(x, 0, text, style);
    x += text.length;
  };
  if (farm.paused) put(" PAUSED ", PAUSED);
  if (farm.quiet(now)) {
    put(
      ` no word from the master for ${formatAge(farm.silenceMs(now) / 1000)} ` +
        `(expected every ${formatAge(farm.statsEveryMs() / 1000)}) `,
      GONE,
    );
  }
  const last = farm.lastMessage === null
    ? "no message yet"
    : `last message ${formatAge((now - farm.lastMessage) / 1000)} ago`;
  put(` piw-monitor · connected · ${last} · master at ${ui.statusQueue}`, TITLE);
}

/**
 * The terminal's title for the farm's state: `piw-monitor`, led by `PAUSED`, `NO WORD` or
 * `MASTER GONE` as the title row is.
 */
export function windowTitle(farm: FarmState, ui: UiState, now: number): string {
  const marks = !farm.connected
    ? (ui.goneSince === null ? [] : ["MASTER GONE"])
    : [...(farm.paused ? ["PAUSED"] : []), ...(farm.quiet(now) ? ["NO WORD"] : [])];
  return [...marks, `piw-monitor ${ui.statusQueue}`].join(" · ");
}

function statistics(canvas: Canvas, farm: FarmState): void {
  const s = farm.stats;
  const fields: [string, string][][] = [
    [["Queue: ", describeQueue(farm)], [
      "Built in the last hour: ",
      s ? formatCount(s.builds_last_hour) : "?",
    ]],
    [["Disk: ", describeDisk(farm)], [
      "Downloads: ",
      s
        ? `${formatCount(s.downloads_last_month)} last month, ${
          formatCount(s.downloads_all)
        } in all`
        : "?",
    ]],
  ];
  fields.forEach((line, i) => {
    let x = 1;
    line.forEach(([label, value], j) => {
      if (j > 0) {
        canvas.text(x, 1 + i, " · ");
        x += 3;
      }
      canvas.text(x, 1 + i, label, LABEL);
      x += label.length;
      canvas.text(x, 1 + i, value);
      x += value.length;
      if (i === 0 && j === 0 && farm.paused) {
        const note = " (paused: nothing is handed out)";
        canvas.text(x, 1, note, PAUSED_NOTE);
        x += note.length;
      }
    });
  });
}

/** The columns of the slave list: title and width (0: what is left). */
const COLUMNS = [
  ["Label", 16],
  ["ABI", 8],
  ["State", 0],
  ["Time", 8],
  ["Seen", 8],
  ["Timeout", 8],
] as const;

function columnWidths(cols: number): number[] {
  const fixed = COLUMNS.reduce((n, [, w]) => n + w + 1, 1);
  return COLUMNS.map(([, w]) => w || Math.max(10, cols - fixed));
}

function slaveList(canvas: Canvas, hits: Hit[], farm: FarmState, ui: UiState, now: number): void {
  const widths = columnWidths(canvas.cols);
  let x = 1;
  COLUMNS.forEach(([name], i) => {
    canvas.text(x, 3, name, HEADER, widths[i]);
    x += widths[i]! + 1;
  });
  const slaves = farm.sorted();
  const height = listHeight(canvas.rows);
  const index = slaves.findIndex((s) => s.slaveId === ui.selected);
  if (index >= 0) {
    ui.scroll = Math.min(ui.scroll, index);
    ui.scroll = Math.max(ui.scroll, index - height + 1);
  }
  ui.scroll = Math.max(0, Math.min(ui.scroll, slaves.length - height));
  if (slaves.length === 0) {
    canvas.text(1, TOP, farm.connected ? "no build slaves" : "", { dim: true });
  }
  const at = Timestamp.fromEpochSeconds(now / 1000);
  for (let row = 0; row < height; row++) {
    const slave = slaves[ui.scroll + row];
    if (!slave) break;
    const y = TOP + row;
    const selected = slave.slaveId === ui.selected;
    const gone = slave.activity === "gone";
    const base = selected
      ? (ui.focus === "list"
        ? (gone ? GONE_SELECTED : SELECTED)
        : (gone ? GONE_SELECTED_IDLE : SELECTED_IDLE))
      : (gone ? GONE_ROW : PLAIN);
    canvas.fill(0, y, canvas.cols, 1, base);
    const cells = [
      slave.label,
      slave.abi,
      describeActivity(slave),
      formatAge(age(slave.since, at)),
      formatAge(age(slave.lastSeen, at)),
      slave.timeout ? formatAge(slave.timeout.totalSeconds()) : "?",
    ];
    let col = 1;
    cells.forEach((text, i) => {
      const style = i === 2 && !selected ? ACTIVITY_STYLES[slave.activity]! : base;
      canvas.text(col, y, text, style, widths[i]);
      col += widths[i]! + 1;
    });
    hits.push({ y, x0: 0, x1: canvas.cols, target: { kind: "slave", slaveId: slave.slaveId } });
  }
}

function footer(canvas: Canvas, hits: Hit[], ui: UiState): void {
  const y = canvas.rows - 1;
  if (ui.message) {
    canvas.text(1, y - 1, ui.message.text, ui.message.warning ? WARNING : PLAIN, canvas.cols - 1);
  }
  let x = 1;
  BUTTONS.forEach((button, index) => {
    const text = ` ${button.label} (${button.key}) `;
    const focused = ui.focus === "controls" && ui.button === index;
    canvas.text(x, y, text, focused ? BUTTON_FOCUSED : BUTTON);
    hits.push({ y, x0: x, x1: x + text.length, target: { kind: "button", index } });
    x += text.length + 2;
  });
}

function dialog(canvas: Canvas, hits: Hit[], yes: boolean): void {
  const question = "Terminate the master?";
  const width = Math.min(canvas.cols, 40);
  const x = Math.max(0, Math.floor((canvas.cols - width) / 2));
  const y = Math.max(0, Math.floor(canvas.rows / 2) - 2);
  canvas.fill(x, y, width, 5, DIALOG);
  canvas.text(x + Math.floor((width - question.length) / 2), y + 1, question, DIALOG);
  const yesText = " Yes (y) ";
  const noText = " No (n) ";
  const yesX = x + Math.floor(width / 2) - yesText.length - 2;
  const noX = x + Math.floor(width / 2) + 2;
  canvas.text(yesX, y + 3, yesText, yes ? DIALOG_FOCUSED : DIALOG);
  canvas.text(noX, y + 3, noText, yes ? DIALOG : DIALOG_FOCUSED);
  hits.push({
    y: y + 3,
    x0: yesX,
    x1: yesX + yesText.length,
    target: { kind: "dialog", yes: true },
  });
  hits.push({ y: y + 3, x0: noX, x1: noX + noText.length, target: { kind: "dialog", yes: false } });
}
