import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { StorageUnavailableError } from '../../core/errors/index.ts';
import { runRateLimiterContract } from '../contract/rate-limiter.ts';
import { createRedisRateLimiter } from './rate-limiter.ts';

const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

runRateLimiterContract('redis', async () => {
  const prefix = `tessera-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const limiter = createRedisRateLimiter({ connection: REDIS_URL, prefix });
  return {
    limiter,
    async cleanup() {
      await limiter.close();
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    },
  };
});

it('two instances share one count', async () => {
  const prefix = `tessera-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const a = createRedisRateLimiter({ connection: REDIS_URL, prefix });
  const b = createRedisRateLimiter({ connection: REDIS_URL, prefix });
  try {
    await a.hit('k', 60_000);
    assert.equal((await b.hit('k', 60_000)).count, 2);
  } finally {
    await a.close();
    await b.close();
  }
});

it('fails with StorageUnavailableError when Redis cannot be reached', async () => {
  const limiter = createRedisRateLimiter({ connection: 'redis://127.0.0.1:1', prefix: 'x:', timeoutMs: 500 });
  try {
    await assert.rejects(limiter.hit('k', 1000), StorageUnavailableError);
  } finally {
    await limiter.close();
  }
});

it('behind the throttle, a flood of unknown ids from one source creates a bounded number of keys (issue 13 item 1)', async () => {
  const { AuthThrottle } = await import('../../core/client-auth/throttle.ts');
  const prefix = `tessera-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const limiter = createRedisRateLimiter({ connection: REDIS_URL, prefix });
  const throttle = new AuthThrottle(limiter, { maxFailures: 3, maxFailuresPerSource: 20, windowSeconds: 60 }, { now: () => Date.now() });
  const r = new Redis(REDIS_URL);
  try {
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const key = AuthThrottle.key('default', `ghost-${i}-${'x'.repeat(500)}`, '10.1.2.3');
      try {
        throttle.check(key);
      } catch {
        refused++;
        continue;
      }
      await throttle.failed(key);
    }
    assert.equal(refused, 280, 'after 20 failures the source is refused whatever the client id');
    const keys = await r.keys(`${prefix}*`);
    assert.ok(keys.length <= 21, `${keys.length} keys`);
    assert.ok(keys.every((k) => k.length < prefix.length + 80), 'keys are fixed-size hashes');
    for (const k of keys) assert.ok((await r.pttl(k)) > 0, 'every key expires');
  } finally {
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    await limiter.close();
  }
});
