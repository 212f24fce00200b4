/**
 * Gathering single requests into batches while the server is busy: {@linkcode Batcher} sends a
 * key at once when fewer than `inFlight` batches are out, and otherwise holds it until one comes
 * back, then sends every key held (up to `maxBatch`) as one batch. An idle server sees each
 * request alone, with no wait; a busy one gets fewer, larger requests, paying its cost per
 * request (a round trip, a statement, a transaction) once per batch. When a batch of several
 * fails, each of its keys is fetched again alone, so that one bad key fails only itself.
 *
 * @module
 */

interface Waiting<K, V> {
  key: K;
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
  /** It was in a batch that failed: it goes alone (such keys wait at the front). */
  alone?: boolean;
}

/** How a {@linkcode Batcher} sends, and how much it keeps out at once. */
export interface BatcherOptions<K, V> {
  /** Fetches the values of `keys`, in their order. */
  fetch(keys: K[]): Promise<V[]>;
  /** How many batches may be out at once. */
  inFlight: number;
  /** The most keys in one batch. */
  maxBatch: number;
}

/** Batches single requests (see the module). */
export class Batcher<K, V> {
  readonly #options: BatcherOptions<K, V>;
  readonly #waiting: Waiting<K, V>[] = [];
  #out = 0;

  /** A batcher sending through `options.fetch`. */
  constructor(options: BatcherOptions<K, V>) {
    if (options.inFlight < 1 || options.maxBatch < 1) throw new RangeError("nothing to send");
    this.#options = options;
  }

  /** The value of `key`, fetched alone or in a batch with others. */
  get(key: K): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.#waiting.push({ key, resolve, reject });
      if (this.#out < this.#options.inFlight) this.#send();
    });
  }

  #send(): void {
    const batch = this.#waiting.splice(0, this.#waiting[0]?.alone ? 1 : this.#options.maxBatch);
    if (!batch.length) return;
    this.#out++;
    const failed = (error: unknown) => {
      if (batch.length > 1) {
        this.#waiting.unshift(...batch.map((w) => ({ ...w, alone: true })));
        return this.#next();
      }
      this.#next();
      batch[0]!.reject(error);
    };
    this.#options.fetch(batch.map((w) => w.key)).then(
      (values) => {
        if (values.length !== batch.length) {
          return failed(new Error(`${values.length} values came for ${batch.length} keys`));
        }
        this.#next();
        batch.forEach((w, i) => w.resolve(values[i]!));
      },
      failed,
    );
  }

  /** A batch came back: the keys that waited for it go (before its own are answered). */
  #next(): void {
    this.#out--;
    this.#send();
  }
}
