/**
 * Sizes in bytes as people read them, for the monitors and the master's log.
 *
 * @module
 */

/** A size in bytes with a binary unit: `512 B`, `1.5 KiB`, `12.3 GiB`. */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}
