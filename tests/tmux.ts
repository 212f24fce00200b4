/**
 * Running a terminal program for tests in a real terminal: Debian's tmux on a private socket,
 * `send-keys` to type (named keys, or literal bytes such as SGR mouse escapes), `capture-pane`
 * to read the screen, and the program's exit code once it ends.
 *
 * @module
 */

import { run, shellQuote } from "./process.ts";

/** An SGR escape sequence (captured, for `split`). */
const SGR = new RegExp(`(${"\x1b"}\\[[0-9;]*m)`);

/** The SGR attributes in effect at a cell of a captured screen. */
export interface CellStyle {
  bold: boolean;
  dim: boolean;
  underline: boolean;
  reverse: boolean;
  /** The ANSI colour number (0–7), or null for the default. */
  fg: number | null;
  bg: number | null;
}

/**
 * The style in effect where `text` first starts on `line` of a screen captured with its escape
 * sequences (`capture-pane -e`), or null when the line lacks `text`. tmux writes only what
 * changes from cell to cell, so the SGR sequences before the text are replayed in order.
 */
export function styleAt(line: string, text: string): CellStyle | null {
  const style: CellStyle = {
    bold: false,
    dim: false,
    underline: false,
    reverse: false,
    fg: null,
    bg: null,
  };
  const parts = line.split(SGR); // text, SGR, text, …: the sequences at the odd indexes
  const start = parts.filter((_, i) => i % 2 === 0).join("").indexOf(text);
  if (start < 0) return null;
  let column = 0;
  for (const [i, part] of parts.entries()) {
    if (i % 2 === 0) {
      column += part.length;
      if (column > start) return style;
      continue;
    }
    for (const code of (part.slice(2, -1) || "0").split(";").map(Number)) {
      if (code === 0) {
        Object.assign(style, { bold: false, dim: false, underline: false, reverse: false });
        style.fg = style.bg = null;
      } else if (code === 1) style.bold = true;
      else if (code === 2) style.dim = true;
      else if (code === 4) style.underline = true;
      else if (code === 7) style.reverse = true;
      else if (code === 22) style.bold = style.dim = false;
      else if (code === 24) style.underline = false;
      else if (code === 27) style.reverse = false;
      else if (code >= 30 && code <= 37) style.fg = code - 30;
      else if (code === 39) style.fg = null;
      else if (code >= 40 && code <= 47) style.bg = code - 40;
      else if (code === 49) style.bg = null;
    }
  }
  return null;
}

/** A tmux server of its own, in a temporary directory. */
export class Tmux implements AsyncDisposable {
  readonly socket: string;

  private constructor(readonly dir: string) {
    this.socket = `${dir}/tmux.sock`;
  }

  /** Makes the directory the server lives in (it starts with the first session). */
  static async create(): Promise<Tmux> {
    return new Tmux(await Deno.makeTempDir({ prefix: "piw-tmux-" }));
  }

  async #tmux(...args: string[]): Promise<string> {
    const out = await run("tmux", ["-S", this.socket, ...args], {
      env: { TERM: "xterm-256color" },
    });
    if (out.code !== 0) throw new Error(`tmux ${args[0]}: ${out.stderr.trim()}`);
    return out.stdout;
  }

  /**
   * Starts `argv` in a new session of `cols` × `rows`, with `env` added; its stderr goes to
   * `<dir>/<name>.err` and its exit code to `<dir>/<name>.exit`.
   */
  async start(
    name: string,
    argv: string[],
    options: { cols: number; rows: number; env?: Record<string, string> },
  ): Promise<void> {
    const command =
      `${argv.map(shellQuote).join(" ")} 2>${shellQuote(`${this.dir}/${name}.err`)}; ` +
      `echo $? >${shellQuote(`${this.dir}/${name}.exit`)}; sleep 600`;
    const env = Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    await this.#tmux(
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      String(options.cols),
      "-y",
      String(options.rows),
      ...env,
      command,
    );
  }

  /** Sends keys by tmux's names (`Down`, `Tab`, `Enter`, `p`). */
  async keys(name: string, ...keys: string[]): Promise<void> {
    await this.#tmux("send-keys", "-t", name, ...keys);
  }

  /** Sends bytes as they are (e.g. an SGR mouse report). */
  async literal(name: string, text: string): Promise<void> {
    await this.#tmux("send-keys", "-t", name, "-l", text);
  }

  /** The screen as text, trailing spaces kept (with the escape sequences of its styles if `escapes`). */
  async capture(name: string, escapes = false): Promise<string> {
    return await this.#tmux("capture-pane", "-p", "-N", ...(escapes ? ["-e"] : []), "-t", name);
  }

  /** The pane's title (what the program set with OSC 2). */
  async title(name: string): Promise<string> {
    return (await this.#tmux("display-message", "-p", "-t", name, "#{pane_title}")).trimEnd();
  }

  /** Resizes the session's window. */
  async resize(name: string, cols: number, rows: number): Promise<void> {
    await this.#tmux("resize-window", "-t", name, "-x", String(cols), "-y", String(rows));
  }

  /** Waits until the screen satisfies `test`; fails after `timeoutMs` showing the screen. */
  async waitFor(
    name: string,
    test: RegExp | ((screen: string) => boolean),
    options: { escapes?: boolean; timeoutMs?: number } = {},
  ): Promise<string> {
    const until = Date.now() + (options.timeoutMs ?? 30_000);
    const ok = typeof test === "function" ? test : (s: string) => test.test(s);
    for (;;) {
      const screen = await this.capture(name, options.escapes);
      if (ok(screen)) return screen;
      if (Date.now() > until) {
        throw new Error(
          `the screen never matched ${test}; it shows:\n${screen}\n` +
            `stderr: ${await this.stderr(name)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** What the program wrote to stderr so far. */
  async stderr(name: string): Promise<string> {
    return await Deno.readTextFile(`${this.dir}/${name}.err`).catch(() => "");
  }

  /** The program's exit code, once it has ended (fails after `timeoutMs`). */
  async exitCode(name: string, timeoutMs = 30_000): Promise<number> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const text = await Deno.readTextFile(`${this.dir}/${name}.exit`).catch(() => "");
      if (text.trim()) return Number(text.trim());
      if (Date.now() > until) throw new Error(`${name} did not exit: ${await this.stderr(name)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the server and everything in it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await run("tmux", ["-S", this.socket, "kill-server"]);
    await Deno.remove(this.dir, { recursive: true });
  }
}
