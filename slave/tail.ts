/**
 * The bounded build log: a build's output can be endless (a setup.py printing in a loop until
 * the timeout), so only its last bytes are kept, and the text says how much was dropped.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Keeps the last `limit` bytes appended to it. */
export class TailBuffer {
  #chunks: Uint8Array[] = [];
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
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#size += bytes.length;
    while (this.#size > this.limit) {
      const first = this.#chunks[0]!;
      const excess = this.#size - this.limit;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
        this.#dropped += first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
        this.#dropped += excess;
      }
    }
  }

  /** How many bytes were dropped from the front. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The kept bytes as text, after a line saying how many were dropped, if any. */
  text(): string {
    const all = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    const kept = new TextDecoder().decode(all);
    return this.#dropped ? `[${this.#dropped} bytes of earlier output dropped]\n${kept}` : kept;
  }
}
