#!/usr/bin/env node
// Builds the console front end: one ESM bundle (esbuild), the stylesheet and the page, each with
// .gz and .br siblings, into console-ui/dist. Fails when the JavaScript exceeds 200 KB gzipped.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const here = new URL('.', import.meta.url).pathname;
const dist = join(here, 'dist');
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.error('tessera build: esbuild is not installed; the console is not rebuilt');
  process.exit(0);
}
mkdirSync(dist, { recursive: true });
await esbuild.build({ entryPoints: [join(here, 'src/app.ts')], bundle: true, minify: true, format: 'esm', target: 'es2022', outfile: join(dist, 'app.js'), logLevel: 'warning' });
copyFileSync(join(here, 'src/app.css'), join(dist, 'app.css'));
copyFileSync(join(here, 'src/index.html'), join(dist, 'index.html'));
for (const f of ['app.js', 'app.css', 'index.html']) {
  const body = readFileSync(join(dist, f));
  writeFileSync(join(dist, f + '.gz'), gzipSync(body, { level: 9 }));
  writeFileSync(join(dist, f + '.br'), brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
}
const jsGz = readFileSync(join(dist, 'app.js.gz')).length;
if (jsGz > 200 * 1024) {
  console.error(`console JavaScript is ${jsGz} bytes gzipped (limit 200 KB)`);
  process.exit(1);
}
