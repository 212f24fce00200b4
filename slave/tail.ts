/**
 * The bounded build log: a build's output can be endless (a setup.py printing in a loop until
 * the timeout), so only its last bytes are kept, and the text says how much was dropped.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Keeps the last `limit` bytes appended to it, copied into one buffer of its own (grown up to
 * the limit, then used as a ring): a chunk read from a pipe is a view of a far larger buffer,
 * and keeping the views kept those (64 KiB for each 1-byte write).
 */
export class TailBuffer {
  #buffer = new Uint8Array(0);
  /** Where the oldest kept byte is. */
  #start = 0;
  #size = 0;
  #dropped = 0;

  /** Keeps at most `limit` bytes (a positive integer). */
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit <= 0) {
      throw new RangeError(`an output limit is a positive number of bytes: ${limit}`);
    }
  }

  /** Appends bytes or text, dropping the oldest bytes beyond the limit. */
  append(data: Uint8Array | string): void {
    let bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length === 0) return;
    if (bytes.length >= this.limit) {
      this.#dropped += this.#size + bytes.length - this.limit;
      bytes = bytes.subarray(bytes.length - this.limit);
      this.#start = this.#size = 0;
    }
    this.#reserve(this.#size + bytes.length);
    const ring = this.#buffer;
    const at = (this.#start + this.#size) % ring.length;
    const first = Math.min(bytes.length, ring.length - at);
    ring.set(bytes.subarray(0, first), at);
    ring.set(bytes.subarray(first), 0);
    const size = this.#size + bytes.length;
    if (size > ring.length) {
      this.#dropped += size - ring.length;
      this.#start = (this.#start + size - ring.length) % ring.length;
    }
    this.#size = Math.min(size, ring.length);
  }

  /** Grows the buffer (while it is under the limit, its bytes start at 0) to hold `wanted`. */
  #reserve(wanted: number): void {
    const old = this.#buffer;
    if (old.length === this.limit || wanted <= old.length) return;
    this.#buffer = new Uint8Array(Math.min(this.limit, Math.max(wanted, old.length * 2, 4096)));
    this.#buffer.set(old.subarray(0, this.#size));
  }

  /** How many bytes were dropped from the front. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The kept bytes as text, after a line saying how many were dropped, if any. */
  text(): string {
    const ring = this.#buffer;
    const end = this.#start + this.#size;
    const all = new Uint8Array(this.#size);
    all.set(ring.subarray(this.#start, Math.min(end, ring.length)));
    if (end > ring.length) all.set(ring.subarray(0, end - ring.length), ring.length - this.#start);
    const kept = new TextDecoder().decode(all);
    return this.#dropped ? `[${this.#dropped} bytes of earlier output dropped]\n${kept}` : kept;
  }
}
