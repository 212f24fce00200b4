/**
 * A one-line progress bar on the terminal (stderr) while piw-import uploads a file:
 * `foo-1.0-py3-none-any.whl [#########-----------]  45%  1.2 of 2.7 MB`. Redrawn at most ten
 * times a second, and ended with a newline. Used only when stderr is a terminal; otherwise the
 * tools log plain lines.
 *
 * @module
 */

const encoder = new TextEncoder();
const REDRAW_MS = 100;
/** File names longer than this lose their beginning. */
const MAX_LABEL = 50;

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** The text of the bar for `done` of `total` bytes, fitted to `columns` characters. */
export function renderProgress(
  label: string,
  done: number,
  total: number,
  columns: number,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const figures = ` ${percent}  ${megabytes(done)} of ${megabytes(total)} MB`;
  const width = Math.max(
    10,
    Math.min(40, columns - figures.length - 4 - Math.min(label.length, MAX_LABEL)),
  );
  const filled = Math.round(fraction * width);
  const name = label.length > MAX_LABEL ? `…${label.slice(1 - MAX_LABEL)}` : label;
  return `${name} [${"#".repeat(filled)}${"-".repeat(width - filled)}]${figures}`;
}

/** A progress bar being drawn on stderr. */
export class ProgressBar {
  #last = 0;
  #done = 0;

  /** Starts a bar for `total` bytes of `label`. */
  constructor(readonly label: string, readonly total: number) {
    this.#draw();
  }

  /** Moves the bar to `done` bytes (redrawn if it has not been for a moment). */
  update(done: number): void {
    this.#done = done;
    if (Date.now() - this.#last >= REDRAW_MS) this.#draw();
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    this.#draw();
    Deno.stderr.writeSync(encoder.encode("\n"));
  }

  #draw(): void {
    this.#last = Date.now();
    const columns = Deno.consoleSize().columns || 80;
    const line = renderProgress(this.label, this.#done, this.total, columns);
    Deno.stderr.writeSync(encoder.encode(`\r${line}\x1b[K`));
  }
}
