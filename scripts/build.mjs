#!/usr/bin/env node
// Builds every package of the workspace (runs on `npm install`, as `prepare`):
// the client SDK and the resource-server middleware with tsup (ESM + CommonJS + bundled .d.ts),
// then the server (packages/server/scripts/build.mjs: tsc to dist/ with .d.ts, migrations copied).
//
// The libraries' `exports` maps follow their tsup entries: `src/index.ts` is ".", any other
// `src/NAME.ts` is "./NAME", each with an ESM flavour (import: NAME.d.ts + NAME.js) and a CommonJS
// one (require: NAME.d.cts + NAME.cjs). The build fails when a package.json disagrees, printing
// the map it expects; `node scripts/build.mjs --sync-exports` writes it.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
export const LIBRARIES = ['client', 'resource-server'];

/** The exports map a library's tsup entries call for. */
export function expectedExports(pkg) {
  const entries = Array.isArray(pkg.tsup?.entry) ? pkg.tsup.entry : Object.values(pkg.tsup?.entry ?? {});
  const names = Array.isArray(pkg.tsup?.entry) ? entries.map((e) => basename(e).replace(/\.[cm]?tsx?$/, '')) : Object.keys(pkg.tsup.entry);
  const map = {};
  for (const name of [...names].sort((a, b) => (a === 'index' ? -1 : b === 'index' ? 1 : a.localeCompare(b)))) {
    map[name === 'index' ? '.' : `./${name}`] = {
      import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
      require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
    };
  }
  map['./package.json'] = './package.json';
  return map;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sync = process.argv.includes('--sync-exports');
  let mismatch = false;
  for (const name of LIBRARIES) {
    const file = join(root, 'packages', name, 'package.json');
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    const expected = expectedExports(pkg);
    if (isDeepStrictEqual(pkg.exports, expected)) continue;
    if (sync) {
      pkg.exports = expected;
      writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
      console.error(`tessera build: wrote the exports of packages/${name}/package.json from its tsup entries`);
    } else {
      mismatch = true;
      console.error(`tessera build: packages/${name}/package.json "exports" does not follow its tsup entries; expected:\n` +
        JSON.stringify(expected, null, 2) + '\n(run `node scripts/build.mjs --sync-exports` to write it)');
    }
  }
  if (mismatch) process.exit(1);

  let tsup;
  try {
    tsup = join(require.resolve('tsup/package.json'), '..', 'dist', 'cli-default.js');
  } catch {
    console.error('tessera build: tsup is not installed (production install); skipping the library builds');
  }
  if (tsup) {
    for (const name of LIBRARIES) {
      const r = spawnSync(process.execPath, [tsup, '--silent'], { cwd: join(root, 'packages', name), stdio: 'inherit' });
      if (r.status !== 0) process.exit(r.status ?? 1);
    }
  }
  const ui = spawnSync(process.execPath, [join(root, 'packages/server/console-ui/build.mjs')], { stdio: 'inherit' }); // the web console (esbuild)
  if (ui.status !== 0) process.exit(ui.status ?? 1);
  const r = spawnSync(process.execPath, [join(root, 'packages/server/scripts/build.mjs')], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
