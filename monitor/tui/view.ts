/**
 * What piw-monitor draws on: a {@linkcode View} shows a {@linkcode Canvas} and reports input
 * and resizes. {@linkcode TerminalView} is the one on a real terminal (ANSI escapes, raw mode,
 * SGR mouse): it writes only the rows that changed since the last frame, and everything after
 * a resize. Another drawing library would fit behind the same interface.
 *
 * @module
 */

import { printable } from "../format.ts";
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
  /** Sets the window's title (control characters become `?`). */
  title(text: string): void;
  /** Gives the surface back. */
  close(): void;
}

/**
 * A view on the program's terminal. Its title is set with OSC 2, the terminal's own title
 * saved on its title stack (XTWINOPS 22) and restored on close (23).
 */
export class TerminalView implements View {
  readonly #terminal = new RawTerminal(true);
  #last: string[] = [];
  #title: string | null = null;
  readonly #stop: () => void;

  /** Takes over the terminal. */
  constructor() {
    this.#stop = this.#terminal.listen((event) => {
      if (event.type === "resize") this.#last = []; // the terminal may have reflowed anything
    });
    this.#terminal.write("\x1b[22;2t");
  }

  /** Sets the terminal's title, when it changed. */
  title(text: string): void {
    if (text === this.#title) return;
    this.#title = text;
    this.#terminal.write(`\x1b]2;${printable(text)}\x1b\\`);
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

  /** Restores the terminal (and its title). */
  close(): void {
    this.#stop();
    this.#terminal.write("\x1b[23;2t");
    this.#terminal.close();
  }
}
