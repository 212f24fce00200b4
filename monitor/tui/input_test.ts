import { assertEquals } from "../../tests/assert.ts";
import { type InputEvent, InputParser } from "./input.ts";

const keys = (...names: string[]): InputEvent[] => names.map((key) => ({ type: "key", key }));

Deno.test("input: letters, control keys, arrows in both cursor modes, paging keys", () => {
  const parser = new InputParser();
  assertEquals(
    parser.feed("pq\t\r\x1b[A\x1bOB\x1b[C\x1b[1;5D\x1b[5~\x1b[6~\x1b[H\x1b[4~\x1b[Z\x03"),
    keys(
      "p",
      "q",
      "tab",
      "enter",
      "up",
      "down",
      "right",
      "left",
      "pageup",
      "pagedown",
      "home",
      "end",
      "backtab",
      "ctrl-c",
    ),
  );
});

Deno.test("input: a lone ESC is Escape; a sequence split across reads waits for its end", () => {
  const parser = new InputParser();
  assertEquals(parser.feed("\x1b"), keys("escape"));
  assertEquals(parser.feed("\x1b["), []);
  assertEquals(parser.feed("B"), keys("down"));
  assertEquals(parser.feed("\x1b[<0;1"), []);
  assertEquals(parser.feed("2;3M"), [{ type: "mouse", button: 0, x: 11, y: 2, press: true }]);
});

Deno.test("input: SGR mouse reports: press, release, wheel, modifiers dropped", () => {
  const parser = new InputParser();
  assertEquals(parser.feed("\x1b[<0;5;7M\x1b[<0;5;7m\x1b[<65;1;1M\x1b[<16;2;2M"), [
    { type: "mouse", button: 0, x: 4, y: 6, press: true },
    { type: "mouse", button: 0, x: 4, y: 6, press: false },
    { type: "mouse", button: 65, x: 0, y: 0, press: true },
    { type: "mouse", button: 0, x: 1, y: 1, press: true },
  ]);
});
