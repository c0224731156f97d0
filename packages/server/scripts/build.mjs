#!/usr/bin/env node
// Compiles src/ to dist/ (tsc, .ts imports rewritten to .js) and copies the SQL migrations, so the
// server runs as plain JavaScript: no TypeScript loader thread in the process (≈ 25 MB less RSS).
// Runs on `npm install` (prepare). bin/tessera.mjs falls back to the sources when dist/ is stale.
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.error('tessera build: typescript is not installed (production install); the CLI runs from the sources');
  process.exit(0);
}
rmSync(join(root, 'dist'), { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
for (const backend of readdirSync(join(root, 'src/storage'))) {
  const from = join(root, 'src/storage', backend, 'migrations');
  try {
    readdirSync(from);
  } catch {
    continue;
  }
  mkdirSync(join(root, 'dist/storage', backend), { recursive: true });
  cpSync(from, join(root, 'dist/storage', backend, 'migrations'), { recursive: true });
}
writeFileSync(join(root, 'dist/.built'), new Date().toISOString() + '\n');
