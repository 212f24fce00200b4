/**
 * piw-sense's colours (manual chapter 5.3.1): blue rows filling with white for the
 * statistics, and one colour per slave state.
 *
 * @module
 */

import type { SlaveActivity } from "../../shared/states.ts";
import type { Rgb } from "./image.ts";

/** Unlit. */
export const BLACK: Rgb = [0, 0, 0];
/** A full statistics pixel, and the cursor's pulse. */
export const WHITE: Rgb = [255, 255, 255];
/** An empty statistics pixel. */
export const BLUE: Rgb = [0, 0, 255];
/** The ping row after too long a silence (pulsing), a gone slave, the kill option. */
export const RED: Rgb = [255, 0, 0];
/** An idle (or sleeping) slave. */
export const GRAY: Rgb = [128, 128, 128];
/** A slave building. */
export const GREEN: Rgb = [0, 255, 0];
/** A slave transferring its files after a successful build. */
export const TRANSFER_BLUE: Rgb = [0, 64, 255];
/** A slave cleaning up after a build. */
export const PURPLE: Rgb = [192, 0, 255];
/** A slave building for longer than the long-build time (15 minutes). */
export const YELLOW: Rgb = [255, 255, 0];
/** The ping row's ground while the master is paused (white still fills it). */
export const AMBER: Rgb = [255, 128, 0];

/** The colour of a slave's pixel. */
export function slaveColour(activity: SlaveActivity, longBuild: boolean): Rgb {
  switch (activity) {
    case "building":
      return longBuild ? YELLOW : GREEN;
    case "sending":
      return TRANSFER_BLUE;
    case "cleaning":
      return PURPLE;
    case "gone":
      return RED;
    default:
      return GRAY;
  }
}
