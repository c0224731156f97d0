#!/usr/bin/env -S node --max-semi-space-size=2
// Entry point of the `tessera` command. The shebang (and `npm start`) give V8 a small young
// generation: a token request allocates little that lives, so this keeps the resident set low
// under load (docs/performance.md) at no measured cost in throughput.
// It runs the compiled JavaScript in dist/. In the repository (src/ present) it does so only when
// dist/ is at least as new as every source file (npm install builds it), and otherwise runs the
// TypeScript sources through tsx's loader (a development dependency), so an edit is never shadowed
// by a stale build. An installed package has no src/ (npm may unpack dist/ before or after any other
// folder, so file times prove nothing there): it always runs dist/ and never needs tsx.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const sources = new URL('src/', root);

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
    return statSync(new URL('dist/.built', root)).mtimeMs >= newestSource(sources);
  } catch {
    return false;
  }
}

let main;
if (!existsSync(sources)) {
  ({ main } = await import('../dist/cli/main.js'));
} else if (process.env.TESSERA_FROM_SOURCE !== '1' && distIsFresh()) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
