/**
 * Pictures for the Sense HAT's 8×8 LED matrix: colours, images (64 pixels, row by row from the
 * top left), blending, and the rotation between the picture and the device, which the drivers
 * apply (`-r`). Rotation follows the Python sense-hat library: at 90 the picture turns 90°
 * clockwise on the device, so that a HAT mounted turned 90° anticlockwise shows it upright, and
 * the joystick's directions turn with it.
 *
 * @module
 */

/** A colour: red, green, blue, each 0–255. */
export type Rgb = readonly [number, number, number];

/** 64 colours, row by row from the top left. */
export type Image = Rgb[];

/** The matrix's width and height. */
export const SIZE = 8;

/** A rotation of the HAT, in degrees. */
export type Rotation = 0 | 90 | 180 | 270;

/** A joystick direction or press. */
export type Direction = "up" | "down" | "left" | "right" | "enter";

/** An image of one colour. */
export function solid(colour: Rgb): Image {
  return Array.from({ length: SIZE * SIZE }, () => colour);
}

/** The colour `t` (0–1) of the way from `a` to `b`. */
export function blend(a: Rgb, b: Rgb, t: number): Rgb {
  const k = Math.max(0, Math.min(1, t));
  return [
    Math.round(a[0] + (b[0] - a[0]) * k),
    Math.round(a[1] + (b[1] - a[1]) * k),
    Math.round(a[2] + (b[2] - a[2]) * k),
  ];
}

/** A colour dimmed to `t` (0–1) of its brightness. */
export function dim(colour: Rgb, t: number): Rgb {
  return blend([0, 0, 0], colour, t);
}

/** Where a picture's pixel (x, y) is on a device turned by `rotation`. */
export function devicePosition(x: number, y: number, rotation: Rotation): [number, number] {
  const m = SIZE - 1;
  switch (rotation) {
    case 0:
      return [x, y];
    case 90:
      return [m - y, x];
    case 180:
      return [m - x, m - y];
    case 270:
      return [y, m - x];
  }
}

/** The picture as the device must show it, turned by `rotation`. */
export function toDevice(image: Image, rotation: Rotation): Image {
  const out: Image = new Array(SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const [dx, dy] = devicePosition(x, y, rotation);
      out[dy * SIZE + dx] = image[y * SIZE + x]!;
    }
  }
  return out;
}

const VECTORS: Record<Exclude<Direction, "enter">, [number, number]> = {
  up: [0, -1],
  down: [0, 1],
  left: [-1, 0],
  right: [1, 0],
};

/** The picture's direction for a push of the device's joystick turned by `rotation`. */
export function fromDevice(direction: Direction, rotation: Rotation): Direction {
  if (direction === "enter") return direction;
  let [dx, dy] = VECTORS[direction];
  // undo the picture's turn: a quarter turn anticlockwise per 90°
  for (let turn = 0; turn < rotation / 90; turn++) [dx, dy] = [dy, -dx];
  const found = Object.entries(VECTORS).find(([, [x, y]]) => x === dx && y === dy);
  return found![0] as Direction;
}

/** The RGB565 value of a colour, as the Sense HAT's framebuffer stores it. */
export function rgb565(colour: Rgb): number {
  return ((colour[0] >> 3) << 11) | ((colour[1] >> 2) << 5) | (colour[2] >> 3);
}
