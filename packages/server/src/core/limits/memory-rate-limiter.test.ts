import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runRateLimiterContract } from '../../storage/contract/rate-limiter.ts';
import { createMemoryRateLimiter } from './memory-rate-limiter.ts';

runRateLimiterContract('memory', async () => {
  const limiter = createMemoryRateLimiter();
  return { limiter, cleanup: () => limiter.close() };
});

it('stays within its key bound', async () => {
  const limiter = createMemoryRateLimiter({ maxKeys: 10 });
  for (let i = 0; i < 100; i++) await limiter.hit(`k${i}`, 60_000);
  assert.equal((await limiter.hit('k99', 60_000)).count, 2, 'recent keys survive');
  assert.equal((await limiter.hit('k0', 60_000)).count, 1, 'old keys were dropped');
});
