/**
 * A counting semaphore with a bounded wait queue: at most `maxConcurrent` tasks run at once, at
 * most `maxQueue` wait (each at most `maxWaitMs`), and anything beyond is refused at once — so a
 * flood of expensive work (e.g. scrypt for wrong guesses) cannot occupy the thread pool that
 * cheap, legitimate work (token signatures) needs.
 */
export class BusyError extends Error {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.name = 'BusyError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface ConcurrencyLimit {
  maxConcurrent: number;
  maxQueue: number;
  maxWaitMs: number;
}

export class Semaphore {
  readonly #limit: ConcurrencyLimit;
  #running = 0;
  readonly #waiting: Array<{ grant: () => void; timer: NodeJS.Timeout }> = [];

  constructor(limit: ConcurrencyLimit) {
    this.#limit = limit;
  }

  get running(): number {
    return this.#running;
  }
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `task` when a slot is free; rejects with BusyError when the queue is full or the wait too long. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#running < this.#limit.maxConcurrent) {
      this.#running++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.#limit.maxQueue) return Promise.reject(new BusyError('too much concurrent work queued'));
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => (clearTimeout(entry.timer), resolve()),
        timer: setTimeout(() => {
          const i = this.#waiting.indexOf(entry);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(new BusyError('waited too long for a free slot'));
        }, this.#limit.maxWaitMs),
      };
      entry.timer.unref?.();
      this.#waiting.push(entry);
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next.grant(); // the slot passes straight to the next waiter
    else this.#running--;
  }
}
