/**
 * A virtual Sense HAT for machines without one (`--virtual`): the 8×8 matrix drawn in the
 * terminal as true-colour blocks, and the arrow keys and Enter as the joystick (Ctrl+C or q
 * quits). Rotation is applied as on the real HAT, to the picture and to the keys alike.
 *
 * @module
 */

import { RawTerminal } from "../tui/terminal.ts";
import type { Hat, HatEvent } from "./hat.ts";
import { type Direction, fromDevice, type Image, type Rotation, SIZE, toDevice } from "./image.ts";

const KEYS: Record<string, Direction> = {
  up: "up",
  down: "down",
  left: "left",
  right: "right",
  enter: "enter",
  " ": "enter",
};

/** The Sense HAT drawn in the terminal. */
export class VirtualHat implements Hat {
  readonly #terminal = new RawTerminal(false);

  /** Takes over the terminal. */
  constructor(readonly rotation: Rotation) {
    this.#terminal.write(
      `\x1b[1;1Hpiw-sense (virtual HAT)\x1b[${SIZE + 3};1H` +
        "arrow keys: joystick · Enter: press · q or Ctrl+C: quit",
    );
  }

  /** Draws the matrix, two cells per pixel. */
  show(image: Image): Promise<void> {
    const device = toDevice(image, this.rotation);
    let out = "";
    for (let y = 0; y < SIZE; y++) {
      out += `\x1b[${y + 2};1H`;
      for (let x = 0; x < SIZE; x++) {
        const [r, g, b] = device[y * SIZE + x]!;
        out += `\x1b[48;2;${r};${g};${b}m  `;
      }
      out += "\x1b[0m";
    }
    this.#terminal.write(out);
    return Promise.resolve();
  }

  /** Turns keys into joystick pushes. */
  listen(listener: (event: HatEvent) => void): void {
    this.#terminal.listen((event) => {
      if (event.type === "eof") return listener("quit");
      if (event.type !== "key") return;
      if (event.key === "ctrl-c" || event.key === "q") return listener("quit");
      const direction = KEYS[event.key];
      if (direction) listener(fromDevice(direction, this.rotation));
    });
  }

  /** Gives the terminal back. */
  close(): Promise<void> {
    this.#terminal.close();
    return Promise.resolve();
  }
}
