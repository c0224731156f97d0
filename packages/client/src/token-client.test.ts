/**
 * TokenClient against a minimal in-test authorization server on a loopback socket.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWK } from 'jose';
import { CLIENT_ASSERTION_TYPE_JWT_BEARER } from '../../server/src/shared/oauth.ts';
import { DiscoveryError, TokenClient, TokenError, TransportError, type AccessToken, type TokenClientOptions, type TokenRequest } from './index.ts';

// ---------------------------------------------------------------------------------------------
// Minimal authorization server: metadata, token endpoint (scripted answers) and a protected API.
// ---------------------------------------------------------------------------------------------

interface TokenCall {
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}

type Answer =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | 'destroy'
  | 'hang';

class FakeAuthorizationServer {
  readonly server: Server;
  origin = '';
  /** Metadata documents by path; tests add or remove entries. */
  metadata = new Map<string, unknown>();
  tokenCalls: TokenCall[] = [];
  /** Scripted answers for the next token calls; when empty, `defaultAnswer`. */
  script: Answer[] = [];
  /** `expires_in` of the default answer. */
  expiresIn = 300;
  /**
   * Verification keys for JWT client assertions by client id. When the token endpoint receives a
   * client_assertion it verifies it (signature, iss = sub = client_id, aud, 60 s lifetime, unused
   * jti) and answers invalid_client on any failure.
   */
  assertionKeys = new Map<string, CryptoKey | KeyObject | Uint8Array>();
  readonly #seenJtis = new Set<string>();
  /** Access tokens the protected API rejects with invalid_token. */
  revoked = new Set<string>();
  apiCalls: string[] = [];
  readonly #hanging: ServerResponse[] = [];

  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  reset(): void {
    this.tokenCalls = [];
    this.script = [];
    this.apiCalls = [];
    this.revoked.clear();
    this.metadata.clear();
    this.expiresIn = 300;
    this.assertionKeys.clear();
  }

  /** Publishes RFC 8414 metadata for `issuer` at the path-inserted location. */
  publish(issuer: string): void {
    const path = new URL(issuer).pathname.replace(/\/$/, '');
    this.metadata.set(`/.well-known/oauth-authorization-server${path === '/' ? '' : path}`, this.document(issuer));
  }

  document(issuer: string): Record<string, unknown> {
    return { issuer, token_endpoint: `${this.origin}/token`, jwks_uri: `${this.origin}/jwks`, grant_types_supported: ['client_credentials'] };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.origin);
    if (req.method === 'GET' && this.metadata.has(url.pathname)) return json(res, 200, this.metadata.get(url.pathname));
    if (req.method === 'POST' && url.pathname === '/token') {
      const call = { headers: req.headers, form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) };
      this.tokenCalls.push(call);
      const rejection = await this.#checkAssertion(call.form);
      if (rejection) return json(res, 401, { error: 'invalid_client', error_description: rejection });
      const answer = this.script.shift() ?? {
        status: 200,
        body: { access_token: `token-${this.tokenCalls.length}`, token_type: 'Bearer', expires_in: this.expiresIn, scope: call.form.get('scope') ?? '' },
      };
      if (answer === 'destroy') return void req.socket.destroy();
      if (answer === 'hang') return void this.#hanging.push(res);
      return json(res, answer.status, answer.body, answer.headers);
    }
    if (url.pathname === '/api') {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      this.apiCalls.push(token);
      if (this.revoked.has(token)) {
        res.setHeader('www-authenticate', 'Bearer realm="api", error="invalid_token"');
        return json(res, 401, { error: 'invalid_token' });
      }
      return json(res, 200, { token, body: Buffer.concat(chunks).toString('utf8') });
    }
    json(res, 404, { error: 'not_found' });
  }

  /** Returns why the request's client assertion is unacceptable, or undefined when none or fine. */
  async #checkAssertion(form: URLSearchParams): Promise<string | undefined> {
    const assertion = form.get('client_assertion');
    if (assertion === null) return undefined;
    const clientId = form.get('client_id') ?? '';
    const key = this.assertionKeys.get(clientId);
    if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE_JWT_BEARER || !key) return 'unexpected assertion';
    try {
      const { payload } = await jwtVerify(assertion, key, {
        issuer: clientId,
        subject: clientId,
        audience: [this.origin, `${this.origin}/token`],
        requiredClaims: ['jti', 'iat', 'exp'],
      });
      if (payload.exp! - payload.iat! !== 60) return 'lifetime is not 60 s';
      if (this.#seenJtis.has(payload.jti!)) return 'jti replayed';
      this.#seenJtis.add(payload.jti!);
      return undefined;
    } catch (error) {
      return (error as Error).message.replace(/"/g, "'");
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

/** Decodes a client_secret_basic header the way RFC 6749 §2.3.1 prescribes. */
function decodeBasic(header: string | undefined): [string, string] {
  const raw = Buffer.from(/^Basic (.+)$/.exec(header ?? '')?.[1] ?? '', 'base64').toString('utf8');
  const colon = raw.indexOf(':');
  const decode = (v: string) => decodeURIComponent(v.replace(/\+/g, '%20'));
  return [decode(raw.slice(0, colon)), decode(raw.slice(colon + 1))];
}

/** A sleep that records the requested delays and returns at once. */
function recordingSleep(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

/** Polls `condition` (every 5 ms, up to 5 s). */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), 'condition not reached within 5 s');
}

/** Calls getToken until it returns `accessToken` (a background renewal landing). */
async function waitForToken(c: TokenClient, accessToken: string, request: TokenRequest = {}): Promise<AccessToken> {
  let token = await c.getToken(request);
  for (let i = 0; i < 1000 && token.accessToken !== accessToken; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    token = await c.getToken(request);
  }
  return token;
}

// ---------------------------------------------------------------------------------------------

const as = new FakeAuthorizationServer();
let issuer: string;

function client(overrides: Partial<TokenClientOptions> = {}): TokenClient {
  return new TokenClient({
    issuer,
    clientId: 'svc-a',
    auth: { method: 'client_secret_basic', clientSecret: 'secret' },
    baseDelayMs: 1,
    ...overrides,
  });
}

before(async () => {
  await as.start();
  issuer = as.origin;
});
after(() => as.stop());
beforeEach(() => {
  as.reset();
  as.publish(issuer);
});

describe('discovery', () => {
  it('reads RFC 8414 metadata at the path-inserted location', async () => {
    const tenantIssuer = `${as.origin}/tenants/acme`;
    as.metadata.clear();
    as.publish(tenantIssuer);
    assert.ok(as.metadata.has('/.well-known/oauth-authorization-server/tenants/acme'));
    const token = await client({ issuer: tenantIssuer }).getToken();
    assert.equal(token.accessToken, 'token-1');
  });

  it('falls back to openid-configuration', async () => {
    as.metadata.clear();
    as.metadata.set('/.well-known/openid-configuration', as.document(issuer));
    assert.equal((await client().getToken()).accessToken, 'token-1');
  });

  it('rejects metadata whose issuer differs and retries discovery on the next call', async () => {
    as.metadata.clear();
    as.metadata.set('/.well-known/oauth-authorization-server', as.document(`${issuer}/other`));
    const c = client();
    await assert.rejects(c.getToken(), DiscoveryError);
    as.publish(issuer);
    assert.equal((await c.getToken()).accessToken, 'token-1');
  });

  it('fails with DiscoveryError when no metadata exists', async () => {
    as.metadata.clear();
    await assert.rejects(client({ maxRetries: 0 }).getToken(), DiscoveryError);
  });

  it('skips discovery when tokenEndpoint is given', async () => {
    as.metadata.clear();
    const token = await client({ tokenEndpoint: `${as.origin}/token` }).getToken();
    assert.equal(token.accessToken, 'token-1');
  });
});

describe('caching', () => {
  it('serves a valid token from cache, separately per scope and resource', async () => {
    const c = client();
    const first = await c.getToken({ scope: 'read payments' });
    assert.deepEqual(await c.getToken({ scope: 'payments read' }), first);
    assert.equal(as.tokenCalls.length, 1);
    assert.equal(as.tokenCalls[0]!.form.get('scope'), 'payments read');
    await c.getToken({ scope: 'read' });
    await c.getToken({ scope: 'read', resource: 'https://api.example.test/' });
    await c.getToken({ scope: 'read', resource: 'https://api.example.test/' });
    assert.equal(as.tokenCalls.length, 3);
    assert.deepEqual(as.tokenCalls[2]!.form.getAll('resource'), ['https://api.example.test/']);
  });

  it('shares one request among 10 concurrent callers', async () => {
    const c = client();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => c.getToken({ scope: 'read' })));
    assert.equal(as.tokenCalls.length, 1);
    assert.ok(tokens.every((t) => t.accessToken === 'token-1'));
  });

  it('returns expiresAt in ms and the granted scope', async () => {
    const now = 1_700_000_000_000;
    as.script.push({ status: 200, body: { access_token: 'x', token_type: 'bearer', expires_in: 120, scope: 'read' } });
    const token = await client({ now: () => now }).getToken({ scope: 'read write' });
    assert.deepEqual(token, { accessToken: 'x', tokenType: 'bearer', expiresAt: now + 120_000, scope: 'read' });
  });

  // Renewal starts at the refresh margin; the caller that notices gets the still-valid token at
  // once and the new one replaces it when the background request completes.
  it('renews ahead of expiry by the refresh margin', async () => {
    let now = 1_700_000_000_000;
    const c = client({ now: () => now, refreshMarginSeconds: 30 });
    await c.getToken(); // expires_in 300
    now += 269_000;
    assert.equal((await c.getToken()).accessToken, 'token-1');
    assert.equal(as.tokenCalls.length, 1);
    now += 2_000;
    assert.equal((await c.getToken()).accessToken, 'token-1', 'still valid: served while renewing');
    await waitFor(() => as.tokenCalls.length === 2);
    assert.equal((await waitForToken(c, 'token-2')).accessToken, 'token-2');
    assert.equal(as.tokenCalls.length, 2);
  });

  it('starts renewing when less than 10% of the life is left', async () => {
    let now = 1_700_000_000_000;
    as.expiresIn = 3600;
    const c = client({ now: () => now, refreshMarginSeconds: 30 });
    await c.getToken();
    now += 3_239_000;
    assert.equal((await c.getToken()).accessToken, 'token-1');
    assert.equal(as.tokenCalls.length, 1);
    now += 2_000; // 359 s left: below 10% of 3600 s
    await c.getToken();
    assert.equal((await waitForToken(c, 'token-2')).accessToken, 'token-2');
    assert.equal(as.tokenCalls.length, 2);
  });

  it('invalidate drops the cached token', async () => {
    const c = client();
    await c.getToken({ scope: 'read' });
    c.invalidate('read');
    assert.equal((await c.getToken({ scope: 'read' })).accessToken, 'token-2');
  });
});

