/**
 * Lookups gathered into batches: a lookup that finds a request free goes at once, alone (a
 * single page after a build waits for nobody); lookups made while `inFlight` requests are
 * under way wait for one of them to end, then go together, up to `maxBatch` in one request (a
 * full rewrite of the site asks for thousands of packages' data in a few hundred round trips).
 *
 * @module
 */

/** Looks up many keys in one request: a value for each key, in their order. */
export type FetchMany<K, V> = (keys: K[]) => Promise<V[]>;

interface Waiting<K, V> {
  key: K;
  resolve: (value: V) => void;
  reject: (reason: unknown) => void;
}

/** Gathers lookups into batches (see the module). */
export class Batcher<K, V> {
  readonly #waiting: Waiting<K, V>[] = [];
  #running = 0;

  /** Fetches with `fetchMany`, at most `inFlight` requests at once of at most `maxBatch` keys. */
  constructor(
    readonly fetchMany: FetchMany<K, V>,
    readonly inFlight: number,
    readonly maxBatch: number,
  ) {}

  /** The value of `key`, from the next request that has room for it. */
  get(key: K): Promise<V> {
    const { promise, resolve, reject } = Promise.withResolvers<V>();
    this.#waiting.push({ key, resolve, reject });
    this.#next();
    return promise;
  }

  #next(): void {
    while (this.#running < this.inFlight && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.maxBatch);
      this.#running++;
      this.#fetch(batch).finally(() => {
        this.#running--;
        this.#next();
      });
    }
  }

  async #fetch(batch: Waiting<K, V>[]): Promise<void> {
    try {
      const values = await this.fetchMany(batch.map((w) => w.key));
      if (values.length !== batch.length) {
        throw new Error(`${values.length} values for ${batch.length} keys`);
      }
      batch.forEach((w, i) => w.resolve(values[i]!));
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }
}
