/**
 * Single flight with cancellation: one operation shared by every caller that joins it. A caller
 * whose signal aborts leaves at once; the operation itself is aborted only when every caller that
 * joined has left and nobody pinned it (a background renewal is pinned: nobody waits for it, and it
 * must finish on its own).
 */
import { raceSignal } from './signals.ts';

export class Flight<T> {
  readonly promise: Promise<T>;
  readonly #controller = new AbortController();
  #waiters = 0;
  #pinned = false;
  #settled = false;

  constructor(run: (signal: AbortSignal) => Promise<T>) {
    this.promise = Promise.resolve()
      .then(() => run(this.#controller.signal))
      .finally(() => {
        this.#settled = true;
      });
    this.promise.catch(() => undefined); // failures are reported to joiners; none must go unhandled
  }

  /** True once every caller left: a newcomer must start a new flight. */
  get abandoned(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Keeps the operation running even when every caller leaves. */
  pin(): this {
    this.#pinned = true;
    return this;
  }

  /** The operation's result; rejects with `signal.reason` as soon as `signal` aborts. */
  join(signal: AbortSignal | undefined): Promise<T> {
    if (signal === undefined) {
      this.#pinned = true;
      return this.promise;
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    this.#waiters++;
    const leave = (): void => {
      this.#waiters--;
      if (this.#waiters === 0 && !this.#pinned && !this.#settled) this.#controller.abort(signal.reason);
    };
    signal.addEventListener('abort', leave, { once: true });
    const done = (): void => {
      signal.removeEventListener('abort', leave);
    };
    this.promise.then(done, done);
    return raceSignal(this.promise, signal);
  }
}