describe('retries', () => {
  it('retries 503 with growing backoff and succeeds', async () => {
    as.script.push({ status: 503, body: { error: 'temporarily_unavailable' } }, { status: 503 });
    const { delays, sleep } = recordingSleep();
    const token = await client({ sleep, baseDelayMs: 100 }).getToken();
    assert.equal(token.accessToken, 'token-3');
    assert.equal(as.tokenCalls.length, 3);
    assert.equal(delays.length, 2);
    assert.ok(delays[0]! >= 50 && delays[0]! <= 100, `first delay ${delays[0]}`);
    assert.ok(delays[1]! >= 100 && delays[1]! <= 200, `second delay ${delays[1]}`);
  });

  it('honours Retry-After on 429', async () => {
    as.script.push({ status: 429, headers: { 'retry-after': '2' }, body: { error: 'slow_down' } });
    const { delays, sleep } = recordingSleep();
    await client({ sleep }).getToken();
    assert.equal(as.tokenCalls.length, 2);
    assert.ok(delays[0]! >= 2000, `delay ${delays[0]}`);
  });

  it('gives up after maxRetries with the server error', async () => {
    as.script.push(...Array.from({ length: 3 }, () => ({ status: 503, body: { error: 'temporarily_unavailable', error_description: 'busy' } })));
    const { sleep } = recordingSleep();
    const error = await client({ sleep, maxRetries: 2 }).getToken().catch((e: unknown) => e);
    assert.ok(error instanceof TokenError);
    assert.equal(error.error, 'temporarily_unavailable');
    assert.equal(error.status, 503);
    assert.equal(as.tokenCalls.length, 3);
  });

  it('retries network failures, then raises TransportError', async () => {
    as.script.push('destroy');
    const { sleep } = recordingSleep();
    assert.equal((await client({ sleep }).getToken()).accessToken, 'token-2');
    as.script.push('destroy', 'destroy');
    const error = await client({ sleep, maxRetries: 1 }).getToken().catch((e: unknown) => e);
    assert.ok(error instanceof TransportError, String(error));
  });

  it('does not retry an OAuth error: typed TokenError', async () => {
    as.script.push({ status: 400, body: { error: 'invalid_scope', error_description: 'scope admin is not allowed' } });
    const { delays, sleep } = recordingSleep();
    const error = await client({ sleep }).getToken({ scope: 'admin' }).catch((e: unknown) => e);
    assert.ok(error instanceof TokenError);
    assert.equal(error.error, 'invalid_scope');
    assert.equal(error.errorDescription, 'scope admin is not allowed');
    assert.equal(error.status, 400);
    assert.equal(as.tokenCalls.length, 1);
    assert.equal(delays.length, 0);
  });

  it('does not cache failures: the next call asks again', async () => {
    as.script.push({ status: 401, body: { error: 'invalid_client' } });
    const c = client();
    await assert.rejects(c.getToken(), (e: unknown) => e instanceof TokenError && e.error === 'invalid_client');
    assert.equal((await c.getToken()).accessToken, 'token-2');
  });

  it('times out a hanging request', async () => {
    as.script.push('hang');
    const error = await client({ timeoutMs: 200, maxRetries: 0 }).getToken().catch((e: unknown) => e);
    assert.ok(error instanceof TransportError);
    assert.match(error.message, /timed out/);
  });

  it('raises TransportError on a non-OAuth failure and on a malformed success', async () => {
    as.script.push({ status: 404, body: { nothing: true } });
    await assert.rejects(client().getToken(), (e: unknown) => e instanceof TransportError && e.status === 404);
    as.script.push({ status: 200, body: { token_type: 'Bearer' } });
    await assert.rejects(client().getToken(), TransportError);
    as.script.push({ status: 200, body: { access_token: 'a', token_type: 'DPoP', expires_in: 60 } });
    await assert.rejects(client().getToken(), TransportError);
  });
});

