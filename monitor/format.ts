/**
 * How the monitors word the farm's figures: ages, sizes, counts and slave states, for the
 * terminal UI, the Sense HAT's scrolling text and `--once`.
 *
 * @module
 */

import { formatSize } from "../shared/size.ts";
import { type FarmState, naturalOrder, type SlaveRecord } from "./farm_state.ts";

/**
 * Text from the status queue made safe to print: control characters (a peer's escape sequences,
 * newlines), format characters (a bidi override turns what follows around, a zero-width space
 * hides), line and paragraph separators, and halves of surrogate pairs become `?`.
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, "?");
}

/** An age or duration in seconds, compactly: `42s`, `3m05s`, `2h07m`, `3d04h`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** A count with thousands separators: `1,234,567`. */
export function formatCount(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** What a slave is doing, in words: `building numpy 1.26.0`, `sending foo.whl`, … */
export function describeActivity(slave: SlaveRecord): string {
  switch (slave.activity) {
    case "building":
      return slave.build ? `building ${slave.build[0]} ${slave.build[1]}` : "building";
    case "sending":
      return slave.file ? `transferring ${slave.file}` : "transferring";
    case "cleaning":
      return "cleaning up";
    case "gone":
      return slave.reply ? `gone (${slave.reply})` : "gone";
    default:
      return slave.activity;
  }
}

/**
 * The build queue in words: per ABI when the master says (`cp311 12, cp39 3`; `0` with no build
 * ABI), else the total over every ABI (`15 (all ABIs)`, from a master that does not say).
 */
export function describeQueue(farm: FarmState): string {
  if (farm.master) {
    const byAbi = [...farm.pendingByAbi()].sort(([a], [b]) => naturalOrder(a, b));
    return byAbi.length === 0
      ? "0"
      : byAbi.map(([abi, n]) => `${abi} ${formatCount(n)}`).join(", ");
  }
  return farm.stats ? `${formatCount(farm.stats.builds_pending)} (all ABIs)` : "?";
}

/** Free space of the master's output: `12.3 GiB free of 50.0 GiB (24%)`. */
export function describeDisk(farm: FarmState): string {
  const s = farm.stats;
  if (!s) return "?";
  const pct = s.disk_size > 0 ? ` (${Math.round(100 * s.disk_free / s.disk_size)}%)` : "";
  return `${formatSize(s.disk_free)} free of ${formatSize(s.disk_size)}${pct}`;
}
