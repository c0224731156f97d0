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
import Koa from 'koa';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import 'reflect-metadata';
import { Controller, Get, Module, Req, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { metrics, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { koaBearer, koaBearerAuth, koaRequireScopes } from './koa.ts';
import { honoBearer, honoRequireScopes, type BearerVariables } from './hono.ts';
import { BearerGuard, nestBearerAuth } from './nest.ts';
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
  metadataRequests = 0;
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
      this.metadataRequests++;
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
  retryAfter: string | null;
  body: unknown;
}

async function probe(url: string, authorization?: string): Promise<Probe> {
  const response = await fetch(url, { headers: authorization ? { authorization } : {} });
  const text = await response.text();
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    retryAfter: response.headers.get('retry-after'),
    body: text ? JSON.parse(text) : undefined,
  };
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
      assert.equal(down.retryAfter, '10', 'Retry-After: the JWKS cooldown');
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

// ---------------------------------------------------------------------------------------------
// Issue 12: key hygiene, flexibility, refusals reported, more adapters, telemetry.
// ---------------------------------------------------------------------------------------------

/** A clock tests move by hand. */
function manualClock(): { now: () => number; advance(ms: number): void } {
  let t = Date.now();
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('key hygiene', () => {
  it('honours the JWKS Cache-Control max-age', async () => {
    issuer.jwksCacheControl = 'public, max-age=60';
    const clock = manualClock();
    const v = createVerifier(options({ now: clock.now }));
    await v.verify(await issuer.mint());
    const start = issuer.jwksRequests;
    clock.advance(59_000);
    await v.verify(await issuer.mint());
    assert.equal(issuer.jwksRequests, start, 'fresh for max-age');
    clock.advance(2_000);
    await v.verify(await issuer.mint());
    assert.equal(issuer.jwksRequests, start + 1, 'refetched once max-age passed');
  });

  it('bounds max-age by minCacheMs and maxCacheMs; no-store counts as the minimum', async () => {
    const clock = manualClock();
    issuer.jwksCacheControl = 'max-age=1';
    const short = createVerifier(options({ now: clock.now, jwks: { minCacheMs: 20_000, maxCacheMs: 100_000 } }));
    await short.verify(await issuer.mint());
    let start = issuer.jwksRequests;
    clock.advance(10_000);
    await short.verify(await issuer.mint());
    assert.equal(issuer.jwksRequests, start, 'max-age=1 raised to minCacheMs');
    clock.advance(11_000);
    await short.verify(await issuer.mint());
    assert.equal(issuer.jwksRequests, start + 1);

    issuer.jwksCacheControl = 'public, max-age=86400';
    const long = createVerifier(options({ now: clock.now, jwks: { minCacheMs: 20_000, maxCacheMs: 100_000 } }));
    await long.verify(await issuer.mint());
    start = issuer.jwksRequests;
    clock.advance(101_000);
    await long.verify(await issuer.mint());
    assert.equal(issuer.jwksRequests, start + 1, 'a day of max-age capped to maxCacheMs');

    issuer.jwksCacheControl = 'no-store';
    const none = createVerifier(options({ now: clock.now, jwks: { minCacheMs: 20_000 } }));
    await none.verify(await issuer.mint());
    start = issuer.jwksRequests;
    clock.advance(21_000);
    await none.verify(await issuer.mint());
    assert.equal(issuer.jwksRequests, start + 1);
  });

  it('reload() refetches the keys at once: a withdrawn key stops verifying', async () => {
    const original = issuer.published;
    try {
      const v = createVerifier(options());
      const token = await issuer.mint();
      await v.verify(token);
      const replacement = await issuer.newKey('ES256');
      issuer.published = [replacement];
      await v.verify(token); // still cached
      const start = issuer.jwksRequests;
      await v.reload();
      assert.equal(issuer.jwksRequests, start + 1);
      await expectBearerError(v.verify(token), 401, 'invalid_token');
      assert.equal((await v.verify(await issuer.mint({}, { key: replacement }))).clientId, 'svc-a');
    } finally {
      issuer.published = original;
    }
  });

  it('concurrent requests with a new kid share one refetch and all succeed', async () => {
    const original = issuer.published;
    try {
      const v = createVerifier(options({ jwks: { cooldownMs: 60_000 } }));
      await v.verify(await issuer.mint());
      const rotated = await issuer.newKey('ES256');
      issuer.published = [...original, rotated];
      const start = issuer.jwksRequests;
      const tokens = await Promise.all(Array.from({ length: 5 }, () => issuer.mint({}, { key: rotated })));
      const results = await Promise.all(tokens.map((t) => v.verify(t)));
      assert.deepEqual(results.map((r) => r.clientId), Array(5).fill('svc-a'));
      assert.equal(issuer.jwksRequests, start + 1);
    } finally {
      issuer.published = original;
    }
  });

  it('introspection mode: reload() forgets cached answers', async () => {
    const now = Math.floor(Date.now() / 1000);
    issuer.introspectionResults.set('opaque-reload', { active: true, iss: issuer.issuer, aud: API, client_id: 'svc-a', scope: 'payments', exp: now + 300 });
    const v = createVerifier(options({ introspection: { clientId: 'rs', clientSecret: 'secret' } }));
    await v.verify('opaque-reload');
    await v.verify('opaque-reload');
    assert.equal(issuer.introspectionCalls.length, 1);
    issuer.introspectionResults.set('opaque-reload', { active: false });
    await v.reload();
    await expectBearerError(v.verify('opaque-reload'), 401, 'invalid_token');
    assert.equal(issuer.introspectionCalls.length, 2);
  });

  it('reload() rejects with VerifierUnavailableError when the JWKS cannot be fetched', async () => {
    const v = createVerifier(options());
    await v.verify(await issuer.mint());
    issuer.jwksStatus = 503;
    assert.ok((await rejection(v.reload())) instanceof VerifierUnavailableError);
  });

  it('keeps the keys it has when a scheduled refetch fails', async () => {
    issuer.jwksCacheControl = 'max-age=60';
    const clock = manualClock();
    const v = createVerifier(options({ now: clock.now }));
    await v.verify(await issuer.mint());
    issuer.jwksStatus = 500;
    clock.advance(61_000);
    assert.equal((await v.verify(await issuer.mint())).clientId, 'svc-a');
  });

  it('verified-token cache: hits until min(ttl, exp), cleared by reload() and by a withdrawn key', async () => {
    const clock = manualClock();
    const events: boolean[] = [];
    const v = createVerifier(options({ now: clock.now, clockSkewSeconds: 0, tokenCache: { ttlMs: 60_000 }, onVerifySuccess: (e) => void events.push(e.cached) }));
    const exp = Math.floor(clock.now() / 1000) + 20;
    const token = await issuer.mint({ exp });
    await v.verify(token);
    await v.verify(token);
    assert.deepEqual(events, [false, true]);
    // Scopes are checked on every call, cached or not.
    await expectBearerError(v.verify(token, { scopes: ['admin'] }), 403, 'insufficient_scope');
    await v.reload();
    await v.verify(token);
    assert.deepEqual(events, [false, true, false], 'reload() forgot the token');
    clock.advance(21_000);
    await expectBearerError(v.verify(token), 401, 'invalid_token');

    const original = issuer.published;
    try {
      const second = await issuer.mint();
      await v.verify(second);
      issuer.published = [await issuer.newKey('ES256')];
      await v.reload();
      await expectBearerError(v.verify(second), 401, 'invalid_token');
    } finally {
      issuer.published = original;
    }
  });

  it('verifyAccessToken with inline options: 50 calls → 1 discovery + 1 JWKS fetch', async () => {
    const metadata = issuer.metadataRequests;
    const jwks = issuer.jwksRequests;
    const token = await issuer.mint();
    for (let i = 0; i < 50; i++) {
      const verified = await verifyAccessToken(token, { issuer: issuer.issuer, audience: API, realm: 'inline-options', jwks: { cooldownMs: 10_000 } });
      assert.equal(verified.clientId, 'svc-a');
    }
    assert.equal(issuer.metadataRequests, metadata + 1);
    assert.equal(issuer.jwksRequests, jwks + 1);
    // Other values → another verifier.
    await verifyAccessToken(token, { issuer: issuer.issuer, audience: API, realm: 'inline-options-2' });
    assert.equal(issuer.jwksRequests, jwks + 2);
  });
});

describe('flexible verification', () => {
  const other = new FakeIssuer();
  before(async () => {
    await other.start();
    other.published = [await other.newKey('ES256')];
  });
  after(() => other.stop());

  it('several issuers, each with its own discovery and JWKS', async () => {
    const v = createVerifier({ issuers: [issuer.issuer, { issuer: other.issuer }], audience: API });
    const otherToken = await new SignJWT({ iss: other.issuer, sub: 'svc-b', client_id: 'svc-b', aud: API, jti: 'j', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'ES256', kid: other.published[0]!.kid, typ: 'at+jwt' })
      .sign(other.published[0]!.privateKey);
    assert.equal((await v.verify(await issuer.mint())).clientId, 'svc-a');
    assert.equal((await v.verify(otherToken)).clientId, 'svc-b');
    assert.equal(other.jwksRequests, 1);
    await expectBearerError(v.verify(await issuer.mint({ iss: 'https://stranger.example' })), 401, 'invalid_token');
    // A token naming one issuer but signed with the other's key.
    await expectBearerError(v.verify(await issuer.mint({ iss: other.issuer })), 401, 'invalid_token');
  });

  it('several audiences: any one of them matches', async () => {
    const v = createVerifier(options({ audience: ['https://a.example', API] }));
    assert.equal((await v.verify(await issuer.mint({ aud: 'https://a.example' }))).clientId, 'svc-a');
    assert.equal((await v.verify(await issuer.mint({ aud: API }))).clientId, 'svc-a');
    await expectBearerError(v.verify(await issuer.mint({ aud: 'https://c.example' })), 401, 'invalid_token');
  });

  it('RFC 9068 checks on by default, relaxable per issuer', async () => {
    const plain = await issuer.mint({ azp: 'svc-z' }, { header: { typ: 'JWT' }, omit: ['client_id', 'jti', 'iat', 'sub'] });
    await expectBearerError(createVerifier(options()).verify(plain), 401, 'invalid_token');
    const relaxed = createVerifier({ issuers: [{ issuer: issuer.issuer, rfc9068: false }], audience: API });
    const verified = await relaxed.verify(plain);
    assert.equal(verified.clientId, 'svc-z');
    assert.equal(verified.subject, 'svc-z');
    assert.equal(verified.jti, undefined);
    // Still signature, iss, aud and exp.
    await expectBearerError(relaxed.verify(await issuer.mint({ exp: Math.floor(Date.now() / 1000) - 600 })), 401, 'invalid_token');
    await expectBearerError(relaxed.verify(await issuer.mint({ aud: 'https://c.example' })), 401, 'invalid_token');
  });

  it('custom claim checks refuse with their reason', async () => {
    const logger = memoryLogger();
    const v = createVerifier(options({
      logger,
      validateClaims: (token) => (token.claims.tenant === 'acme' ? true : `tenant ${String(token.claims.tenant)} not served`),
    }));
    assert.equal((await v.verify(await issuer.mint({ tenant: 'acme' }))).clientId, 'svc-a');
    await expectBearerError(v.verify(await issuer.mint({ tenant: 'umbrella' })), 401, 'invalid_token');
    assert.match(logger.lines.at(-1)!, /tenant umbrella not served/);
    const throwing = createVerifier(options({ validateClaims: () => { throw new Error('boom'); } }));
    await expectBearerError(throwing.verify(await issuer.mint()), 401, 'invalid_token');
    const falsy = createVerifier(options({ validateClaims: async () => false }));
    await expectBearerError(falsy.verify(await issuer.mint()), 401, 'invalid_token');
  });

  it('any-of and all-of scopes', async () => {
    const token = await issuer.mint({ scope: 'read' });
    assert.equal((await verifier.verify(token, { anyScopes: ['write', 'read'] })).clientId, 'svc-a');
    const error = await expectBearerError(verifier.verify(token, { anyScopes: ['write', 'admin'] }), 403, 'insufficient_scope');
    assert.match(error.wwwAuthenticate, /scope="write admin"/);
    await expectBearerError(verifier.verify(token, { scopes: ['read', 'write'] }), 403, 'insufficient_scope');
  });

  it('optional authentication: no token passes, a bad token does not', async () => {
    assert.equal(await verifier.authenticate({ authorization: undefined }, { optional: true }), undefined);
    await expectBearerError(verifier.authenticate({ authorization: 'Bearer nope' }, { optional: true }), 401, 'invalid_token');
    assert.equal((await verifier.authenticate({ authorization: `Bearer ${await issuer.mint()}` }, { optional: true }))!.clientId, 'svc-a');
  });

  it('every refusal reaches the logger and onVerifyFailure with its reason (401, 400, 403, 503)', async () => {
    const logger = memoryLogger();
    const events: Array<{ status: number; error: string | undefined; reason: string; clientId?: string }> = [];
    const v = createVerifier(options({ logger, onVerifyFailure: (e) => void events.push(e) }));
    await rejection(v.authenticate({ authorization: undefined }));
    await rejection(v.authenticate({ authorization: 'Bearer a b' }));
    await rejection(v.verify(await issuer.mint({ scope: 'read' }), { scopes: ['payments'] }));
    assert.throws(() => v.authorize({ clientId: 'svc-a', subject: 'svc-a', scopes: [], audience: [API], issuer: issuer.issuer, expiresAt: 0, jti: 'x', claims: {} }, { scopes: ['admin'] }));
    const down = createVerifier(options({ logger, onVerifyFailure: (e) => void events.push(e), jwks: { uri: `${issuer.origin}/missing` } }));
    await rejection(down.verify(await issuer.mint()));
    assert.deepEqual(events.map((e) => [e.status, e.error]), [[401, undefined], [400, 'invalid_request'], [403, 'insufficient_scope'], [403, 'insufficient_scope'], [503, undefined]]);
    assert.equal(events[2]!.clientId, 'svc-a');
    assert.match(events[0]!.reason, /no bearer token/);
    assert.equal(logger.lines.length, 5);
    assert.match(logger.lines[3]!, /\(403\).*missing scope admin/);
  });

  it('a throwing hook does not change the answer', async () => {
    const v = createVerifier(options({ onVerifyFailure: () => { throw new Error('hook'); }, onVerifySuccess: () => { throw new Error('hook'); } }));
    assert.equal((await v.verify(await issuer.mint())).clientId, 'svc-a');
    await expectBearerError(v.verify('x.y.z'), 401, 'invalid_token');
  });

  it('rejects bad new options eagerly', () => {
    assert.throws(() => createVerifier({ audience: API }), /exactly one of issuer and issuers/);
    assert.throws(() => createVerifier({ issuer: issuer.issuer, issuers: [issuer.issuer], audience: API }), /exactly one/);
    assert.throws(() => createVerifier({ issuers: [], audience: API }), /non-empty/);
    assert.throws(() => createVerifier({ issuers: [issuer.issuer, issuer.issuer], audience: API }), /distinct/);
    assert.throws(() => createVerifier({ issuers: [issuer.issuer, other.issuer], audience: API, introspection: { clientId: 'a', clientSecret: 'b' } }), /single issuer/);
    assert.throws(() => createVerifier(options({ audience: [] })), /audience/);
    assert.throws(() => createVerifier(options({ jwks: { minCacheMs: 10, maxCacheMs: 5 } })), /minCacheMs/);
    assert.throws(() => createVerifier(options({ tokenCache: { ttlMs: 0 } })), /tokenCache.ttlMs/);
    assert.throws(() => createVerifier(options({ validateClaims: 'yes' as never })), /validateClaims/);
    assert.throws(() => createVerifier(options({ rfc9068: 'no' as never })), /rfc9068/);
  });
});

describe('more adapters (real frameworks over sockets)', () => {
  it('koa: koaBearer + koaRequireScopes end to end', async () => {
    const app = new Koa();
    const bearer = koaBearer({ verifier });
    type Mw = Koa.Middleware;
    const chain = (...mws: Mw[]): Mw => (ctx, next) => mws.reduceRight<() => Promise<void>>((after, mw) => async () => void (await mw(ctx, after)), next)();
    app.use(async (ctx, next) => {
      if (ctx.path === '/payments') {
        return chain(bearer, koaRequireScopes(['payments']), async (c) => {
          const auth = koaBearerAuth(c);
          c.body = { clientId: auth.clientId, scopes: auth.scopes };
        })(ctx, next);
      }
      if (ctx.path === '/me') return chain(bearer, async (c) => void (c.body = { clientId: koaBearerAuth(c).clientId }))(ctx, next);
      return next();
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      await exerciseAdapter(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('hono: honoBearer + honoRequireScopes end to end, and any-of scopes', async () => {
    const app = new Hono<{ Variables: BearerVariables }>();
    const bearer = honoBearer({ verifier });
    app.get('/payments', bearer, honoRequireScopes(['payments']), (c) => c.json({ clientId: c.get('auth').clientId, scopes: c.get('auth').scopes }));
    app.get('/me', bearer, (c) => c.json({ clientId: c.get('auth').clientId }));
    app.get('/either', bearer, honoRequireScopes(['payments', 'read'], { any: true }), (c) => c.json({ ok: true }));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await exerciseAdapter(base);
      assert.equal((await probe(`${base}/either`, `Bearer ${await issuer.mint({ scope: 'read' })}`)).status, 200);
      assert.equal((await probe(`${base}/either`, `Bearer ${await issuer.mint({ scope: 'other' })}`)).status, 403);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('nestjs: BearerGuard on the Express platform end to end', async () => {
    class PaymentsController {
      payments(req: unknown) {
        const auth = nestBearerAuth(req);
        return { clientId: auth.clientId, scopes: auth.scopes };
      }
      me(req: unknown) {
        return { clientId: nestBearerAuth(req).clientId };
      }
    }
    // Decorators applied by hand (the test runner's TypeScript has no legacy decorators).
    const proto = PaymentsController.prototype;
    for (const [method, path, guard] of [
      ['payments', 'payments', new BearerGuard({ verifier, scopes: ['payments'] })],
      ['me', 'me', new BearerGuard({ verifier })],
    ] as const) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, method)!;
      Req()(proto, method, 0);
      UseGuards(guard)(proto, method, descriptor);
      Get(path)(proto, method, descriptor);
    }
    Controller()(PaymentsController);
    class AppModule {}
    Module({ controllers: [PaymentsController] })(AppModule);
    const app: INestApplication = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      await exerciseAdapter(await app.getUrl().then((url) => url.replace('[::1]', '127.0.0.1')));
    } finally {
      await app.close();
    }
  });

  it('optional adapters let a request without a token through, and requireScopes refusals reach the logger', async () => {
    const logger = memoryLogger();
    const shared = createVerifier(options({ logger }));
    const app = express();
    app.get('/maybe', expressBearer({ verifier: shared, optional: true }), (req, res) => {
      res.json({ client: (req as { auth?: { clientId: string } }).auth?.clientId ?? null });
    });
    app.get('/admin', expressBearer({ verifier: shared }), requireScopes(['admin']), (_req, res) => void res.json({}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.deepEqual((await probe(`${base}/maybe`)).body, { client: null });
      assert.deepEqual((await probe(`${base}/maybe`, `Bearer ${await issuer.mint()}`)).body, { client: 'svc-a' });
      assert.equal((await probe(`${base}/maybe`, 'Bearer bad')).status, 401);
      assert.equal((await probe(`${base}/admin`, `Bearer ${await issuer.mint()}`)).status, 403);
      assert.match(logger.lines.at(-1)!, /\(403\): missing scope admin \(client svc-a\)/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('OpenTelemetry', () => {
  it('records a span and the metrics of each verification when @opentelemetry/api is present', async () => {
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    assert.ok(trace.setGlobalTracerProvider(tracerProvider));
    assert.ok(metrics.setGlobalMeterProvider(meterProvider));
    try {
      const v = createVerifier(options());
      await v.verify(await issuer.mint());
      await rejection(v.verify('a.b.c'));
      const finished = spans.getFinishedSpans();
      assert.deepEqual(finished.map((s) => [s.name, s.attributes['tessera.outcome']]), [
        ['tessera.verify_access_token', 'success'],
        ['tessera.verify_access_token', 'invalid_token'],
      ]);
      await reader.forceFlush();
      const exported = metricExporter.getMetrics().flatMap((m) => m.scopeMetrics).flatMap((s) => s.metrics);
      const counter = exported.find((m) => m.descriptor.name === 'tessera.rs.verifications');
      assert.ok(counter, 'counter exported');
      assert.deepEqual(counter.dataPoints.map((p) => [p.attributes['tessera.outcome'], p.value]).sort(), [['invalid_token', 1], ['success', 1]]);
      assert.ok(exported.some((m) => m.descriptor.name === 'tessera.rs.verify.duration'));
      const silent = createVerifier(options({ telemetry: false }));
      await silent.verify(await issuer.mint());
      assert.equal(spans.getFinishedSpans().length, 2, 'telemetry: false records nothing');
    } finally {
      trace.disable();
      metrics.disable();
      await meterProvider.shutdown();
      await tracerProvider.shutdown();
    }
  });
});
