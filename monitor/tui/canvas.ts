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
   * style's spaces up to `width` when given. Control characters show as `?`.
   */
  text(x: number, y: number, text: string, style: Style = PLAIN, width?: number): void {
    if (y < 0 || y >= this.rows) return;
    const chars = [...printable(text)];
    const end = Math.min(this.cols, width === undefined ? x + chars.length : x + width);
    for (let col = Math.max(0, x); col < end; col++) {
      this.#chars[y]![col] = chars[col - x] ?? " ";
      this.#styles[y]![col] = style;
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
