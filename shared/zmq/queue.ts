/**
 * A first-in first-out queue on a ring buffer that doubles when full: constant-time push and
 * shift without the cost of `Array.prototype.shift` on long arrays.
 *
 * @module
 */

/** A FIFO queue. */
export class Queue<T> {
  #items: (T | undefined)[] = new Array(8);
  #head = 0;
  #length = 0;

  /** How many items are queued. */
  get length(): number {
    return this.#length;
  }

  /** Adds an item at the back. */
  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  /** Removes and returns the item at the front, or undefined when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  /** The item at the front without removing it, or undefined when empty. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes every item. */
  clear(): void {
    this.#items = new Array(8);
    this.#head = 0;
    this.#length = 0;
  }

  #grow(): void {
    const next: (T | undefined)[] = new Array(this.#items.length * 2);
    for (let i = 0; i < this.#length; i++) {
      next[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    }
    this.#items = next;
    this.#head = 0;
  }
}
