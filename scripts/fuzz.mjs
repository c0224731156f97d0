#!/usr/bin/env node
// `npm run fuzz`: the long fuzzing run (default 100,000 requests; TESSERA_FUZZ_RUNS, TESSERA_FUZZ_SEED).
// Prints the numbers (requests, per endpoint, per status, rate) and exits 1 on the first failure,
// with the shrunk request and the seed to replay it.
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const code = `
  const { runFuzz, startFuzzTarget, stillServing } = await import('./test/fuzz/harness.ts');
  const runs = Number(process.env.TESSERA_FUZZ_RUNS ?? 100000);
  const seed = Number(process.env.TESSERA_FUZZ_SEED ?? Date.now() % 2 ** 31);
  console.log(JSON.stringify({ runs, seed }));
  const target = await startFuzzTarget();
  try {
    const stats = await runFuzz(target, { runs, seed, onProgress: (s) => console.log(JSON.stringify({ progress: s.requests, ms: Math.round(s.ms) })) });
    await stillServing(target);
    console.log(JSON.stringify({ ...stats, ms: Math.round(stats.ms), perSecond: Math.round(stats.requests / (stats.ms / 1000)), fivexx: 0, tokensForInvalid: 0, stillServing: true }, null, 2));
  } finally {
    await target.close();
  }
`;
const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, stdio: 'inherit', env: { ...process.env, TESSERA_TEST: '1' } });
child.on('exit', (c, signal) => process.exit(c ?? (signal ? 1 : 0)));
