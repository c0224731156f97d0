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
