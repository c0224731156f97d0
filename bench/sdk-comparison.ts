/**
 * Measures the behaviours docs/sdk-comparison.md reports for openid-client and
 * express-oauth2-jwt-bearer (both workspace dev dependencies), against a scripted local
 * authorization server (node:http + jose) on loopback. Runs in about ten seconds:
 *
 *   node --import tsx bench/sdk-comparison.ts
 *
 * Prints one line per measurement. Not part of `npm test`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as oidc from 'openid-client';
import express from 'express';
import { auth } from 'express-oauth2-jwt-bearer';

interface Key { kid: string; privateKey: CryptoKey; jwk: JWK }
async function newKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

/** A scripted authorization server: counts requests, can hang, omit expires_in, rotate keys. */
class FakeAs {
  server: Server;
  issuer = '';
  counts = { metadata: 0, token: 0, jwks: 0 };
  hangToken = false;
  hangMetadata = false;
  omitExpiresIn = false;
  jwksCacheControl: string | undefined;
  keys: Key[] = [];
  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
  }
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
  async sign(key: Key, claims: Record<string, unknown> = {}, typ = 'at+jwt'): Promise<string> {
    return new SignJWT({ client_id: 'c1', scope: 'read', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ })
      .setIssuer(this.issuer + '/').setSubject('c1').setAudience('https://api.example')
      .setIssuedAt().setExpirationTime('1h').setJti(crypto.randomUUID())
      .sign(key.privateKey);
  }
  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.issuer);
    if (url.pathname.startsWith('/.well-known/')) {
      this.counts.metadata++;
      if (this.hangMetadata) return;
      return json(res, {
        issuer: this.issuer + '/', token_endpoint: `${this.issuer}/token`, jwks_uri: `${this.issuer}/jwks`,
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
      });
    }
    if (url.pathname === '/token') {
      this.counts.token++;
      for await (const _ of req) void _;
      if (this.hangToken) return;
      const token = await this.sign(this.keys[0]!);
      return json(res, { access_token: token, token_type: 'Bearer', ...(this.omitExpiresIn ? {} : { expires_in: 3600 }) });
    }
    if (url.pathname === '/jwks') {
      this.counts.jwks++;
      return json(res, { keys: this.keys.map((k) => k.jwk) }, this.jwksCacheControl ? { 'cache-control': this.jwksCacheControl } : {});
    }
    res.writeHead(404).end();
  }
}
function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}
const report = (what: string, value: unknown) => console.log(`${what}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
async function elapsed(fn: () => Promise<unknown>): Promise<{ ms: number; outcome: string }> {
  const t0 = performance.now();
  let outcome = 'ok';
  try { await fn(); } catch (err) { outcome = `threw ${(err as Error).name}: ${(err as Error).message.slice(0, 80)}`; }
  return { ms: Math.round(performance.now() - t0), outcome };
}

// ---- openid-client ---------------------------------------------------------------------------
{
  const as = await new FakeAs().start();
  as.keys = [await newKey('k1')];
  const config = await oidc.discovery(new URL(as.issuer), 'c1', 'secret', oidc.ClientSecretBasic('secret'), { execute: [oidc.allowInsecureRequests], timeout: 1 });
  for (let i = 0; i < 10; i++) await oidc.clientCredentialsGrant(config, { scope: 'read' });
  report('openid-client: token requests for 10 clientCredentialsGrant calls', as.counts.token);
  as.omitExpiresIn = true;
  as.counts.token = 0;
  for (let i = 0; i < 5; i++) await oidc.clientCredentialsGrant(config, { scope: 'read' });
  report('openid-client: token requests for 5 calls, no expires_in', as.counts.token);
  as.hangToken = true;
  report('openid-client: hung token endpoint, timeout 1 s', await elapsed(() => oidc.clientCredentialsGrant(config, { scope: 'read' })));
  as.hangMetadata = true;
  report('openid-client: hung discovery, timeout 1 s', await elapsed(() => oidc.discovery(new URL(as.issuer), 'c1', 'secret', undefined, { execute: [oidc.allowInsecureRequests], timeout: 1 })));
  await as.stop();
  report('openid-client: token endpoint down after a success', await elapsed(() => oidc.clientCredentialsGrant(config, { scope: 'read' })));
}

// ---- express-oauth2-jwt-bearer ---------------------------------------------------------------
async function api(options: Parameters<typeof auth>[0]): Promise<{ url: string; close: () => Promise<void> }> {
  const app = express();
  app.get('/r', auth(options), (_req, res) => void res.json({ ok: true }));
  app.use((err: { status?: number; headers?: Record<string, string> }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(err.status ?? 500).set(err.headers ?? {}).end();
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/r`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
const call = async (url: string, token: string) => {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), wwwAuthenticate: res.headers.get('www-authenticate') };
};
{
  const as = await new FakeAs().start();
  const k1 = await newKey('k1');
  as.keys = [k1];
  as.jwksCacheControl = 'max-age=1';
  const rs = await api({ issuerBaseURL: as.issuer, audience: 'https://api.example' });
  const token = await as.sign(k1);
  const statuses = new Set<number>();
  for (let i = 0; i < 50; i++) statuses.add((await call(rs.url, token)).status);
  report('express-oauth2-jwt-bearer: 50 requests, one token', { statuses: [...statuses], ...as.counts });

  // Rotation: the server publishes k2 and signs with it at once.
  const k2 = await newKey('k2');
  as.keys = [k2, k1];
  const before = as.counts.jwks;
  const rotated = await call(rs.url, await as.sign(k2));
  report('express-oauth2-jwt-bearer: new-kid token right after warm-up', { status: rotated.status, jwksRefetches: as.counts.jwks - before });

  // JWKS served with Cache-Control: max-age=1; a removed key 1.5 s later.
  as.keys = [k2];
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const afterMaxAge = await call(rs.url, token);
  report('express-oauth2-jwt-bearer: k1 removed from a max-age=1 JWKS, 1.5 s later', { status: afterMaxAge.status, jwksFetches: as.counts.jwks });

  // RFC 9068 typ: a plain JWT (typ JWT) with the same claims.
  const plain = await call(rs.url, await as.sign(k1, {}, 'JWT'));
  report('express-oauth2-jwt-bearer: typ JWT instead of at+jwt, default options', plain.status);
  await rs.close();

  // The issuer unreachable on a cold verifier.
  await as.stop();
  const cold = await api({ issuerBaseURL: as.issuer, audience: 'https://api.example' });
  report('express-oauth2-jwt-bearer: issuer down, cold verifier', await call(cold.url, token));
  await cold.close();
}
process.exit(0);
