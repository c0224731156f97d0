#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `tessera` command. The shebang (and `npm start`) give V8 a small young
// generation: a token request allocates little that lives, so this keeps the resident set low
// under load (docs/performance.md) at no measured cost in throughput.
// It runs the compiled JavaScript in dist/ when that is at least
// as new as every source file (npm install builds it); otherwise the TypeScript sources through
// tsx's loader, so an edit is never shadowed by a stale build.
import { readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function distIsFresh() {
  try {
    return statSync(new URL('dist/.built', root)).mtimeMs >= newestSource(new URL('src/', root));
  } catch {
    return false;
  }
}

let main;
if (process.env.TESSERA_FROM_SOURCE !== '1' && distIsFresh()) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
