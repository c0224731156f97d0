/**
 * Brute-force protection for client authentication (RFC 6749 §2.3.1). Failures are counted in a
 * RateLimiter twice: per (realm, client id, source address) and per source address alone (an
 * IPv6 source counts as its /64). Past either limit, further attempts are refused with 429 until
 * the window ends — before any secret or signature is checked. The per-source cap is what keeps
 * a flood of unknown client ids from one address from filling the limiter (issue 13 item 1):
 * after `maxFailuresPerSource` failures that address creates no new keys until its window ends.
 *
 * Bounded: limiter keys are fixed-size hashes (a client id is caller-chosen and may be long), and
 * the local block list holds at most `maxKeys` entries, evicting the oldest in O(1). Blocks are
 * remembered locally, so successful requests pay no I/O; with a shared (Redis) limiter the count
 * is global and every instance blocks after at most one more try.
 */
import { createHash } from 'node:crypto';
import { TooManyAttemptsError } from '../errors/index.ts';
import type { Clock, RateLimiter } from '../ports/index.ts';
import { sourceKey } from '../limits/source.ts';

export interface ThrottlePolicy {
  /** Failures allowed per (client id, source) per window; 0 turns the throttle off. */
  maxFailures: number;
  /** Failures allowed per source address (any client id) per window; 0 turns this cap off. */
  maxFailuresPerSource?: number;
  windowSeconds: number;
  /** Most blocks remembered locally (and keys of the in-memory limiter). */
  maxKeys?: number;
}

/** What one request is counted under. */
export interface ThrottleKey {
  /** (realm, client id, source) */
  pair: string;
  /** (realm, source) */
  source: string;
}

const hashed = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('base64url');

export class AuthThrottle {
  readonly #limiter: RateLimiter;
  readonly #policy: Required<ThrottlePolicy>;
  readonly #clock: Clock;
  readonly #blocked = new Map<string, number>();

  constructor(limiter: RateLimiter, policy: ThrottlePolicy, clock: Clock) {
    this.#limiter = limiter;
    this.#policy = { maxFailuresPerSource: 0, maxKeys: 100_000, ...policy };
    this.#clock = clock;
  }

  static key(realm: string, clientId: string, source: string | undefined): ThrottleKey {
    const src = sourceKey(source);
    return { pair: `authfail:${hashed([realm, clientId, src])}`, source: `authfail-src:${hashed([realm, src])}` };
  }

  /** Throws TooManyAttemptsError while the source or the (client, source) pair is blocked. */
  check(key: ThrottleKey): void {
    if (this.#policy.maxFailures === 0) return;
    this.#checkOne(key.source);
    this.#checkOne(key.pair);
  }

  #checkOne(k: string): void {
    const until = this.#blocked.get(k);
    if (until === undefined) return;
    const now = this.#clock.now();
    if (until <= now) {
      this.#blocked.delete(k);
      return;
    }
    throw new TooManyAttemptsError('too many failed client authentication attempts; retry later', `throttled ${k}`, Math.max(1, Math.ceil((until - now) / 1000))).because('throttled', {
      scope: k.startsWith('authfail-src:') ? 'source' : 'client_and_source',
    });
  }

  /** Counts a failure; blocks the key once its window's count reaches its limit. Never throws. */
  async failed(key: ThrottleKey): Promise<void> {
    const { maxFailures, maxFailuresPerSource, windowSeconds } = this.#policy;
    if (maxFailures === 0) return;
    const windowMs = windowSeconds * 1000;
    await Promise.all([
      this.#count(key.pair, maxFailures, windowMs),
      maxFailuresPerSource > 0 ? this.#count(key.source, maxFailuresPerSource, windowMs) : undefined,
    ]);
  }

  async #count(k: string, limit: number, windowMs: number): Promise<void> {
    try {
      const { count, resetAt } = await this.#limiter.hit(k, windowMs);
      if (count < limit) return;
      this.#blocked.delete(k);
      if (this.#blocked.size >= this.#policy.maxKeys) this.#blocked.delete(this.#blocked.keys().next().value!);
      this.#blocked.set(k, resetAt);
    } catch {
      // Counting is best effort: the request has failed already, and a limiter outage must not
      // turn authentication failures into server errors.
    }
  }
}
