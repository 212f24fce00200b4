/**
 * The Sense HAT's LED matrix driver: the framebuffer device whose sysfs name is `RPi-Sense FB`
 * (8×8 pixels, RGB565, 16 bits little-endian per pixel, row by row: 128 bytes). Any file of
 * that layout works too, which is how the tests read what piw-sense shows.
 *
 * @module
 */

import { type Image, rgb565, type Rotation, SIZE, solid, toDevice } from "./image.ts";

/** The sysfs name of the Sense HAT's framebuffer. */
export const FRAMEBUFFER_NAME = "RPi-Sense FB";

/** The bytes of one picture. */
export const FRAME_BYTES = SIZE * SIZE * 2;

/** Finds the Sense HAT's framebuffer device: `/dev/fbN` whose sysfs name matches, or null. */
export async function findFramebuffer(
  sys = "/sys/class/graphics",
  dev = "/dev",
): Promise<string | null> {
  return await findByName(sys, /^fb\d+$/, "name", FRAMEBUFFER_NAME, dev);
}

/**
 * The device node (`dev`/entry) of the first sysfs entry under `sys` matching `entries` whose
 * file `nameFile` holds `name`, or null.
 */
export async function findByName(
  sys: string,
  entries: RegExp,
  nameFile: string,
  name: string,
  dev: string,
): Promise<string | null> {
  let found: string[];
  try {
    found = [];
    for await (const entry of Deno.readDir(sys)) {
      if (entries.test(entry.name)) found.push(entry.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  for (const entry of found.sort()) {
    try {
      if ((await Deno.readTextFile(`${sys}/${entry}/${nameFile}`)).trim() === name) {
        return `${dev}/${entry}`;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return null;
}

/** The picture as the framebuffer's bytes (turned by `rotation`). */
export function encodeFrame(image: Image, rotation: Rotation): Uint8Array {
  const bytes = new Uint8Array(FRAME_BYTES);
  const view = new DataView(bytes.buffer);
  toDevice(image, rotation).forEach((colour, i) => view.setUint16(i * 2, rgb565(colour), true));
  return bytes;
}

/** An open framebuffer. */
export interface Framebuffer {
  /** Shows a picture. */
  show(image: Image): Promise<void>;
  /** Blanks it and closes it. */
  close(): Promise<void>;
}

/** Opens the framebuffer device (or file) at `path`. */
export async function openFramebuffer(path: string, rotation: Rotation): Promise<Framebuffer> {
  const file = await Deno.open(path, { read: false, write: true });
  const write = async (image: Image) => {
    const bytes = encodeFrame(image, rotation);
    await file.seek(0, Deno.SeekMode.Start);
    for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
  };
  return {
    show: write,
    async close() {
      await write(solid([0, 0, 0]));
      file.close();
    },
  };
}
