/**
 * The Sense HAT driver on real files: device discovery through a sysfs-shaped tree, the
 * framebuffer's bytes for each rotation, and joystick records (64-bit and 32-bit layouts)
 * through a real FIFO.
 */

import { assertEquals } from "../../tests/assert.ts";
import { run } from "../../tests/process.ts";
import { findFramebuffer, FRAME_BYTES, openFramebuffer } from "./framebuffer.ts";
import { type Direction, type Image, type Rotation, solid } from "./image.ts";
import { EvdevJoystick, findJoystick } from "./joystick.ts";

Deno.test("sense driver: the framebuffer and joystick are found by their sysfs names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-sense-sys-" });
  try {
    const write = async (path: string, text: string) => {
      await Deno.mkdir(`${dir}/${path.replace(/\/[^/]+$/, "")}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    };
    assertEquals(await findFramebuffer(`${dir}/graphics`, "/dev"), null, "no sysfs class");
    await write("graphics/fb0/name", "simple\n");
    await write("graphics/fb1/name", "RPi-Sense FB\n");
    await write("graphics/fbcon/name", "RPi-Sense FB\n"); // not an fbN entry
    await write("input/event0/device/name", "Logitech USB Keyboard\n");
    await write("input/event3/device/name", "Raspberry Pi Sense HAT Joystick\n");
    await write("input/mice/device/name", "Raspberry Pi Sense HAT Joystick\n");
    assertEquals(await findFramebuffer(`${dir}/graphics`, "/dev"), "/dev/fb1");
    assertEquals(await findJoystick(`${dir}/input`, "/dev/input"), "/dev/input/event3");
    await Deno.remove(`${dir}/input/event3`, { recursive: true });
    assertEquals(await findJoystick(`${dir}/input`, "/dev/input"), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Where the picture's (x, y) lands on the device, per the Python sense-hat library. */
const EXPECTED: Record<Rotation, (x: number, y: number) => [number, number]> = {
  0: (x, y) => [x, y],
  90: (x, y) => [7 - y, x],
  180: (x, y) => [7 - x, 7 - y],
  270: (x, y) => [y, 7 - x],
};

Deno.test("sense driver: pictures are written as RGB565, turned by the rotation", async () => {
  const path = await Deno.makeTempFile({ prefix: "piw-sense-fb-" });
  try {
    await Deno.writeFile(path, new Uint8Array(FRAME_BYTES));
    for (const rotation of [0, 90, 180, 270] as Rotation[]) {
      const image: Image = solid([0, 0, 0]);
      image[0 * 8 + 1] = [255, 0, 0]; // (1, 0): red
      image[6 * 8 + 2] = [8, 4, 8]; // (2, 6): the smallest non-zero value of each channel
      const fb = await openFramebuffer(path, rotation);
      await fb.show(image);
      const bytes = await Deno.readFile(path);
      const view = new DataView(bytes.buffer);
      const at = (x: number, y: number) => {
        const [dx, dy] = EXPECTED[rotation](x, y);
        return view.getUint16((dy * 8 + dx) * 2, true);
      };
      assertEquals(bytes.length, FRAME_BYTES);
      assertEquals(at(1, 0), 0xf800, `red at ${rotation}`);
      assertEquals(at(2, 6), (1 << 11) | (1 << 5) | 1, `dim at ${rotation}`);
      const lit = [...Array(64).keys()].filter((i) => view.getUint16(i * 2, true) !== 0);
      assertEquals(lit.length, 2, `nothing else lit at ${rotation}`);
      await fb.close();
      assertEquals(await Deno.readFile(path), new Uint8Array(FRAME_BYTES), "closing blanks it");
    }
  } finally {
    await Deno.remove(path);
  }
});

/** One `struct input_event`: a timeval of 16 (64-bit) or 8 (32-bit) bytes, type, code, value. */
function record(size: 16 | 24, type: number, code: number, value: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 1_700_000_000, true); // tv_sec, whatever it is
  view.setUint16(size - 8, type, true);
  view.setUint16(size - 6, code, true);
  view.setInt32(size - 4, value, true);
  return bytes;
}

const UP = 103, DOWN = 108, LEFT = 105, RIGHT = 106, ENTER = 28;

for (const size of [24, 16] as const) {
  Deno.test(`sense driver: joystick records of ${size} bytes through a FIFO`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "piw-sense-js-" });
    const fifo = `${dir}/events`;
    assertEquals((await run("mkfifo", [fifo])).code, 0);
    const joystick = new EvdevJoystick(fifo, 90, size);
    const seen: Direction[] = [];
    const expected = 5;
    const all = Promise.withResolvers<void>();
    joystick.listen((d) => {
      seen.push(d);
      if (seen.length === expected) all.resolve();
    });
    const writer = await Deno.open(fifo, { write: true });
    const events = [
      record(size, 1, UP, 1), // press: device up is the picture's left at 90°
      record(size, 0, 0, 0), // EV_SYN
      record(size, 1, UP, 0), // release: nothing
      record(size, 1, RIGHT, 2), // auto-repeat: device right is the picture's up
      record(size, 1, ENTER, 2), // Enter does not repeat
      record(size, 1, 30, 1), // KEY_A: not the joystick
      record(size, 1, DOWN, 1),
      record(size, 1, LEFT, 1),
      record(size, 1, ENTER, 1),
    ];
    const stream = new Uint8Array(events.reduce((n, e) => n + e.length, 0));
    events.reduce((at, e) => (stream.set(e, at), at + e.length), 0);
    // in two writes that split a record, as a pipe may deliver it
    await writer.write(stream.subarray(0, size + 5));
    await writer.write(stream.subarray(size + 5));
    await all.promise;
    assertEquals(seen, ["left", "up", "right", "down", "enter"]);
    joystick.close();
    writer.close();
    await joystick.stopped;
    await Deno.remove(dir, { recursive: true });
  });
}
