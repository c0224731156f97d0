#!/usr/bin/env node
// Builds every package of the workspace (runs on `npm install`, as `prepare`):
// the client SDK and the resource-server middleware with tsup (ESM + CommonJS + bundled .d.ts),
// then the server (packages/server/scripts/build.mjs: tsc to dist/, migrations copied).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
let tsup;
try {
  tsup = join(require.resolve('tsup/package.json'), '..', 'dist', 'cli-default.js');
} catch {
  console.error('tessera build: tsup is not installed (production install); skipping the library builds');
}
if (tsup) {
  for (const pkg of ['client', 'resource-server']) {
    const r = spawnSync(process.execPath, [tsup, '--silent'], { cwd: join(root, 'packages', pkg), stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
const ui = spawnSync(process.execPath, [join(root, 'packages/server/console-ui/build.mjs')], { stdio: 'inherit' }); // the web console (esbuild)
if (ui.status !== 0) process.exit(ui.status ?? 1);
const r = spawnSync(process.execPath, [join(root, 'packages/server/scripts/build.mjs')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
