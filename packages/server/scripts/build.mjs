#!/usr/bin/env node
// Compiles src/ to dist/ (tsc, .ts imports rewritten to .js; .d.ts types beside the JavaScript) and
// copies the SQL migrations, so the server runs as plain JavaScript: no TypeScript loader thread in
// the process (≈ 25 MB less RSS), and the published package needs neither src/ nor tsx.
// Runs on `npm install` (prepare) and before `npm pack` (prepack). In the repository,
// bin/tessera.mjs falls back to the sources when dist/ is stale; an installed package has no src/.
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
// tsc keeps the specifiers of declaration files as written ('./core/server.ts'); a consumer's
// compiler resolves them only with the emitted extension.
function rewriteDeclarations(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) rewriteDeclarations(path);
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(path, 'utf8');
      const fixed = text.replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*)\.ts\2/g, '$1$2$3.js$2');
      if (fixed !== text) writeFileSync(path, fixed);
    }
  }
}
rewriteDeclarations(join(root, 'dist'));
writeFileSync(join(root, 'dist/.built'), new Date().toISOString() + '\n');
