/**
 * Memory for large frames, handed back by their consumer and used again.
 *
 * A frame too large for a connection's read buffer (a file transfer's CHUNK, 1 MiB) is read
 * into an array of its own. A fresh array of that size costs more than the frame's bytes: the
 * allocator zeroes it, and since the memory of the one before went back to the system, every
 * page faults in again (a profile of the File Juggler receiving a 30 MiB wheel: 23% of its
 * thread in that, and V8's threads busy freeing). A consumer that knows it is done with a
 * frame's bytes (nothing will read them again) calls {@linkcode releaseFrame}, and the next
 * large frame of that size class is read into the same memory. A frame never handed back is
 * collected as any other.
 *
 * Capacities are powers of two, so that a file's last, shorter chunk takes a buffer of the
 * class it needs; a frame larger than the pool gets exactly its size. At most
 * {@linkcode POOL_BYTES} are kept, per isolate (each Worker has its own).
 *
 * @module
 */

/** The most bytes kept for reuse (a transfer's whole pipeline: 8 FETCHes of 1 MiB). */
export const POOL_BYTES = 8 * 1024 * 1024;

/** Free buffers by capacity. */
const free = new Map<number, ArrayBuffer[]>();
/**
 * The view {@linkcode takeFrame} last handed out of each buffer it may take back: only that view
 * is taken back, once (a stale view, or one handed back twice, is ignored).
 */
const handedOut = new WeakMap<ArrayBuffer, Uint8Array>();
let kept = 0;

function capacityFor(size: number): number {
  return size <= 1 ? 1 : 2 ** Math.ceil(Math.log2(size));
}

/**
 * An array of `size` bytes for a large frame, in memory handed back before if there is some
 * (its bytes are whatever was there: the caller must fill all of them). Throws a `RangeError`
 * when the memory cannot be had.
 */
export function takeFrame(size: number): Uint8Array<ArrayBuffer> {
  const capacity = capacityFor(size);
  // a frame too large to keep gets exactly its size
  if (capacity > POOL_BYTES) return new Uint8Array(size);
  let buffer = free.get(capacity)?.pop();
  if (buffer) kept -= capacity;
  else buffer = new ArrayBuffer(capacity);
  const frame = new Uint8Array(buffer, 0, size);
  handedOut.set(buffer, frame);
  return frame;
}

/**
 * Hands back a frame's memory: the caller promises that nothing reads or writes `frame` (or
 * any other view of its bytes) again. Only the frame as a socket delivered it is taken, once;
 * frames not read into memory of their own (small frames, frames of a CURVE connection, frames
 * of a socket's own making) are left to the collector, as are frames beyond
 * {@linkcode POOL_BYTES}.
 */
export function releaseFrame(frame: Uint8Array): void {
  const buffer = frame.buffer;
  if (!(buffer instanceof ArrayBuffer) || handedOut.get(buffer) !== frame) return;
  handedOut.delete(buffer);
  if (buffer.byteLength > 0) adoptFrame(buffer); // 0 once detached (transferred to a Worker)
}

/**
 * Takes a frame's memory away from the pool, to be transferred to another Worker: its buffer
 * when `frame` is a large frame as a socket delivered it, which nothing else views, else null
 * (its bytes may share a buffer with other frames: copy them instead). The memory may come back
 * through {@linkcode adoptFrame}.
 */
export function detachFrame(frame: Uint8Array): ArrayBuffer | null {
  const buffer = frame.buffer;
  if (!(buffer instanceof ArrayBuffer) || handedOut.get(buffer) !== frame) return null;
  handedOut.delete(buffer);
  return buffer;
}

/**
 * Keeps memory that another Worker transferred back (a buffer {@linkcode detachFrame} took) for
 * the next large frame of its size class, within {@linkcode POOL_BYTES}; anything else is left
 * to the collector.
 */
export function adoptFrame(buffer: ArrayBuffer): void {
  const capacity = buffer.byteLength;
  if (capacity !== capacityFor(capacity) || kept + capacity > POOL_BYTES) return;
  let list = free.get(capacity);
  if (!list) free.set(capacity, list = []);
  list.push(buffer);
  kept += capacity;
}

/** The bytes kept for reuse now (for tests). */
export function keptBytes(): number {
  return kept;
}
