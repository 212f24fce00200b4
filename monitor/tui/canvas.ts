/**
 * A grid of styled character cells that the monitor's layout draws into and a view puts on
 * the screen, row by row. Each row serialises to the escape sequences that draw it, so a view
 * can compare rows with the last frame and write only those that changed.
 *
 * @module
 */

import { printable } from "../format.ts";

/** The 8 ANSI colours (and the terminal's default). */
export type Colour =
  | "default"
  | "black"
  | "red"
  | "green"
  | "yellow"
  | "blue"
  | "magenta"
  | "cyan"
  | "white";

/** How a cell looks. */
export interface Style {
  readonly fg?: Colour;
  readonly bg?: Colour;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly reverse?: boolean;
  readonly underline?: boolean;
}

const CODES: Record<Colour, number> = {
  black: 0,
  red: 1,
  green: 2,
  yellow: 3,
  blue: 4,
  magenta: 5,
  cyan: 6,
  white: 7,
  default: 9,
};

/** The SGR escape for a style (starting from a reset). */
export function sgr(style: Style): string {
  const codes = [0];
  if (style.bold) codes.push(1);
  if (style.dim) codes.push(2);
  if (style.underline) codes.push(4);
  if (style.reverse) codes.push(7);
  if (style.fg && style.fg !== "default") codes.push(30 + CODES[style.fg]);
  if (style.bg && style.bg !== "default") codes.push(40 + CODES[style.bg]);
  return `\x1b[${codes.join(";")}m`;
}

const PLAIN: Style = {};

/**
 * Whether a character takes two cells on a terminal (East Asian Wide and Fullwidth, and the
 * emoji shown as pictures), as wcwidth has it.
 */
export function isWide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x231a && cp <= 0x231b) ||
    (cp >= 0x2329 && cp <= 0x232a) || (cp >= 0x23e9 && cp <= 0x23ec) || cp === 0x23f0 ||
    cp === 0x23f3 || (cp >= 0x25fd && cp <= 0x25fe) || (cp >= 0x2614 && cp <= 0x2615) ||
    (cp >= 0x2648 && cp <= 0x2653) || cp === 0x267f || cp === 0x2693 || cp === 0x26a1 ||
    (cp >= 0x26aa && cp <= 0x26ab) || (cp >= 0x26bd && cp <= 0x26be) ||
    (cp >= 0x26c4 && cp <= 0x26c5) || cp === 0x26ce || cp === 0x26d4 || cp === 0x26ea ||
    (cp >= 0x26f2 && cp <= 0x26f3) || cp === 0x26f5 || cp === 0x26fa || cp === 0x26fd ||
    cp === 0x2705 || (cp >= 0x270a && cp <= 0x270b) || cp === 0x2728 || cp === 0x274c ||
    cp === 0x274e || (cp >= 0x2753 && cp <= 0x2755) || cp === 0x2757 ||
    (cp >= 0x2795 && cp <= 0x2797) || cp === 0x27b0 || cp === 0x27bf ||
    (cp >= 0x2b1b && cp <= 0x2b1c) || cp === 0x2b50 || cp === 0x2b55 ||
    (cp >= 0x2e80 && cp <= 0x303e) || (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) || (cp >= 0xa960 && cp <= 0xa97f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe10 && cp <= 0xfe19) || (cp >= 0xfe30 && cp <= 0xfe6f) ||
    (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || cp === 0x1f004 ||
    cp === 0x1f0cf || cp === 0x1f18e || (cp >= 0x1f191 && cp <= 0x1f19a) ||
    (cp >= 0x1f200 && cp <= 0x1f251) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f680 && cp <= 0x1f6ff) || (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x1fa70 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/** A combining mark: drawn over the character before it, in no cell of its own. */
const COMBINING = /^[\p{Mn}\p{Me}]$/u;

/**
 * Text as the cells it takes: a character per cell, a wide one followed by an empty cell (its
 * second half), combining marks with their base (at most 4: a stack of them can spill onto the
 * rows above and below), none without one.
 */
function toCells(text: string): string[] {
  const cells: string[] = [];
  let marks = 0;
  for (const c of text) {
    if (COMBINING.test(c)) {
      const last = cells.length - (cells.at(-1) === "" ? 2 : 1);
      if (last >= 0 && marks++ < 4) cells[last] += c;
      continue;
    }
    marks = 0;
    cells.push(c);
    if (isWide(c.codePointAt(0)!)) cells.push("");
  }
  return cells;
}

/** A grid of cells. Text outside the grid is clipped. */
export class Canvas {
  readonly #chars: string[][];
  readonly #styles: Style[][];

  /** An empty canvas of `cols` × `rows` cells. */
  constructor(readonly cols: number, readonly rows: number) {
    this.#chars = Array.from({ length: rows }, () => Array<string>(cols).fill(" "));
    this.#styles = Array.from({ length: rows }, () => Array<Style>(cols).fill(PLAIN));
  }

  /**
   * Writes text at (x, y), clipped to `width` cells (default: to the edge), padding with the
   * style's spaces up to `width` when given. Control and format characters show as `?`; a wide
   * character (CJK, most emoji) takes two cells, a combining mark none (it joins the character
   * before it): a row is as wide on the terminal as the canvas, whatever a peer's text holds.
   */
  text(x: number, y: number, text: string, style: Style = PLAIN, width?: number): void {
    if (y < 0 || y >= this.rows) return;
    const cells = toCells(printable(text));
    const end = Math.min(this.cols, width === undefined ? x + cells.length : x + width);
    const start = Math.max(0, x);
    for (let col = start; col < end; col++) {
      let cell = cells[col - x] ?? " ";
      // half a wide character at the edge, or the second half without its first
      if (
        (cell !== "" && cells[col - x + 1] === "" && col + 1 >= end) ||
        (cell === "" && col === start)
      ) {
        cell = " ";
      }
      this.#chars[y]![col] = cell;
      this.#styles[y]![col] = style;
    }
    // a wide character this text cut in two
    if (end < this.cols && this.#chars[y]![end] === "") this.#chars[y]![end] = " ";
    if (x > 0 && x < this.cols && isWide(this.#chars[y]![x - 1]!.codePointAt(0)!)) {
      this.#chars[y]![x - 1] = " ";
    }
  }

  /** Fills a rectangle with spaces of a style. */
  fill(x: number, y: number, width: number, height: number, style: Style = PLAIN): void {
    for (let row = y; row < y + height; row++) this.text(x, row, "", style, width);
  }

  /** A row as plain text. */
  plainRow(y: number): string {
    return this.#chars[y]?.join("") ?? "";
  }

  /** A row as the escape sequences that draw it from its first column (styles reset after). */
  renderRow(y: number): string {
    let out = "";
    let current: Style | undefined;
    const chars = this.#chars[y]!;
    const styles = this.#styles[y]!;
    for (let col = 0; col < this.cols; col++) {
      if (styles[col] !== current) {
        current = styles[col]!;
        out += sgr(current);
      }
      out += chars[col];
    }
    return `${out}\x1b[0m`;
  }
}