describe('client authentication', () => {
  it('client_secret_basic form-encodes id and secret before base64', async () => {
    const secret = 'p:a%s+s w/ö=&';
    await client({ clientId: 'svc:1+x', auth: { method: 'client_secret_basic', clientSecret: secret } }).getToken();
    const call = as.tokenCalls[0]!;
    const raw = Buffer.from(call.headers.authorization!.slice(6), 'base64').toString();
    assert.equal(raw, 'svc%3A1%2Bx:p%3Aa%25s%2Bs+w%2F%C3%B6%3D%26');
    assert.deepEqual(decodeBasic(call.headers.authorization), ['svc:1+x', secret]);
    assert.equal(call.form.get('client_id'), null);
    assert.equal(call.form.get('client_secret'), null);
    assert.equal(call.form.get('grant_type'), 'client_credentials');
  });

  it('client_secret_post sends the credentials in the body', async () => {
    await client({ auth: { method: 'client_secret_post', clientSecret: 'a:b%c' } }).getToken();
    const call = as.tokenCalls[0]!;
    assert.equal(call.headers.authorization, undefined);
    assert.equal(call.form.get('client_id'), 'svc-a');
    assert.equal(call.form.get('client_secret'), 'a:b%c');
  });

  it('client_secret_jwt signs an HS256 assertion the server can verify', async () => {
    const secret = 'a-long-shared-secret-of-at-least-32-bytes!';
    as.assertionKeys.set('svc-a', new TextEncoder().encode(secret));
    const now = Date.now();
    await client({ auth: { method: 'client_secret_jwt', clientSecret: secret }, now: () => now }).getToken();
    const wrong = client({ auth: { method: 'client_secret_jwt', clientSecret: `${secret}-but-wrong` } }).getToken();
    await assert.rejects(wrong, (e: unknown) => e instanceof TokenError && e.error === 'invalid_client' && e.status === 401);
    const form = as.tokenCalls[0]!.form;
    assert.equal(form.get('client_assertion_type'), CLIENT_ASSERTION_TYPE_JWT_BEARER);
    assert.equal(form.get('client_id'), 'svc-a');
    const { payload, protectedHeader } = await jwtVerify(form.get('client_assertion')!, new TextEncoder().encode(secret), {
      issuer: 'svc-a',
      subject: 'svc-a',
      audience: issuer,
      algorithms: ['HS256'],
      currentDate: new Date(now),
    });
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(payload.exp! - payload.iat!, 60);
    assert.equal(payload.iat, Math.floor(now / 1000));
    assert.equal(typeof payload.jti, 'string');
  });

  it('private_key_jwt accepts a JWK, a PEM and a KeyObject, with audience and typ options', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'k-1' };
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

    as.assertionKeys.set('svc-a', publicKey);
    as.assertionKeys.set('svc-rsa', rsa.publicKey);
    await client({ auth: { method: 'private_key_jwt', privateKey: jwk } }).getToken();
    await client({
      clientId: 'svc-rsa',
      auth: { method: 'private_key_jwt', privateKey: pem, kid: 'rsa-1' },
      assertionAudience: 'token_endpoint',
      assertionTyp: 'client-authentication+jwt',
    }).getToken();
    await client({ clientId: 'svc-rsa', auth: { method: 'private_key_jwt', privateKey: rsa.privateKey, alg: 'PS256' } }).getToken();
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const forged = client({ auth: { method: 'private_key_jwt', privateKey: otherKey } }).getToken();
    await assert.rejects(forged, (e: unknown) => e instanceof TokenError && e.error === 'invalid_client');

    const [first, second, third] = as.tokenCalls.map((c) => c.form.get('client_assertion')!);
    const ec = await jwtVerify(first!, publicKey, { typ: 'JWT', audience: issuer });
    assert.equal(ec.protectedHeader.alg, 'ES256');
    assert.equal(ec.protectedHeader.kid, 'k-1');
    const rs = await jwtVerify(second!, rsa.publicKey, { issuer: 'svc-rsa', audience: `${as.origin}/token`, typ: 'client-authentication+jwt' });
    assert.equal(rs.protectedHeader.alg, 'RS256');
    assert.equal(rs.protectedHeader.kid, 'rsa-1');
    assert.equal(rs.payload.exp! - rs.payload.iat!, 60);
    assert.equal(decodeProtectedHeader(third!).alg, 'PS256');
    await jwtVerify(third!, rsa.publicKey, { audience: issuer });
  });

  it('signs a fresh assertion (new jti) for every attempt', async () => {
    const secret = 'another-sufficiently-long-secret-value';
    as.assertionKeys.set('svc-a', new TextEncoder().encode(secret));
    as.script.push({ status: 503 }, { status: 502 });
    const { sleep } = recordingSleep();
    await client({ sleep, auth: { method: 'client_secret_jwt', clientSecret: secret } }).getToken();
    const jtis = as.tokenCalls.map((c) => JSON.parse(Buffer.from(c.form.get('client_assertion')!.split('.')[1]!, 'base64url').toString()).jti);
    assert.equal(new Set(jtis).size, 3);
  });

  it('validates options eagerly', () => {
    assert.throws(() => client({ issuer: 'not a url' }), TypeError);
    assert.throws(() => client({ issuer: `${issuer}?x=1` }), TypeError);
    assert.throws(() => client({ clientId: '' }), TypeError);
    assert.throws(() => client({ auth: { method: 'client_secret_basic', clientSecret: '' } }), TypeError);
    assert.throws(() => client({ auth: { method: 'private_key_jwt', privateKey: 'not a pem' } }), TypeError);
    assert.throws(() => client({ auth: { method: 'private_key_jwt', privateKey: { kty: 'oct', k: 'AAAA' } } }), TypeError);
    assert.throws(() => client({ auth: { method: 'client_secret_jwt', clientSecret: 's', alg: 'RS256' as 'HS256' } }), TypeError);
    assert.throws(() => client({ auth: { method: 'magic' } as never }), TypeError);
    assert.throws(() => client({ maxRetries: -1 }), TypeError);
    assert.throws(() => client({ timeoutMs: 0 }), TypeError);
    assert.throws(() => client({ assertionAudience: 'api' as 'issuer' }), TypeError);
  });

  it('rejects bad scope and resource values before any request', async () => {
    await assert.rejects(client().getToken({ scope: 'a  b' }), TypeError);
    await assert.rejects(client().getToken({ scope: 'a"b' }), TypeError);
    await assert.rejects(client().getToken({ resource: 'relative/path' }), TypeError);
    await assert.rejects(client().getToken({ resource: 'https://api.example.test/#frag' }), TypeError);
    assert.equal(as.tokenCalls.length, 0);
  });
});

