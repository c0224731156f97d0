/**
 * The fuzzing suite in `npm test`: ≈10,000 generated requests (seeded, so a failure replays) across
 * the token, introspection and revocation endpoints of a real server over real sockets; zero 5xx,
 * zero tokens for invalid input, the server still serving afterwards. `npm run fuzz` runs the long
 * one (100,000 by default; TESSERA_FUZZ_RUNS and TESSERA_FUZZ_SEED choose).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz, startFuzzTarget, stillServing } from './harness.ts';

const RUNS = Number(process.env.TESSERA_FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.TESSERA_FUZZ_SEED ?? 20261202);

it(`${RUNS} generated requests: no 5xx, no token for invalid input, still serving`, { timeout: 600_000 }, async () => {
  const target = await startFuzzTarget();
  try {
    const stats = await runFuzz(target, { runs: RUNS, seed: SEED });
    assert.equal(stats.requests, RUNS);
    assert.ok(Object.keys(stats.byStatus).every((s) => Number(s) < 500), JSON.stringify(stats.byStatus));
    for (const endpoint of ['token', 'introspect', 'revoke']) assert.ok((stats.byEndpoint[endpoint] ?? 0) > RUNS / 20, `${endpoint} is exercised`);
    assert.ok(stats.tokensForValid > 0, 'valid requests among the generated ones do get tokens (the generator reaches the happy path)');
    await stillServing(target);
  } finally {
    await target.close();
  }
});
