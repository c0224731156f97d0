/**
 * Group commit for the replay store, the one write on the token path. Calls made in the same turn
 * of the event loop (for example every assertion whose signature check completed in one poll of
 * the thread pool) are written together — one SQLite transaction, one PostgreSQL statement — and
 * each caller gets its own answer once that write has committed. While a write is running, new
 * calls wait for the next one, so a slow backend gets fewer, larger writes rather than a queue of
 * small ones.
 *
 * Nothing is acknowledged before it is written: a failed write rejects every call it carried.
 */
export type BatchWrite<I, O> = (items: readonly I[]) => readonly O[] | Promise<readonly O[]>;

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

export class WriteBatcher<I, O> {
  readonly #write: BatchWrite<I, O>;
  readonly #maxBatch: number;
  #queue: Pending<I, O>[] = [];
  #scheduled = false;
  #writing = false;

  /** `write` answers items[i] at index i; a batch holds at most `maxBatch` items. */
  constructor(write: BatchWrite<I, O>, maxBatch = 512) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError('maxBatch must be a positive integer');
    this.#write = write;
    this.#maxBatch = maxBatch;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#writing) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#queue.splice(0, this.#maxBatch);
    if (batch.length === 0) return;
    let result: readonly O[] | Promise<readonly O[]>;
    try {
      result = this.#write(batch.map((p) => p.item));
    } catch (error) {
      this.#settle(batch, undefined, error);
      return;
    }
    if (!(result instanceof Promise)) {
      this.#settle(batch, result, undefined);
      return;
    }
    this.#writing = true;
    result.then(
      (values) => this.#settle(batch, values, undefined),
      (error: unknown) => this.#settle(batch, undefined, error),
    );
  };

  #settle(batch: Pending<I, O>[], values: readonly O[] | undefined, error: unknown): void {
    this.#writing = false;
    if (values && values.length !== batch.length) {
      error = new Error(`batch write answered ${values.length} of ${batch.length} items`);
      values = undefined;
    }
    for (let i = 0; i < batch.length; i++) {
      if (values) batch[i]!.resolve(values[i]!);
      else batch[i]!.reject(error);
    }
    if (this.#queue.length > 0) this.#schedule();
  }
}
