/**
 * Resource-server verification against a minimal in-test issuer (metadata, JWKS, introspection)
 * on a loopback socket, plus the Express and Fastify adapters end to end.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import express from 'express';
import Fastify from 'fastify';
import { bearerAuth, expressBearer, requireScopes } from './express.ts';
import { fastifyBearer, fastifyBearerAuth, fastifyRequireScopes } from './fastify.ts';
import {
  BearerError,
  createVerifier,
  extractBearerToken,
  VerifierUnavailableError,
  verifyAccessToken,
  type Verifier,
  type VerifierOptions,
} from './index.ts';

const API = 'https://payments.example.test';

// ---------------------------------------------------------------------------------------------
// Minimal issuer: RFC 8414 metadata, JWKS with rotation, RFC 7662 introspection, RFC 9068 minting.
// ---------------------------------------------------------------------------------------------

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

interface MintOptions {
  key?: SigningKey;
  header?: Record<string, unknown>;
  omit?: string[];
}

class FakeIssuer {
  readonly server: Server;
  origin = '';
  /** Keys currently published in the JWKS. */
  published: SigningKey[] = [];
  jwksRequests = 0;
  jwksStatus = 200;
  /** Cache-Control of the JWKS response, if any. */
  jwksCacheControl: string | undefined;
  /** Introspection answers by token; unknown tokens are inactive. */
  introspectionResults = new Map<string, Record<string, unknown>>();
  introspectionCalls: Array<{ authorization: string | undefined; form: URLSearchParams }> = [];
  introspectionStatus = 200;

  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  get issuer(): string {
    return this.origin;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  async newKey(alg = 'ES256'): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
  }

  /** Signs an RFC 9068 access token; `claims` override the defaults, `omit` removes claims. */
  async mint(claims: JWTPayload = {}, options: MintOptions = {}): Promise<string> {
    const key = options.key ?? this.published[0]!;
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = {
      iss: this.issuer,
      sub: 'svc-a',
      client_id: 'svc-a',
      aud: API,
      scope: 'payments read',
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
      ...claims,
    };
    for (const name of options.omit ?? []) delete payload[name];
    return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...options.header }).sign(key.privateKey);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', this.origin).pathname;
    if (path === '/.well-known/oauth-authorization-server') {
      return json(res, 200, {
        issuer: this.issuer,
        token_endpoint: `${this.origin}/token`,
        jwks_uri: `${this.origin}/jwks`,
        introspection_endpoint: `${this.origin}/introspect`,
      });
    }
    if (path === '/jwks') {
      this.jwksRequests++;
      if (this.jwksCacheControl !== undefined) res.setHeader('cache-control', this.jwksCacheControl);
      return json(res, this.jwksStatus, { keys: this.published.map((k) => k.publicJwk) });
    }
    if (path === '/introspect' && req.method === 'POST') {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      this.introspectionCalls.push({ authorization: req.headers.authorization, form });
      if (this.introspectionStatus !== 200) return json(res, this.introspectionStatus, { error: 'server_error' });
      return json(res, 200, this.introspectionResults.get(form.get('token') ?? '') ?? { active: false });
    }
    json(res, 404, {});
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** An unsecured JWT (`alg: none`) with valid-looking claims. */
function unsecuredToken(claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode(claims)}.`;
}

/** Captures logged lines. */
function memoryLogger(): { lines: string[]; warn(message: string): void } {
  const lines: string[] = [];
  return { lines, warn: (message) => void lines.push(message) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

async function expectBearerError(promise: Promise<unknown>, status: number, error: string | undefined): Promise<BearerError> {
  const thrown = await rejection(promise);
  assert.ok(thrown instanceof BearerError, `expected BearerError, got ${String(thrown)}`);
  assert.equal(thrown.status, status);
  assert.equal(thrown.error, error);
  return thrown;
}

// ---------------------------------------------------------------------------------------------

const issuer = new FakeIssuer();
let verifier: Verifier;

function options(overrides: Partial<VerifierOptions> = {}): VerifierOptions {
  return { issuer: issuer.issuer, audience: API, realm: 'payments', ...overrides };
}

before(async () => {
  await issuer.start();
  issuer.published = [await issuer.newKey('ES256')];
  verifier = createVerifier(options());
});
after(() => issuer.stop());
beforeEach(() => {
  issuer.jwksStatus = 200;
  issuer.jwksCacheControl = undefined;
  issuer.introspectionStatus = 200;
  issuer.introspectionCalls = [];
  issuer.introspectionResults.clear();
});

describe('JWT mode', () => {
  it('accepts a good token and returns typed claims', async () => {
    const token = await issuer.mint({ sub: 'svc-a', aud: [API, 'https://other.example.test'] });
    const verified = await verifier.verify(token);
    assert.equal(verified.clientId, 'svc-a');
    assert.equal(verified.subject, 'svc-a');
    assert.deepEqual(verified.scopes, ['payments', 'read']);
    assert.deepEqual(verified.audience, [API, 'https://other.example.test']);
    assert.equal(verified.issuer, issuer.issuer);
    assert.equal(verified.expiresAt, (verified.claims.exp as number) * 1000);
    assert.equal(typeof verified.jti, 'string');
  });

  it('accepts every supported default algorithm', async () => {
    for (const alg of ['RS256', 'PS256', 'EdDSA']) {
      const key = await issuer.newKey(alg);
      issuer.published.push(key);
      const v = createVerifier(options());
      assert.equal((await v.verify(await issuer.mint({}, { key }))).clientId, 'svc-a');
      issuer.published.pop();
    }
  });

  it('accepts typ application/at+jwt, rejects JWT and a missing typ', async () => {
    await verifier.verify(await issuer.mint({}, { header: { typ: 'application/at+jwt' } }));
    await expectBearerError(verifier.verify(await issuer.mint({}, { header: { typ: 'JWT' } })), 401, 'invalid_token');
    await expectBearerError(verifier.verify(await issuer.mint({}, { header: { typ: undefined } })), 401, 'invalid_token');
  });

  it('rejects wrong iss, wrong aud, expired, future nbf and future iat', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: JWTPayload[] = [
      { iss: `${issuer.issuer}/` },
      { aud: 'https://other.example.test' },
      { iat: now - 400, exp: now - 31 },
      { nbf: now + 60 },
      { iat: now + 60 },
    ];
    for (const claims of cases) {
      await expectBearerError(verifier.verify(await issuer.mint(claims)), 401, 'invalid_token');
    }
  });

  it('tolerates clock skew within clockSkewSeconds', async () => {
    const now = Math.floor(Date.now() / 1000);
    await verifier.verify(await issuer.mint({ iat: now - 400, exp: now - 10, nbf: now + 10 }));
    const strict = createVerifier(options({ clockSkewSeconds: 0 }));
    await expectBearerError(strict.verify(await issuer.mint({ iat: now - 400, exp: now - 10 })), 401, 'invalid_token');
  });

  it('uses the injected clock', async () => {
    const token = await issuer.mint();
    const later = createVerifier(options({ now: () => Date.now() + 3_600_000 }));
    await expectBearerError(later.verify(token), 401, 'invalid_token');
  });

  it('requires sub, client_id, jti, iat and exp', async () => {
    for (const claim of ['sub', 'client_id', 'jti', 'iat', 'exp']) {
      await expectBearerError(verifier.verify(await issuer.mint({}, { omit: [claim] })), 401, 'invalid_token');
    }
  });

  it('rejects alg none and HS256 without fetching keys', async () => {
    const fresh = createVerifier(options());
    const before = issuer.jwksRequests;
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer.issuer, sub: 'svc-a', client_id: 'svc-a', aud: API, scope: 'payments', iat: now, exp: now + 60, jti: 'x' };
    await expectBearerError(fresh.verify(unsecuredToken(claims)), 401, 'invalid_token');
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode('x'.repeat(32)));
    await expectBearerError(fresh.verify(hs), 401, 'invalid_token');
    assert.equal(issuer.jwksRequests, before);
  });

  it('rejects garbage, a bad signature and a token signed by an unpublished key', async () => {
    await expectBearerError(verifier.verify('not-a-jwt'), 401, 'invalid_token');
    await expectBearerError(verifier.verify(''), 401, 'invalid_token');
    const token = await issuer.mint();
    const [h, p] = token.split('.');
    const other = await issuer.mint({ scope: 'admin' });
    await expectBearerError(verifier.verify(`${h}.${other.split('.')[1]}.${token.split('.')[2]}`), 401, 'invalid_token');
    await expectBearerError(verifier.verify(`${h}.${p}.AAAA`), 401, 'invalid_token');
  });

  it('unknown kid: one refetch at once, then none during the cooldown, rotation picked up after it', async () => {
    const original = issuer.published;
    try {
      let clock = Date.now();
      const cooling = createVerifier(options({ jwks: { cooldownMs: 60_000 }, now: () => clock }));
      await cooling.verify(await issuer.mint());
      const fetches = issuer.jwksRequests;
      const stranger = await issuer.newKey('ES256');
      await expectBearerError(cooling.verify(await issuer.mint({}, { key: stranger })), 401, 'invalid_token');
      assert.equal(issuer.jwksRequests, fetches + 1, 'the first unknown kid refetches at once');
      const rotated = await issuer.newKey('ES256');
      issuer.published = [...original, rotated];
      await expectBearerError(cooling.verify(await issuer.mint({}, { key: rotated })), 401, 'invalid_token');
      await expectBearerError(cooling.verify(await issuer.mint({}, { key: stranger })), 401, 'invalid_token');
      assert.equal(issuer.jwksRequests, fetches + 1, 'no JWKS fetch during cooldown');
      clock += 60_000;
      assert.equal((await cooling.verify(await issuer.mint({}, { key: rotated }))).clientId, 'svc-a');
      assert.equal(issuer.jwksRequests, fetches + 2, 'refetched once the cooldown is over');
      issuer.published = original;

      const eager = createVerifier(options({ jwks: { cooldownMs: 0 } }));
      await eager.verify(await issuer.mint());
      const next = await issuer.newKey('ES256');
      issuer.published = [next];
      const verified = await eager.verify(await issuer.mint({}, { key: next }));
      assert.equal(verified.clientId, 'svc-a');
      assert.equal(issuer.jwksRequests, fetches + 4, 'one initial fetch and one refetch for the new kid');
    } finally {
      issuer.published = original;
    }
  });

  it('uses a configured jwks uri without discovery', async () => {
    const direct = createVerifier({ issuer: 'https://issuer.invalid', audience: API, jwks: { uri: `${issuer.origin}/jwks` } });
    const verified = await direct.verify(await issuer.mint({ iss: 'https://issuer.invalid' }));
    assert.equal(verified.issuer, 'https://issuer.invalid');
  });

  it('an unreachable JWKS is VerifierUnavailableError, not invalid_token, retried after Retry-After', async () => {
    issuer.jwksStatus = 500;
    let clock = Date.now();
    const fresh = createVerifier(options({ now: () => clock, jwks: { cooldownMs: 4_000 } }));
    const error = await rejection(fresh.verify(await issuer.mint()));
    assert.ok(error instanceof VerifierUnavailableError, String(error));
    assert.equal(error.retryAfterSeconds, 4);
    issuer.jwksStatus = 200;
    const requests = issuer.jwksRequests;
    const again = await rejection(fresh.verify(await issuer.mint()));
    assert.ok(again instanceof VerifierUnavailableError, String(again));
    assert.equal(issuer.jwksRequests, requests, 'no fetch before Retry-After');
    clock += 4_000;
    assert.equal((await fresh.verify(await issuer.mint())).clientId, 'svc-a');
  });

  it('a discovery failure is VerifierUnavailableError and is retried later', async () => {
    const wrong = createVerifier(options({ issuer: `${issuer.origin}/tenant` }));
    assert.ok((await rejection(wrong.verify(await issuer.mint()))) instanceof VerifierUnavailableError);
  });

  it('missing scope → 403 insufficient_scope naming the needed scopes', async () => {
    const token = await issuer.mint({ scope: 'read' });
    const error = await expectBearerError(verifier.verify(token, { scopes: ['payments'] }), 403, 'insufficient_scope');
    assert.equal(
      error.wwwAuthenticate,
      'Bearer realm="payments", error="insufficient_scope", error_description="The access token lacks a required scope", scope="payments"',
    );
    const both = createVerifier(options({ scopes: ['read'] }));
    await both.verify(token);
    const e2 = await expectBearerError(both.verify(token, { scopes: ['payments'] }), 403, 'insufficient_scope');
    assert.deepEqual(e2.scopes, ['read', 'payments']);
  });

  it('logs the reason, never the token, and sends a generic description', async () => {
    const logger = memoryLogger();
    const v = createVerifier(options({ logger }));
    const token = await issuer.mint({ aud: 'https://other.example.test' });
    const error = await expectBearerError(v.verify(token), 401, 'invalid_token');
    assert.equal(error.message, 'The access token is invalid');
    assert.equal(error.wwwAuthenticate, 'Bearer realm="payments", error="invalid_token", error_description="The access token is invalid"');
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0]!, /aud/);
    assert.ok(!logger.lines[0]!.includes(token));
    assert.ok(!logger.lines[0]!.includes(token.split('.')[1]!));
  });

  it('verifyAccessToken reuses one verifier per options object', async () => {
    const opts = options();
    const start = issuer.jwksRequests;
    await verifyAccessToken(await issuer.mint(), opts);
    await verifyAccessToken(await issuer.mint(), opts);
    assert.equal(issuer.jwksRequests, start + 1);
    await expectBearerError(verifyAccessToken(await issuer.mint({ scope: 'read' }), opts, { scopes: ['payments'] }), 403, 'insufficient_scope');
  });
});

describe('options', () => {
  it('are validated eagerly', () => {
    const bad: Array<Partial<VerifierOptions>> = [
      { issuer: 'nope' },
      { issuer: `${API}?q=1` },
      { audience: '' },
      { algorithms: ['none'] },
      { algorithms: ['HS256'] },
      { algorithms: [] },
      { scopes: ['pay ments'] },
      { clockSkewSeconds: -1 },
      { jwks: { uri: 'relative' } },
      { jwks: { timeoutMs: 1.5 } },
      { jwks: {}, introspection: { clientId: 'rs', clientSecret: 's' } },
      { introspection: { clientId: '', clientSecret: 's' } },
      { logger: {} as never },
      { realm: 'r\n' },
    ];
    for (const override of bad) assert.throws(() => createVerifier(options(override)), TypeError, JSON.stringify(override));
    assert.throws(() => createVerifier(undefined as never), TypeError);
    assert.doesNotThrow(() => createVerifier(options({ algorithms: ['ES384', 'RS512'] })));
  });
});

describe('bearer extraction and authenticate', () => {
  it('extracts exactly one b64token from the Authorization header', () => {
    assert.deepEqual(extractBearerToken('Bearer abc.DEF-_~+/=='), { kind: 'token', token: 'abc.DEF-_~+/==' });
    assert.deepEqual(extractBearerToken('bearer abc'), { kind: 'token', token: 'abc' });
    assert.deepEqual(extractBearerToken('BEARER   abc'), { kind: 'token', token: 'abc' });
    assert.equal(extractBearerToken(undefined).kind, 'missing');
    assert.equal(extractBearerToken('Basic dXNlcjpwYXNz').kind, 'missing');
    assert.equal(extractBearerToken('Bearer').kind, 'malformed');
    assert.equal(extractBearerToken('Bearer a b').kind, 'malformed');
    assert.equal(extractBearerToken('Bearer a,b').kind, 'malformed');
    assert.equal(extractBearerToken('Bearer a=b').kind, 'malformed');
    assert.equal(extractBearerToken(['Bearer a', 'Bearer b']).kind, 'malformed');
  });

  it('missing token → 401 with only the realm', async () => {
    const error = await expectBearerError(verifier.authenticate({ authorization: undefined }), 401, undefined);
    assert.equal(error.wwwAuthenticate, 'Bearer realm="payments"');
    assert.equal(error.toJSON(), undefined);
  });

  it('malformed header or a token sent two ways → 400 invalid_request', async () => {
    const token = await issuer.mint();
    await expectBearerError(verifier.authenticate({ authorization: 'Bearer a b' }), 400, 'invalid_request');
    const twice = await expectBearerError(verifier.authenticate({ authorization: `Bearer ${token}`, tokenElsewhere: true }), 400, 'invalid_request');
    assert.match(twice.wwwAuthenticate, /^Bearer realm="payments", error="invalid_request"/);
    const ok = await verifier.authenticate({ authorization: `bearer ${token}` });
    assert.equal(ok.clientId, 'svc-a');
  });
});

describe('introspection mode', () => {
  const rs = { clientId: 'rs:payments', clientSecret: 's3cr%t+:' };

  function activeResult(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return { active: true, iss: issuer.issuer, aud: API, client_id: 'svc-a', sub: 'svc-a', scope: 'payments', exp: now + 300, iat: now, jti: 'j1', ...overrides };
  }

  it('accepts an active token, authenticating with client_secret_basic', async () => {
    issuer.introspectionResults.set('opaque-1', activeResult());
    const v = createVerifier(options({ introspection: rs }));
    const verified = await v.verify('opaque-1', { scopes: ['payments'] });
    assert.equal(verified.clientId, 'svc-a');
    assert.deepEqual(verified.scopes, ['payments']);
    const call = issuer.introspectionCalls[0]!;
    assert.equal(call.form.get('token'), 'opaque-1');
    const raw = Buffer.from(call.authorization!.replace(/^Basic /, ''), 'base64').toString();
    assert.equal(raw, 'rs%3Apayments:s3cr%25t%2B%3A');
  });

  it('caches results and shares concurrent lookups', async () => {
    issuer.introspectionResults.set('opaque-2', activeResult());
    const v = createVerifier(options({ introspection: rs }));
    await Promise.all(Array.from({ length: 5 }, () => v.verify('opaque-2')));
    await v.verify('opaque-2');
    assert.equal(issuer.introspectionCalls.length, 1);
  });

  it('never serves a cached result past exp', async () => {
    let now = Date.now();
    const exp = Math.floor(now / 1000) + 20;
    issuer.introspectionResults.set('opaque-3', activeResult({ exp }));
    const v = createVerifier(options({ introspection: { ...rs, cacheMaxSeconds: 60 }, now: () => now, clockSkewSeconds: 0 }));
    await v.verify('opaque-3');
    now += 15_000;
    await v.verify('opaque-3');
    assert.equal(issuer.introspectionCalls.length, 1, 'served from cache before exp');
    now = exp * 1000 + 1_000;
    issuer.introspectionResults.set('opaque-3', { active: false });
    await expectBearerError(v.verify('opaque-3'), 401, 'invalid_token');
    assert.equal(issuer.introspectionCalls.length, 2, 'asked again once exp passed');
  });

  it('bounds the cache by cacheMaxSeconds', async () => {
    let now = Date.now();
    issuer.introspectionResults.set('opaque-4', activeResult());
    const v = createVerifier(options({ introspection: { ...rs, cacheMaxSeconds: 5 }, now: () => now }));
    await v.verify('opaque-4');
    now += 6_000;
    await v.verify('opaque-4');
    assert.equal(issuer.introspectionCalls.length, 2);
  });

  it('caches inactive results briefly', async () => {
    let now = Date.now();
    const v = createVerifier(options({ introspection: rs, now: () => now }));
    await expectBearerError(v.verify('unknown'), 401, 'invalid_token');
    await expectBearerError(v.verify('unknown'), 401, 'invalid_token');
    assert.equal(issuer.introspectionCalls.length, 1);
    now += 11_000;
    await expectBearerError(v.verify('unknown'), 401, 'invalid_token');
    assert.equal(issuer.introspectionCalls.length, 2);
  });

  it('applies the iss, aud, exp and scope checks to the response', async () => {
    const v = createVerifier(options({ introspection: rs }));
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, Record<string, unknown>> = {
      'bad-iss': activeResult({ iss: 'https://evil.example.test' }),
      'bad-aud': activeResult({ aud: 'https://other.example.test' }),
      'no-aud': activeResult({ aud: undefined }),
      expired: activeResult({ exp: now - 60 }),
      'no-client': activeResult({ client_id: undefined }),
    };
    for (const [token, result] of Object.entries(cases)) {
      issuer.introspectionResults.set(token, result);
      await expectBearerError(v.verify(token), 401, 'invalid_token');
    }
    issuer.introspectionResults.set('read-only', activeResult({ scope: 'read' }));
    await expectBearerError(v.verify('read-only', { scopes: ['payments'] }), 403, 'insufficient_scope');
  });

  it('an endpoint failure is VerifierUnavailableError and is not cached', async () => {
    issuer.introspectionResults.set('opaque-5', activeResult());
    const v = createVerifier(options({ introspection: rs }));
    issuer.introspectionStatus = 500;
    assert.ok((await rejection(v.verify('opaque-5'))) instanceof VerifierUnavailableError);
    issuer.introspectionStatus = 200;
    assert.equal((await v.verify('opaque-5')).clientId, 'svc-a');
  });
});

// ---------------------------------------------------------------------------------------------
// Framework adapters over real sockets.
// ---------------------------------------------------------------------------------------------

interface Probe {
  status: number;
  wwwAuthenticate: string | null;
  body: unknown;
}

async function probe(url: string, authorization?: string): Promise<Probe> {
  const response = await fetch(url, { headers: authorization ? { authorization } : {} });
  const text = await response.text();
  return { status: response.status, wwwAuthenticate: response.headers.get('www-authenticate'), body: text ? JSON.parse(text) : undefined };
}

/** The same scenario for both frameworks: /payments needs scope payments, /me any valid token. */
async function exerciseAdapter(base: string): Promise<void> {
  const good = await issuer.mint({ scope: 'payments' });
  const readOnly = await issuer.mint({ scope: 'read' });

  const ok = await probe(`${base}/payments`, `Bearer ${good}`);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { clientId: 'svc-a', scopes: ['payments'] });

  const missing = await probe(`${base}/payments`);
  assert.equal(missing.status, 401);
  assert.equal(missing.wwwAuthenticate, 'Bearer realm="payments"');

  const invalid = await probe(`${base}/payments`, `Bearer ${good}x`);
  assert.equal(invalid.status, 401);
  assert.match(invalid.wwwAuthenticate!, /error="invalid_token"/);
  assert.deepEqual(invalid.body, { error: 'invalid_token', error_description: 'The access token is invalid' });

  const forbidden = await probe(`${base}/payments`, `Bearer ${readOnly}`);
  assert.equal(forbidden.status, 403);
  assert.match(forbidden.wwwAuthenticate!, /error="insufficient_scope".*scope="payments"/);

  assert.equal((await probe(`${base}/me`, `Bearer ${readOnly}`)).status, 200);
  assert.equal((await probe(`${base}/me`, 'Bearer two tokens')).status, 400);
  const both = await probe(`${base}/me?access_token=${readOnly}`, `Bearer ${readOnly}`);
  assert.equal(both.status, 400);
  assert.match(both.wwwAuthenticate!, /error="invalid_request"/);
}

describe('adapters', () => {
  it('express: expressBearer + requireScopes end to end', async () => {
    const app = express();
    const bearer = expressBearer({ verifier });
    app.get('/payments', bearer, requireScopes(['payments']), (req, res) => {
      const auth = bearerAuth(req);
      res.json({ clientId: auth.clientId, scopes: auth.scopes });
    });
    app.get('/me', bearer, (req, res) => void res.json({ clientId: bearerAuth(req).clientId }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      await exerciseAdapter(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('express: route scopes as an option, verifier built from options, 503 when keys are unavailable', async () => {
    const app = express();
    app.get('/payments', expressBearer({ ...options(), jwks: { uri: `${issuer.origin}/jwks` }, scopes: ['payments'] }), (req, res) => {
      res.json({ clientId: bearerAuth(req).clientId });
    });
    app.get('/down', expressBearer({ ...options(), jwks: { uri: `${issuer.origin}/missing` } }), (_req, res) => void res.json({}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await probe(`${base}/payments`, `Bearer ${await issuer.mint({ scope: 'payments' })}`)).status, 200);
      assert.equal((await probe(`${base}/payments`, `Bearer ${await issuer.mint({ scope: 'read' })}`)).status, 403);
      const down = await probe(`${base}/down`, `Bearer ${await issuer.mint()}`);
      assert.equal(down.status, 503);
      assert.deepEqual(down.body, { error: 'temporarily_unavailable', error_description: 'The access token cannot be verified right now' });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('fastify: fastifyBearer + fastifyRequireScopes end to end', async () => {
    const app = Fastify();
    const bearer = fastifyBearer({ verifier });
    app.get('/payments', { preHandler: [bearer, fastifyRequireScopes(['payments'])] }, async (request) => {
      const auth = fastifyBearerAuth(request);
      return { clientId: auth.clientId, scopes: auth.scopes };
    });
    app.register(async (scoped) => {
      scoped.addHook('preHandler', bearer);
      scoped.get('/me', async (request) => ({ clientId: fastifyBearerAuth(request).clientId }));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await exerciseAdapter(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    } finally {
      await app.close();
    }
  });
});
