/**
 * The Sense HAT's joystick driver: the evdev device whose sysfs name is `Raspberry Pi Sense HAT
 * Joystick`, read as `struct input_event` records (a `struct timeval`, then type u16, code u16
 * and value s32, little-endian: 24 bytes on 64-bit systems, 16 on 32-bit). Key presses and
 * auto-repeats of the arrows and Enter become pushes; releases are ignored, and Enter does
 * not repeat. A FIFO works too (reopened whenever its writer closes), which is how the tests
 * push the joystick.
 *
 * @module
 */

import { findByName } from "./framebuffer.ts";
import { type Direction, fromDevice, type Rotation } from "./image.ts";

/** The sysfs name of the Sense HAT's joystick. */
export const JOYSTICK_NAME = "Raspberry Pi Sense HAT Joystick";

/** evdev's key event type. */
export const EV_KEY = 1;

/** The joystick's key codes (linux/input-event-codes.h). */
export const KEY_CODES: Record<number, Direction> = {
  103: "up",
  108: "down",
  105: "left",
  106: "right",
  28: "enter",
};

/** Finds the joystick's device: `/dev/input/eventN` whose sysfs name matches, or null. */
export async function findJoystick(
  sys = "/sys/class/input",
  dev = "/dev/input",
): Promise<string | null> {
  return await findByName(sys, /^event\d+$/, "device/name", JOYSTICK_NAME, dev);
}

/** The push one input event record means (device directions), or null. */
export function decodeEvent(record: Uint8Array, recordSize: 16 | 24): Direction | null {
  const view = new DataView(record.buffer, record.byteOffset, recordSize);
  const type = view.getUint16(recordSize - 8, true);
  const code = view.getUint16(recordSize - 6, true);
  const value = view.getInt32(recordSize - 4, true);
  const direction = KEY_CODES[code];
  if (type !== EV_KEY || !direction) return null;
  if (value === 1 || (value === 2 && direction !== "enter")) return direction;
  return null;
}

/** Reads the joystick until closed. */
export class EvdevJoystick {
  readonly #listeners: ((direction: Direction) => void)[] = [];
  #file: Deno.FsFile | undefined;
  #closed = false;
  /**
   * Settles when reading has stopped: after {@linkcode close}, at the end of a file, or once the
   * FIFO's writer closes after {@linkcode close} (a device never ends: the program exits).
   */
  readonly stopped: Promise<void>;

  /** Starts reading `path`. */
  constructor(readonly path: string, readonly rotation: Rotation, readonly recordSize: 16 | 24) {
    this.stopped = this.#read().catch(() => {});
  }

  /** Calls `listener` with every push, in the picture's directions. */
  listen(listener: (direction: Direction) => void): void {
    this.#listeners.push(listener);
  }

  /** Stops reading. */
  close(): void {
    this.#closed = true;
    try {
      this.#file?.close();
    } catch {
      // closed already
    }
  }

  async #read(): Promise<void> {
    const fifo = (await Deno.stat(this.path)).isFifo;
    do {
      this.#file = await Deno.open(this.path, { read: true });
      if (this.#closed) return this.close();
      let pending = new Uint8Array(0);
      for await (const chunk of this.#file.readable) {
        const bytes = new Uint8Array(pending.length + chunk.length);
        bytes.set(pending);
        bytes.set(chunk, pending.length);
        let at = 0;
        for (; at + this.recordSize <= bytes.length; at += this.recordSize) {
          const direction = decodeEvent(bytes.subarray(at, at + this.recordSize), this.recordSize);
          if (direction) this.#emit(fromDevice(direction, this.rotation));
        }
        pending = bytes.slice(at);
      }
    } while (fifo && !this.#closed);
  }

  #emit(direction: Direction): void {
    for (const listener of this.#listeners) listener(direction);
  }
}
