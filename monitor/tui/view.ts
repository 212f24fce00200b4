/**
 * What piw-monitor draws on: a {@linkcode View} shows a {@linkcode Canvas} and reports input
 * and resizes. {@linkcode TerminalView} is the one on a real terminal (ANSI escapes, raw mode,
 * SGR mouse): it writes only the rows that changed since the last frame, and everything after
 * a resize. Another drawing library would fit behind the same interface.
 *
 * @module
 */

import type { Canvas } from "./canvas.ts";
import { RawTerminal, type TerminalEvent } from "./terminal.ts";

/** A surface the monitor draws on. */
export interface View {
  /** The size in cells. */
  size(): { cols: number; rows: number };
  /** Calls `listener` with every input and resize event; returns a function to stop. */
  listen(listener: (event: TerminalEvent) => void): () => void;
  /** Shows a frame; returns whether anything had to be written. */
  show(canvas: Canvas): boolean;
  /** Gives the surface back. */
  close(): void;
}

/** A view on the program's terminal. */
export class TerminalView implements View {
  readonly #terminal = new RawTerminal(true);
  #last: string[] = [];
  readonly #stop: () => void;

  /** Takes over the terminal. */
  constructor() {
    this.#stop = this.#terminal.listen((event) => {
      if (event.type === "resize") this.#last = []; // the terminal may have reflowed anything
    });
  }

  /** The terminal's size. */
  size(): { cols: number; rows: number } {
    return this.#terminal.size();
  }

  /** Listens to the terminal's events. */
  listen(listener: (event: TerminalEvent) => void): () => void {
    return this.#terminal.listen(listener);
  }

  /** Writes the rows that differ from the last frame. */
  show(canvas: Canvas): boolean {
    const resized = this.#last.length !== canvas.rows;
    let out = resized ? "\x1b[0m\x1b[2J" : "";
    const rows: string[] = [];
    for (let y = 0; y < canvas.rows; y++) {
      const row = canvas.renderRow(y);
      rows.push(row);
      if (row !== this.#last[y]) out += `\x1b[${y + 1};1H${row}`;
    }
    this.#last = rows;
    if (out === "") return false;
    this.#terminal.write(out);
    return true;
  }

  /** Restores the terminal. */
  close(): void {
    this.#stop();
    this.#terminal.close();
  }
}
