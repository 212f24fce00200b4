/**
 * The terminal itself, for the full-screen programs (piw-monitor and piw-sense's virtual HAT):
 * raw mode, the alternate screen, SGR mouse reports (modes 1000 and 1006), input as events,
 * the size and its changes (SIGWINCH), and putting everything back on close. It needs no Deno
 * permission: only a terminal on stdin and stdout.
 *
 * @module
 */

import { type InputEvent, InputParser } from "./input.ts";

/** An event from the terminal: input, a new size, or the end of input (the terminal went). */
export type TerminalEvent = InputEvent | { readonly type: "resize" | "eof" };

const encoder = new TextEncoder();

/** Raised when stdin or stdout is not a terminal. */
export class NoTerminalError extends Error {
  override name = "NoTerminalError";
}

/** The program's terminal in raw mode. */
export class RawTerminal {
  readonly #listeners = new Set<(event: TerminalEvent) => void>();
  readonly #onResize = () => this.#emit({ type: "resize" });
  #closed = false;

  /** Takes over the terminal: raw mode, alternate screen, hidden cursor, mouse reports. */
  constructor(readonly mouse: boolean) {
    if (!Deno.stdin.isTerminal() || !Deno.stdout.isTerminal()) {
      throw new NoTerminalError("this needs a terminal on stdin and stdout");
    }
    Deno.stdin.setRaw(true);
    this.write(`\x1b[?1049h\x1b[?25l\x1b[2J${mouse ? "\x1b[?1000h\x1b[?1006h" : ""}`);
    Deno.addSignalListener("SIGWINCH", this.#onResize);
    this.#read().catch(() => this.#emit({ type: "eof" }));
  }

  /** The size in cells. */
  size(): { cols: number; rows: number } {
    const { columns, rows } = Deno.consoleSize();
    return { cols: columns, rows };
  }

  /** Calls `listener` with every event until it is removed (the returned function). */
  listen(listener: (event: TerminalEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes text (escape sequences included) to the terminal, all of it. */
  write(text: string): void {
    const bytes = encoder.encode(text);
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
  }

  /**
   * Gives the terminal back as it was. A pending read of stdin cannot be cancelled, so the
   * program exits (`Deno.exit`) afterwards rather than waiting for its event loop to drain.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    Deno.removeSignalListener("SIGWINCH", this.#onResize);
    this.write(`${this.mouse ? "\x1b[?1006l\x1b[?1000l" : ""}\x1b[0m\x1b[?25h\x1b[?1049l`);
    Deno.stdin.setRaw(false);
  }

  #emit(event: TerminalEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  async #read(): Promise<void> {
    const parser = new InputParser();
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(4096);
    while (!this.#closed) {
      const n = await Deno.stdin.read(buffer);
      if (this.#closed) return;
      if (n === null) return this.#emit({ type: "eof" });
      for (const event of parser.feed(decoder.decode(buffer.subarray(0, n), { stream: true }))) {
        this.#emit(event);
      }
    }
  }
}
