/**
 * The console's front end: its sources type-check; total JavaScript under 200 KB gzipped, no inline script or style
 * in the page (the CSP forbids them), no third-party origin referenced, and the server sends the
 * precompressed assets with the strict CSP.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from '../fixtures/server.ts';

const root = new URL('../..', import.meta.url).pathname;
const dist = join(root, 'packages/server/console-ui/dist');

describe('console assets', () => {
  let t: TestServer;
  before(async () => {
    const b = spawnSync(process.execPath, [join(root, 'packages/server/console-ui/build.mjs')], { stdio: 'inherit' });
    assert.equal(b.status, 0);
    t = await startTestServer({ inject: true });
  });
  after(async () => t.close());

  it('the front-end sources type-check (strict, DOM library)', () => {
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'packages/server/console-ui/tsconfig.json')], { encoding: 'utf8' });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });

  it('all console JavaScript together is under 200 KB gzipped', () => {
    const scripts = readdirSync(dist).filter((f) => f.endsWith('.js'));
    assert.ok(scripts.length >= 1);
    const total = scripts.reduce((n, f) => n + gzipSync(readFileSync(join(dist, f)), { level: 9 }).length, 0);
    assert.ok(total < 200 * 1024, `${total} bytes gzipped`);
  });

  it('the page has no inline script or style and names no other origin', () => {
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 1);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs!, /\bsrc="\/console\/assets\//);
      assert.equal(body!.trim(), '');
    }
    assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=/i);
    for (const f of ['index.html', 'app.js', 'app.css']) assert.doesNotMatch(readFileSync(join(dist, f), 'utf8'), /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${f} references another origin`);
  });

  it('assets are served precompressed with the strict CSP', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/console/assets/app.js', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(res.rawPayload).toString(), readFileSync(join(dist, 'app.js'), 'utf8'));
    const page = await t.app.inject({ method: 'GET', url: '/console/' });
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['cache-control'], 'no-store');
  });
});
