/**
 * Brute-force protection for client authentication (RFC 6749 §2.3.1): failures are counted per
 * (realm, client id, source address) in a RateLimiter; past the limit, further attempts from that
 * source for that client are refused with 429 until the window ends — before any secret or
 * signature is checked. Blocks are remembered locally, so successful requests pay no I/O; with a
 * shared (Redis) limiter the count is global and every instance blocks after at most one more try.
 */
import { TooManyAttemptsError } from '../errors/index.ts';
import type { Clock, RateLimiter } from '../ports/index.ts';

export interface ThrottlePolicy {
  /** Failures allowed per window; 0 turns the throttle off. */
  maxFailures: number;
  windowSeconds: number;
}

export class AuthThrottle {
  readonly #limiter: RateLimiter;
  readonly #policy: ThrottlePolicy;
  readonly #clock: Clock;
  readonly #blocked = new Map<string, number>();

  constructor(limiter: RateLimiter, policy: ThrottlePolicy, clock: Clock) {
    this.#limiter = limiter;
    this.#policy = policy;
    this.#clock = clock;
  }

  static key(realm: string, clientId: string, source: string | undefined): string {
    return `authfail:${JSON.stringify([realm, clientId, source ?? ''])}`;
  }

  /** Throws TooManyAttemptsError while the key is blocked. */
  check(key: string): void {
    if (this.#policy.maxFailures === 0) return;
    const until = this.#blocked.get(key);
    if (until === undefined) return;
    const now = this.#clock.now();
    if (until <= now) {
      this.#blocked.delete(key);
      return;
    }
    throw new TooManyAttemptsError('too many failed client authentication attempts; retry later', `throttled ${key}`, Math.max(1, Math.ceil((until - now) / 1000)));
  }

  /** Counts a failure; blocks the key once the window's count reaches the limit. Never throws. */
  async failed(key: string): Promise<void> {
    if (this.#policy.maxFailures === 0) return;
    try {
      const { count, resetAt } = await this.#limiter.hit(key, this.#policy.windowSeconds * 1000);
      if (count >= this.#policy.maxFailures) {
        if (this.#blocked.size >= 100_000) this.#blocked.clear();
        this.#blocked.set(key, resetAt);
      }
    } catch {
      // Counting is best effort: the request has failed already, and a limiter outage must not
      // turn authentication failures into server errors.
    }
  }
}
