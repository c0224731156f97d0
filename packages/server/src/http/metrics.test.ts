/**
 * Prometheus metrics on the management listener: tokens issued by realm and method, refused
 * requests by error and reason, request durations per endpoint, replay-store writes, jwks_uri
 * fetches, signing-key age, process metrics; /healthz and /readyz; per-client labels only when on.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { resolveConfig } from '../core/config/index.ts';
import { createKek } from '../core/crypto/kek.ts';
import { AuthorizationServer } from '../core/server.ts';
import { createMemoryStorage } from '../storage/memory/index.ts';
import { buildApp } from './app.ts';
import { buildManagementApp } from './management.ts';
import { DurationHistogram, Metrics } from './metrics.ts';
import { assertionClaims, basic, form, generateTestKey, JWT_BEARER, signAssertion } from '../../../../test/fixtures/assertions.ts';

const logger = pino({ level: 'silent' });

async function setup(perClient: boolean) {
  const metrics = new Metrics({ perClient });
  const config = resolveConfig({ issuer: 'http://127.0.0.1:8080', demo_client: false, throttle: { max_failures: 0 }, management: { listen: { port: 0 } }, jwks_fetch: { allow: ['127.0.0.1'] } });
  const storage = metrics.instrumentStorage(createMemoryStorage());
  const server = await AuthorizationServer.create({ config, storage, kek: createKek(randomBytes(32)), observer: metrics.observer });
  metrics.bind(server);
  const app = buildApp(server, { logger, metrics });
  const mgmt = buildManagementApp(server, { logger, metrics });
  await app.ready();
  await mgmt.ready();
  return { metrics, server, app, mgmt, close: async () => (server.close(), await app.close(), await mgmt.close(), await storage.close()) };
}

const tokenRequest = (app: FastifyInstance, auth: string | undefined, params: Record<string, string>) =>
  app.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) }, payload: form({ grant_type: 'client_credentials', ...params }) });

describe('metrics', () => {
  let s: Awaited<ReturnType<typeof setup>>;
  let jwksServer: Server;
  let jwksUrl: string;
  const key = generateTestKey('ES256');
  before(async () => {
    s = await setup(false);
    jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] })));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks`;
  });
  after(async () => {
    await s.close();
    jwksServer.close();
  });

  const scrape = async () => {
    const res = await s.mgmt.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return res.body;
  };

  it('counts tokens issued by realm and method, and refusals by error and reason', async () => {
    const c = await s.server.createClient('default', { client_id: 'svc', scope: 'read' });
    for (let i = 0; i < 3; i++) assert.equal((await tokenRequest(s.app, basic('svc', c.client_secret!), {})).statusCode, 200);
    assert.equal((await tokenRequest(s.app, basic('svc', 'wrong'), {})).statusCode, 401);
    assert.equal((await tokenRequest(s.app, basic('svc', c.client_secret!), { scope: 'admin' })).statusCode, 400);
    const text = await scrape();
    assert.match(text, /^tessera_tokens_issued_total\{realm="default",method="client_secret_basic"\} 3$/m);
    assert.match(text, /^tessera_request_failures_total\{realm="default",endpoint="token",error="invalid_client",reason="[a-z_]+"\} 1$/m);
    assert.match(text, /^tessera_request_failures_total\{realm="default",endpoint="token",error="invalid_scope",reason="[a-z_]+"\} 1$/m);
    assert.match(text, /^tessera_http_request_duration_seconds_count\{method="POST",endpoint="\/oauth2\/token",status="200"\} 3$/m);
    assert.doesNotMatch(text, /client_id="svc"/);
  });

  it('counts replay-store writes and jwks_uri fetches (private_key_jwt)', async () => {
    await s.server.createClient('default', { client_id: 'jwt', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUrl, scope: 'read' });
    const assertion = signAssertion({ alg: 'ES256', kid: key.kid }, assertionClaims('jwt', 'http://127.0.0.1:8080'), key.privateKey);
    const params = { client_assertion_type: JWT_BEARER, client_assertion: assertion, client_id: 'jwt' };
    assert.equal((await tokenRequest(s.app, undefined, params)).statusCode, 200);
    assert.equal((await tokenRequest(s.app, undefined, params)).statusCode, 401); // replayed
    const text = await scrape();
    assert.match(text, /^tessera_replay_store_writes_total\{outcome="stored"\} 1$/m);
    assert.match(text, /^tessera_replay_store_writes_total\{outcome="replayed"\} 1$/m);
    assert.match(text, /^tessera_jwks_uri_fetches_total\{outcome="ok"\} 1$/m);
    assert.match(text, /^tessera_jwks_uri_fetch_duration_seconds_count 1$/m);
    assert.match(text, /^tessera_tokens_issued_total\{realm="default",method="private_key_jwt"\} 1$/m);
  });

  it('reports signing-key age, event-loop lag and process metrics', async () => {
    const text = await scrape();
    assert.match(text, /^tessera_signing_key_age_seconds\{realm="default",kid="[^"]+"\} \d/m);
    assert.match(text, /^tessera_signing_key_age_seconds\{realm="admin",kid="[^"]+"\} \d/m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    assert.match(text, /^process_resident_memory_bytes /m);
  });

  it('gives unknown realms no label of their own', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/realms/made-up-1/oauth2/token', headers: { 'content-type': 'text/plain' }, payload: 'x' });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500);
    assert.doesNotMatch(await scrape(), /made-up-1/);
  });

  it('serves /healthz and /readyz on the management app', async () => {
    assert.deepEqual((await s.mgmt.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    assert.deepEqual((await s.mgmt.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready' });
    assert.equal((await s.mgmt.inject({ method: 'GET', url: '/oauth2/token' })).statusCode, 404);
  });
});

describe('process metrics', () => {
  const families = async (registry: Registry) => new Set([...(await registry.metrics()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!));

  it("are prom-client's default metrics without nodejs_gc_duration_seconds, which observes every collection; gc_durations adds it", async () => {
    const reference = new Registry();
    collectDefaultMetrics({ register: reference });
    const expected = await families(reference);
    assert.ok(expected.has('nodejs_gc_duration_seconds') && expected.has('nodejs_eventloop_lag_seconds'));
    const tessera = (await families(new Metrics({}).registry));
    const ours = [...tessera].filter((name) => !name.startsWith('tessera_'));
    assert.deepEqual(ours.sort(), [...expected].filter((name) => name !== 'nodejs_gc_duration_seconds').sort());
    assert.ok((await families(new Metrics({ gcDurations: true }).registry)).has('nodejs_gc_duration_seconds'));
    assert.equal(resolveConfig({ metrics: { gc_durations: true } }).metrics.gcDurations, true);
    assert.equal(resolveConfig({}).metrics.gcDurations, false);
  });
});

describe('the request-duration histogram', () => {
  const BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  const observations: Array<[string, string, number, number]> = [
    ['POST', '/oauth2/token', 200, 0.0004],
    ['POST', '/oauth2/token', 200, 0.001], // on a bound: counted in le="0.001", as Prometheus defines it
    ['POST', '/oauth2/token', 200, 0.0031],
    ['POST', '/oauth2/token', 401, 0.02],
    ['GET', '/realms/:realm/jwks', 200, 3.5], // above every bound: +Inf only
    ['POST', '/oauth2/token', 200, 0.3],
  ];

  it("writes the same exposition as prom-client's Histogram for the same observations", async () => {
    const ours = new Registry();
    const histogram = new DurationHistogram(BOUNDS);
    ours.registerMetric(histogram as never);
    const reference = new Registry();
    const theirs = new Histogram({ name: 'tessera_http_request_duration_seconds', help: 'Request duration per endpoint (route pattern)', labelNames: ['method', 'endpoint', 'status'], buckets: BOUNDS, registers: [reference] });
    for (const [method, endpoint, status, seconds] of observations) {
      histogram.observe(method, endpoint, status, seconds);
      theirs.observe({ method, endpoint, status: String(status) }, seconds);
    }
    const lines = async (r: Registry) => (await r.metrics()).split('\n').filter(Boolean).sort();
    assert.deepEqual(await lines(ours), await lines(reference));
    assert.match(await ours.metrics(), /^tessera_http_request_duration_seconds_bucket\{le="0.001",method="POST",endpoint="\/oauth2\/token",status="200"\} 2$/m);
  });

  it(`keeps at most ${DurationHistogram.MAX_SERIES} series; later label sets share one labelled "other"`, async () => {
    const histogram = new DurationHistogram(BOUNDS);
    for (let i = 0; i < DurationHistogram.MAX_SERIES + 50; i++) histogram.observe('GET', `/route-${i}`, 200, 0.01);
    const series = histogram.get().values.filter((v) => v.metricName.endsWith('_count'));
    assert.equal(series.length, DurationHistogram.MAX_SERIES + 1);
    assert.equal(series.find((v) => v.labels.endpoint === 'other')?.value, 50);
  });
});

describe('metrics with per-client labels', () => {
  it('labels tokens issued with the client id only when turned on', async () => {
    const s = await setup(true);
    try {
      const c = await s.server.createClient('default', { client_id: 'svc-x', scope: 'read' });
      assert.equal((await tokenRequest(s.app, basic('svc-x', c.client_secret!), {})).statusCode, 200);
      assert.equal((await tokenRequest(s.app, basic('attacker-chosen', 'x'), {})).statusCode, 401);
      const text = await (await s.mgmt.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(text, /^tessera_tokens_issued_total\{realm="default",method="client_secret_basic",client_id="svc-x"\} 1$/m);
      assert.doesNotMatch(text, /attacker-chosen/);
    } finally {
      await s.close();
    }
  });
});
