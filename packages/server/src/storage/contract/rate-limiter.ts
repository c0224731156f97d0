/** The behavioural contract of every RateLimiter implementation. */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RateLimiter } from '../../core/ports/index.ts';

export function runRateLimiterContract(name: string, factory: () => Promise<{ limiter: RateLimiter; cleanup: () => Promise<void> }>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let limiter: RateLimiter;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ limiter, cleanup } = await factory()));
    afterEach(() => cleanup?.());

    it('counts hits in a window and says when it ends', async () => {
      const key = randomUUID();
      const before = Date.now();
      const first = await limiter.hit(key, 60_000);
      assert.equal(first.count, 1);
      assert.ok(first.resetAt >= before + 59_000 && first.resetAt <= Date.now() + 60_000 + 50);
      assert.equal((await limiter.hit(key, 60_000)).count, 2);
      assert.equal((await limiter.hit(key, 60_000)).count, 3);
    });
    it('keeps keys apart', async () => {
      const a = randomUUID();
      await limiter.hit(a, 60_000);
      assert.equal((await limiter.hit(randomUUID(), 60_000)).count, 1);
    });
    it('starts a new window after the old one ends', async () => {
      const key = randomUUID();
      await limiter.hit(key, 150);
      await limiter.hit(key, 150);
      await new Promise((r) => setTimeout(r, 250));
      assert.equal((await limiter.hit(key, 150)).count, 1);
    });
    it('counts concurrent hits exactly', async () => {
      const key = randomUUID();
      const results = await Promise.all(Array.from({ length: 50 }, () => limiter.hit(key, 60_000)));
      assert.deepEqual(results.map((r) => r.count).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 1));
    });
  });
}