describe('client.fetch', () => {
  it('adds the bearer token', async () => {
    const c = client();
    const response = await c.fetch(`${as.origin}/api`, { method: 'POST', body: 'hello' }, { scope: 'read' });
    assert.deepEqual(await response.json(), { token: 'token-1', body: 'hello' });
    assert.equal(as.tokenCalls[0]!.form.get('scope'), 'read');
  });

  it('renews once and retries once on 401 invalid_token', async () => {
    const c = client();
    await c.getToken({ scope: 'read' });
    as.revoked.add('token-1');
    const response = await c.fetch(`${as.origin}/api`, { method: 'POST', body: 'again' }, { scope: 'read' });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { token: 'token-2', body: 'again' });
    assert.deepEqual(as.apiCalls, ['token-1', 'token-2']);
  });

  it('retries only once, and not for other 401s', async () => {
    const c = client();
    as.revoked.add('token-1').add('token-2');
    const response = await c.fetch(`${as.origin}/api`);
    assert.equal(response.status, 401);
    assert.deepEqual(as.apiCalls, ['token-1', 'token-2']);

    as.apiCalls = [];
    const plain = client({
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        return input instanceof Request && input.url.endsWith('/api') ? new Response('nope', { status: 401, headers: { 'www-authenticate': 'Bearer realm="api"' } }) : res;
      },
    });
    assert.equal((await plain.fetch(`${as.origin}/api`)).status, 401);
    assert.equal(as.apiCalls.length, 1);
  });

  it('uses the injected fetch for everything', async () => {
    const seen: string[] = [];
    const c = client({
      fetch: (input, init) => {
        seen.push(input instanceof Request ? new URL(input.url).pathname : new URL(String(input)).pathname);
        return fetch(input, init);
      },
    });
    await c.fetch(`${as.origin}/api`);
    assert.deepEqual(seen, ['/.well-known/oauth-authorization-server', '/token', '/api']);
  });
});
