#!/usr/bin/env node
// Runs every *.test.ts under packages/ and test/ with node's test runner (tsx as loader).
// `npm test` runs all; `npm test -- packages/server/src/core` runs those under the given paths.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const files = [];
for (const r of roots.length ? roots : ['packages', 'test']) {
  const p = join(root, r);
  if (statSync(p).isDirectory()) walk(p, files);
  else files.push(relative(root, p));
}
files.sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// --test-force-exit: a file whose tests are done exits even if something of a failed test (a load
// loop, a timer) still runs; otherwise one such leftover hangs the whole run until CI's limit.
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-force-exit', ...passThrough, ...files];
const started = performance.now();
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, TESSERA_TEST: '1' } });
child.on('exit', (code, signal) => {
  // With --test-force-exit the runner exits before its last summary line: print it here.
  console.log(`# duration_ms ${(performance.now() - started).toFixed(3)}`);
  process.exit(code ?? (signal ? 1 : 0));
});
