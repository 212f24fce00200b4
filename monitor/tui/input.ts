/**
 * Terminal input in raw mode, as events: keys (letters, Tab, Enter, arrows, …) and SGR mouse
 * reports (mode 1006: `ESC [ < button ; x ; y M` for a press, `m` for a release). Escape
 * sequences split across reads are kept until complete; a lone ESC at the end of a read is
 * the Escape key.
 *
 * @module
 */

/**
 * A key: one of `up`, `down`, `left`, `right`, `home`, `end`, `pageup`, `pagedown`, `enter`,
 * `tab`, `backtab`, `escape`, `backspace`, `ctrl-c`, or a single printable character.
 */
export type Key = string;

/** A mouse report: 0-based cell, which button (0 left, 1 middle, 2 right, 64/65 wheel). */
export interface MouseEvent {
  readonly type: "mouse";
  readonly button: number;
  readonly x: number;
  readonly y: number;
  /** A press (or wheel step), not a release. */
  readonly press: boolean;
}

/** An input event. */
export type InputEvent = { readonly type: "key"; readonly key: Key } | MouseEvent;

const CSI_KEYS: Record<string, Key> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  Z: "backtab",
  "1~": "home",
  "4~": "end",
  "7~": "home",
  "8~": "end",
  "5~": "pageup",
  "6~": "pagedown",
};

const CONTROL_KEYS: Record<string, Key> = {
  "\r": "enter",
  "\n": "enter",
  "\t": "tab",
  "\x7f": "backspace",
  "\b": "backspace",
  "\x03": "ctrl-c",
};

/** Turns raw terminal input into events. */
export class InputParser {
  #pending = "";

  /** Parses the next chunk of input. */
  feed(chunk: string): InputEvent[] {
    const text = this.#pending + chunk;
    this.#pending = "";
    const events: InputEvent[] = [];
    let i = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch !== "\x1b") {
        const key = CONTROL_KEYS[ch];
        if (key) events.push({ type: "key", key });
        else if (ch >= " ") events.push({ type: "key", key: ch });
        i++;
        continue;
      }
      const next = text[i + 1];
      if (next === undefined) {
        events.push({ type: "key", key: "escape" });
        break;
      }
      if (next === "O") { // SS3: arrows in application cursor mode
        const final = text[i + 2];
        if (final === undefined) {
          this.#pending = text.slice(i);
          break;
        }
        const key = CSI_KEYS[final];
        if (key) events.push({ type: "key", key });
        i += 3;
        continue;
      }
      if (next !== "[") { // ESC then a key: Escape, then that key
        events.push({ type: "key", key: "escape" });
        i++;
        continue;
      }
      let end = i + 2; // past the parameters: digits, ';', '<' and '?'
      while (end < text.length && /[<0-9;?]/.test(text[end]!)) end++;
      const final = text[end];
      if (final === undefined) { // the rest comes with the next read
        this.#pending = text.slice(i);
        break;
      }
      const params = text.slice(i + 2, end);
      const event = params.startsWith("<") ? mouse(params.slice(1), final) : csiKey(params, final);
      if (event) events.push(event);
      i = end + 1;
    }
    return events;
  }
}

function csiKey(params: string, final: string): InputEvent | undefined {
  // modifiers (`1;5A` for Ctrl+Up) are ignored: the key is what counts here
  const base = final === "~" ? `${params.split(";")[0]}~` : final;
  const key = CSI_KEYS[base];
  return key ? { type: "key", key } : undefined;
}

function mouse(params: string, final: string): MouseEvent | undefined {
  const [b, x, y] = params.split(";").map(Number);
  if (final !== "M" && final !== "m") return undefined;
  if (![b, x, y].every((n) => Number.isInteger(n))) return undefined;
  return { type: "mouse", button: b! & ~(4 | 8 | 16), x: x! - 1, y: y! - 1, press: final === "M" };
}
