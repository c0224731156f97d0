/**
 * Portability of the framework-free verifier: it bundles with `esbuild --platform=browser` (no Node
 * built-in reached), its modules name no `node:` import and no `Buffer`, and the browser bundle
 * verifies a real token when run (here, in Node, through its web APIs only: fetch and Web Crypto).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import express from 'express';

const SRC = fileURLToPath(new URL('.', import.meta.url));
/** Entries that must run outside Node: the core and the Hono adapter (Hono runs on Workers, Deno, Bun). */
const PORTABLE_ENTRIES = ['index.ts', 'hono.ts'];
/** Adapters for Node-only frameworks; allowed to rely on Node. */
const NODE_ONLY = new Set(['express.ts', 'fastify.ts', 'koa.ts', 'nest.ts']);

async function bundle(entry: string) {
  return build({
    entryPoints: [`${SRC}${entry}`],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
}

describe('portable verifier', () => {
  let server: Server;
  let origin = '';
  const kid = 'k1';
  let privateKey: CryptoKey;

  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
    server = createServer((req, res) => {
      res.writeHead(req.url === '/jwks' ? 200 : 404, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      res.end(req.url === '/jwks' ? JSON.stringify({ keys: [jwk] }) : '{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  for (const entry of PORTABLE_ENTRIES) {
    it(`${entry} bundles with esbuild --platform=browser, reaching no Node built-in`, async () => {
      const result = await bundle(entry);
      assert.deepEqual(result.errors, []);
      const inputs = Object.keys(result.metafile.inputs);
      assert.ok(inputs.some((i) => i.endsWith('verifier.ts')), 'the verifier is in the bundle');
      assert.deepEqual(inputs.filter((i) => i.startsWith('node:') || /(^|\/)node_modules\/(express|fastify|koa|@nestjs)\//.test(i)), []);
      const code = result.outputFiles[0]!.text;
      assert.ok(!/\bfrom\s*["']node:|require\(["']node:/.test(code), 'no node: import left in the output');
    });
  }

  it('no module of the portable entries uses node: imports or Buffer', () => {
    const modules = readdirSync(SRC).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NODE_ONLY.has(f));
    assert.ok(modules.includes('verifier.ts') && modules.includes('keys.ts'));
    for (const file of modules) {
      const code = readFileSync(`${SRC}${file}`, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      assert.ok(!/['"]node:/.test(code), `${file} imports a node: module`);
      assert.ok(!/\bBuffer\b/.test(code), `${file} uses Buffer`);
      assert.ok(!/\bprocess\./.test(code), `${file} uses process`);
    }
  });

  it('the browser bundle verifies a token using fetch and Web Crypto', async () => {
    const result = await bundle('index.ts');
    const url = `data:text/javascript;base64,${Buffer.from(result.outputFiles[0]!.text).toString('base64')}`;
    const lib = (await import(url)) as typeof import('./index.ts');
    const verifier = lib.createVerifier({ issuer: 'https://issuer.example', audience: 'https://api.example', jwks: { uri: `${origin}/jwks` }, telemetry: false });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: 'https://issuer.example', sub: 'svc', client_id: 'svc', aud: 'https://api.example', scope: 'read', jti: 'j', iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .sign(privateKey);
    const verified = await verifier.verify(token, { scopes: ['read'] });
    assert.equal(verified.clientId, 'svc');
    const refused = await verifier.verify(`${token}x`).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof lib.BearerError);
    assert.equal(refused.status, 401);
  });

  it('entries bundled separately (as published) still recognise each other\'s errors', async () => {
    const load = async (entry: string) => {
      const out = await bundle(entry);
      return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.text).toString('base64')}`);
    };
    const core = (await load('index.ts')) as typeof import('./index.ts');
    const adapter = (await load('express.ts')) as typeof import('./express.ts');
    const verifier = core.createVerifier({ issuer: 'https://issuer.example', audience: 'https://api.example', jwks: { uri: `${origin}/jwks` }, telemetry: false });
    const app = express();
    app.get('/', adapter.expressBearer({ verifier }), (_req, res) => void res.json({}));
    const listener = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(listener.address() as AddressInfo).port}/`, { headers: { authorization: 'Bearer a.b.c' } });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /invalid_token/);
      const error = await verifier.verify('a.b.c').then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof core.BearerError);
      const { BearerError: LocalBearerError } = await import('./errors.ts');
      assert.ok(error instanceof LocalBearerError, 'instanceof across copies of the module');
    } finally {
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
