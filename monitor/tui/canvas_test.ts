import { assertEquals } from "../../tests/assert.ts";
import { Canvas } from "./canvas.ts";

Deno.test("canvas: a row is as wide as the canvas, whatever a peer's text holds", () => {
  // a slave's label of wide, combining or zero-width characters moved the columns after it and
  // spilled the row's end onto the next slave's row
  const canvas = new Canvas(20, 4);
  canvas.text(0, 0, `aaa-${"漢".repeat(12)}`, {}, 8);
  canvas.text(9, 0, "cp311");
  assertEquals(canvas.plainRow(0), "aaa-漢漢 cp311      ");
  canvas.text(0, 1, `x${"\u0301".repeat(11)}`, {}, 8);
  canvas.text(9, 1, "cp311");
  assertEquals(canvas.plainRow(1), "x\u0301\u0301\u0301\u0301        cp311      ");
  canvas.text(0, 2, `${"\u200b".repeat(3)}z\u202eabc\u2028`, {}, 8);
  canvas.text(9, 2, "cp311");
  assertEquals(canvas.plainRow(2), "???z?abc cp311      ");
  // a wide character that does not fit is a space, and one cut in two by other text goes
  canvas.text(0, 3, "abc漢", {}, 4);
  assertEquals(canvas.plainRow(3), "abc                 ");
  canvas.text(0, 3, "漢漢漢");
  canvas.text(3, 3, "x");
  assertEquals(canvas.plainRow(3), `漢 x漢${" ".repeat(14)}`);
  // text starting left of the canvas (a dialog centred by its question's length) whose wide
  // character straddles the edge: its second half is a space, not nothing
  const narrow = new Canvas(6, 1);
  narrow.text(-1, 0, "漢abcdef");
  assertEquals(narrow.plainRow(0), " abcde");
});
