/**
 * The SHA-256 of a file whose chunks may come out of order: each chunk is hashed once every byte
 * before it has been, and one that comes early waits for the gap to be filled.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A file's SHA-256, taken as its chunks come. */
export class OrderedHash {
  readonly #hash = createHash("sha256");
  #hashed = 0;
  /** Chunks that came before those ahead of them, by offset, with what to call once hashed. */
  readonly #early = new Map<number, { data: Uint8Array; done: () => void }>();

  /** How many bytes, from the start, have been hashed. */
  get hashed(): number {
    return this.#hashed;
  }

  /**
   * Takes the chunk `data` at `offset` (the caller checked that it lies within the file): hashed
   * now, or once the bytes before it are. Calls `done` once nothing reads `data` any more: it was
   * hashed, it repeats bytes hashed already, or a later chunk at the same offset replaced it.
   */
  add(offset: number, data: Uint8Array, done: () => void): void {
    if (offset > this.#hashed) {
      const replaced = this.#early.get(offset);
      this.#early.set(offset, { data, done });
      replaced?.done();
      return;
    }
    if (offset + data.length > this.#hashed) {
      this.#hash.update(data.subarray(this.#hashed - offset));
      this.#hashed = offset + data.length;
    } // else a repeat of what was hashed
    done();
    for (let next = this.#early.get(this.#hashed); next; next = this.#early.get(this.#hashed)) {
      this.#early.delete(this.#hashed);
      this.#hash.update(next.data);
      this.#hashed += next.data.length;
      next.done();
    }
  }

  /** Lets go of the chunks still waiting (each one's `done` is called). */
  clear(): void {
    for (const { done } of this.#early.values()) done();
    this.#early.clear();
  }

  /** The SHA-256 of the bytes hashed so far, lower-case hex. */
  digest(): string {
    return this.#hash.copy().digest("hex");
  }
}
