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

it('costs the same per hit when full as when empty (no scan of the map; issue 13 item 1)', async () => {
  const maxKeys = 50_000;
  const batch = 5_000;
  const time = async (limiter: ReturnType<typeof createMemoryRateLimiter>, prefix: string) => {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await limiter.hit(`${prefix}${i}`, 60_000);
    return performance.now() - t0;
  };
  const limiter = createMemoryRateLimiter({ maxKeys });
  const empty = await time(limiter, 'a');
  for (let i = 0; i < maxKeys; i++) await limiter.hit(`fill${i}`, 60_000);
  const full = await time(limiter, 'b');
  // The former limiter scanned all 50,000 live windows for each new key: hundreds of times slower.
  assert.ok(full < empty * 10 + 100, `full ${full.toFixed(1)} ms vs empty ${empty.toFixed(1)} ms`);
  assert.equal((await limiter.hit(`b${batch - 1}`, 60_000)).count, 2, 'the newest keys are kept');
});

it('drops expired windows as it goes', async () => {
  let t = 0;
  const limiter = createMemoryRateLimiter({ clock: { now: () => t }, maxKeys: 3 });
  await limiter.hit('a', 10);
  await limiter.hit('b', 1000);
  t = 20;
  await limiter.hit('c', 1000);
  await limiter.hit('d', 1000); // 'a' expired and was swept, so 'b' survives
  assert.equal((await limiter.hit('b', 1000)).count, 2);
  assert.equal((await limiter.hit('a', 10)).count, 1);
});
