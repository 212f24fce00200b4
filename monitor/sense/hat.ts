/**
 * The Sense HAT as piw-sense uses it: an 8×8 picture shown on the LED matrix and the
 * joystick's pushes. {@linkcode DeviceHat} drives the real one, the framebuffer named
 * `RPi-Sense FB` and the evdev device named `Raspberry Pi Sense HAT Joystick` (found through
 * /sys), or any framebuffer file and input-event FIFO named by path (which is how the tests
 * drive it); `VirtualHat` (`virtual.ts`) draws it in a terminal. Every driver applies the
 * rotation itself.
 *
 * @module
 */

import { type Framebuffer, openFramebuffer } from "./framebuffer.ts";
import type { Direction, Image, Rotation } from "./image.ts";
import { EvdevJoystick } from "./joystick.ts";

/** A push of the joystick (in the picture's directions), or a request to quit. */
export type HatEvent = Direction | "quit";

/** A Sense HAT, real or virtual. */
export interface Hat {
  /** Shows a picture (upright: the driver turns it for the device). */
  show(image: Image): Promise<void>;
  /** Calls `listener` with every joystick push. */
  listen(listener: (event: HatEvent) => void): void;
  /** Blanks the matrix and lets the devices go. */
  close(): Promise<void>;
}

/** A HAT on a framebuffer device (or file) and an evdev device (or FIFO). */
export class DeviceHat implements Hat {
  private constructor(readonly framebuffer: Framebuffer, readonly joystick: EvdevJoystick) {}

  /**
   * Opens the framebuffer at `framebufferPath` and starts reading joystick events from
   * `joystickPath` (records of `recordSize` bytes: 24 on 64-bit systems, 16 on 32-bit).
   */
  static async open(
    framebufferPath: string,
    joystickPath: string,
    rotation: Rotation,
    recordSize: 16 | 24 = 24,
  ): Promise<DeviceHat> {
    const framebuffer = await openFramebuffer(framebufferPath, rotation);
    return new DeviceHat(framebuffer, new EvdevJoystick(joystickPath, rotation, recordSize));
  }

  /** Writes the picture to the framebuffer. */
  show(image: Image): Promise<void> {
    return this.framebuffer.show(image);
  }

  /** Listens to the joystick. */
  listen(listener: (event: HatEvent) => void): void {
    this.joystick.listen(listener);
  }

  /** Blanks the matrix and closes the devices. */
  async close(): Promise<void> {
    this.joystick.close();
    await this.framebuffer.close();
  }
}
