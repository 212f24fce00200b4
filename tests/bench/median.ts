/**
 * The one statistic the benchmarks report: the median of their runs.
 *
 * @module
 */

/** The middle value of `xs` (the upper of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
