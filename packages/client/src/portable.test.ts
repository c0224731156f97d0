/**
 * Portability of `@tessera-auth/client`: it bundles with `esbuild --platform=browser` without any
 * `node:` import, and the bundle obtains tokens (client_secret_basic and private_key_jwt through Web
 * Crypto) inside a V8 context that has only web globals — no `process`, `Buffer` or `require`, and no
 * `@opentelemetry/api` (its dynamic import fails there, and the client does without).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { exportJWK, generateKeyPair, jwtVerify } from 'jose';

const SRC = dirname(fileURLToPath(import.meta.url));

async function bundle(format: 'esm' | 'iife'): Promise<string> {
  const result = await build({
    entryPoints: [join(SRC, 'index.ts')],
    bundle: true,
    platform: 'browser',
    format,
    globalName: format === 'iife' ? 'TesseraClient' : undefined,
    // The IIFE run below stands for an app without the optional @opentelemetry/api: its import() fails there.
    external: format === 'iife' ? ['@opentelemetry/api'] : [],
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  assert.equal(result.outputFiles.length, 1);
  return result.outputFiles[0]!.text;
}

describe('portability', () => {
  let server: Server;
  let origin = '';
  const assertions: string[] = [];
  let publicKey: CryptoKey;

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const assertion = form.get('client_assertion');
        if (assertion) assertions.push(assertion);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: `t-${assertions.length}-${req.headers.authorization ? 'basic' : 'jwt'}`, token_type: 'Bearer', expires_in: 300 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it('no module of the package imports node: built-ins or uses Buffer, process or require', () => {
    const modules = readdirSync(SRC).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    assert.ok(modules.length >= 10);
    const offenders = modules.filter((f) => {
      const code = readFileSync(join(SRC, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      return /from\s+['"]node:|import\(\s*['"]node:|\bBuffer\b|\bprocess\.|\brequire\(/.test(code);
    });
    assert.deepEqual(offenders, []);
  });

  it('bundles with esbuild --platform=browser, with no node: import in the output', async () => {
    const code = await bundle('esm');
    assert.match(code, /TokenClient = class/, 'the bundle contains the client');
    assert.doesNotMatch(code, /["']node:/);
    assert.doesNotMatch(code, /\brequire\(\s*["'](crypto|buffer|http|https|timers|util|stream)["']/);
  });

  it('the browser bundle gets tokens in a context with only web globals', async () => {
    const code = await bundle('iife');
    const { privateKey, publicKey: pub } = await generateKeyPair('ES256', { extractable: true });
    publicKey = pub;
    const jwk = { ...(await exportJWK(privateKey)), kid: 'k1' };
    const webGlobals = {
      fetch, Request, Response, Headers, URL, URLSearchParams, AbortController, AbortSignal, DOMException,
      TextEncoder, TextDecoder, atob, btoa, crypto: globalThis.crypto, CryptoKey: globalThis.CryptoKey,
      setTimeout, clearTimeout, structuredClone, performance, console, Promise, Error, TypeError,
    };
    const context: Record<string, unknown> = { ...webGlobals, result: undefined };
    context.globalThis = context;
    context.self = context;
    runInNewContext(
      `${code}
       result = (async () => {
         if (typeof process !== 'undefined' || typeof Buffer !== 'undefined' || typeof require !== 'undefined') throw new Error('not a web-only context');
         const { TokenClient } = TesseraClient;
         const basic = new TokenClient({ issuer: ORIGIN, clientId: 'svc', auth: { method: 'client_secret_basic', clientSecret: 's3cret' }, tokenEndpoint: ORIGIN + '/token' });
         const jwt = new TokenClient({ issuer: ORIGIN, clientId: 'svc', auth: { method: 'private_key_jwt', privateKey: JWK }, tokenEndpoint: ORIGIN + '/token' });
         const a = await basic.getToken();
         const b = await jwt.getToken({ signal: new AbortController().signal });
         return [a.accessToken, b.accessToken, (await basic.getToken()) === a];
       })();`,
      Object.assign(context, { ORIGIN: origin, JWK: jwk }),
    );
    const [basicToken, jwtToken, cached] = (await context.result) as [string, string, boolean];
    assert.equal(basicToken, 't-0-basic');
    assert.equal(jwtToken, 't-1-jwt');
    assert.equal(cached, true);
    const { payload, protectedHeader } = await jwtVerify(assertions[0]!, publicKey, { issuer: 'svc', subject: 'svc', audience: origin });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(protectedHeader.kid, 'k1');
    assert.equal(payload.exp! - payload.iat!, 60);
  });
});
