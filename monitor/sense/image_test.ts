import { assertEquals } from "../../tests/assert.ts";
import { devicePosition, type Direction, fromDevice, type Rotation } from "./image.ts";

const STEP: Record<string, [number, number]> = {
  up: [0, -1],
  down: [0, 1],
  left: [-1, 0],
  right: [1, 0],
};

Deno.test("rotation: a joystick push moves the picture's way as the device shows it", () => {
  // Pushing the device's stick one way must move a point of the picture the way the same
  // point moves on the device: the joystick turns with the picture.
  for (const rotation of [0, 90, 180, 270] as Rotation[]) {
    for (const device of ["up", "down", "left", "right"] as Direction[]) {
      const picture = fromDevice(device, rotation);
      const [px, py] = STEP[picture]!;
      const [ax, ay] = devicePosition(3, 3, rotation);
      const [bx, by] = devicePosition(3 + px, 3 + py, rotation);
      assertEquals([bx - ax, by - ay], STEP[device], `${device} at ${rotation}`);
    }
    assertEquals(fromDevice("enter", rotation), "enter");
  }
});
