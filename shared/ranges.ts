/**
 * Byte ranges within a stream, as the File Juggler tracks which chunks of a transfer are still
 * missing. A {@linkcode Range} is half-open, `start` included and `stop` excluded, like Python's
 * `range(start, stop)` in the manual's examples; an empty range has `stop <= start`.
 *
 * @module
 */

/** A half-open interval `[start, stop)` of integers. */
export interface Range {
  /** The first value in the range. */
  readonly start: number;
  /** One past the last value in the range. */
  readonly stop: number;
}

/** `range(start, stop)`, or `range(stop)` for `[0, stop)`, as in Python. */
export function range(start: number, stop?: number): Range {
  return stop === undefined ? { start: 0, stop: start } : { start, stop };
}

/** The number of values in a range (0 when empty). */
export function rangeLength(r: Range): number {
  return Math.max(0, r.stop - r.start);
}

/**
 * Given ranges in ascending order of start, yields them with overlapping or adjacent ranges
 * merged into one.
 *
 * ```ts
 * import { consolidate, range } from "./ranges.ts";
 * [...consolidate([range(0, 5), range(4, 10)])]; // [range(0, 10)]
 * [...consolidate([range(0, 5), range(6, 10)])]; // [range(0, 5), range(6, 10)]
 * ```
 */
export function* consolidate(ranges: Iterable<Range>): Generator<Range> {
  let current: Range | undefined;
  for (const r of ranges) {
    if (current === undefined) {
      current = r;
    } else if (r.start <= current.stop) {
      current = { start: current.start, stop: Math.max(current.stop, r.stop) };
    } else {
      yield current;
      current = r;
    }
  }
  if (current !== undefined) yield current;
}

/**
 * Given non-overlapping ranges in ascending order, yields them with every value covered by `ex`
 * removed.
 *
 * ```ts
 * import { exclude, range } from "./ranges.ts";
 * [...exclude([range(10)], range(2, 4))]; // [range(0, 2), range(4, 10)]
 * ```
 */
export function* exclude(ranges: Iterable<Range>, ex: Range): Generator<Range> {
  for (const r of ranges) {
    if (rangeLength(ex) === 0 || ex.stop <= r.start || ex.start >= r.stop) {
      yield r;
      continue;
    }
    if (r.start < ex.start) yield { start: r.start, stop: ex.start };
    if (ex.stop < r.stop) yield { start: ex.stop, stop: r.stop };
  }
}

/**
 * The intersection of two ranges, or `undefined` when they do not overlap.
 *
 * ```ts
 * import { intersect, range } from "./ranges.ts";
 * intersect(range(10), range(2, 5)); // range(2, 5)
 * intersect(range(10), range(10, 2)); // undefined
 * ```
 */
export function intersect(a: Range, b: Range): Range | undefined {
  const start = Math.max(a.start, b.start);
  const stop = Math.min(a.stop, b.stop);
  return start < stop ? { start, stop } : undefined;
}

/**
 * Given non-overlapping ranges in ascending order, yields them with the range containing `i`
 * split into one ending at `i` and one starting at `i`; unchanged when no range contains `i` or
 * `i` is already a boundary.
 *
 * ```ts
 * import { range, split } from "./ranges.ts";
 * [...split([range(10)], 5)]; // [range(0, 5), range(5, 10)]
 * ```
 */
export function* split(ranges: Iterable<Range>, i: number): Generator<Range> {
  for (const r of ranges) {
    if (r.start < i && i < r.stop) {
      yield { start: r.start, stop: i };
      yield { start: i, stop: r.stop };
    } else {
      yield r;
    }
  }
}
