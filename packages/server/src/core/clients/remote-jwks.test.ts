/**
 * jwks_uri fetching under attack (issue 13): the deadline covers the body (item 3), fetches are
 * not amplified (item 4), private key material is named precisely (item 8), and loopback key
 * servers are reachable only when allow-listed (item 9). Real loopback HTTP servers throughout.
 */
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { resolveConfig } from '../config/index.ts';
import { RemoteJwksCache } from './remote-jwks.ts';
import { generateTestKey } from '../../../../../test/fixtures/assertions.ts';

class Clock {
  t = Date.now();
  now() {
    return this.t;
  }
}

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r))))));

interface KeyServer {
  uri: string;
  requests: number;
  socketsClosed: number;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

async function keyServer(handler: KeyServer['handler']): Promise<KeyServer> {
  const ks: KeyServer = { uri: '', requests: 0, socketsClosed: 0, handler };
  const s = createServer((req, res) => {
    ks.requests++;
    ks.handler(req, res);
  });
  s.on('connection', (sock) => sock.on('close', () => ks.socketsClosed++));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  ks.uri = `http://127.0.0.1:${(s.address() as { port: number }).port}/jwks.json`;
  return ks;
}

const key = generateTestKey('ES256', 'k1');
const serveKeys = (maxAge = 60) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': `max-age=${maxAge}` });
  res.end(JSON.stringify({ keys: [key.publicJwk] }));
};
const hang = () => {}; // accepts the request and never answers

function cache(jwksFetch: Record<string, unknown> = {}, clock = new Clock()) {
  const config = resolveConfig({ jwks_fetch: { allow: ['127.0.0.1'], min_cache: 1, ...jwksFetch } });
  return { cache: new RemoteJwksCache(config.jwksFetch, clock), clock };
}
const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

it('item 9: a loopback jwks_uri is refused without the allow-list, and nothing is connected to', async () => {
  const ks = await keyServer(serveKeys());
  const config = resolveConfig({});
  const c = new RemoteJwksCache(config.jwksFetch, new Clock());
  assert.equal(await codeOf(c.get(ks.uri)), 'jwks_uri_forbidden_address');
  assert.equal(await codeOf(c.get(ks.uri.replace('127.0.0.1', 'localhost'))), 'jwks_uri_forbidden_address');
  assert.equal(ks.requests, 0);
  assert.throws(() => resolveConfig({ jwks_fetch: { allow: ['nonsense'] } }), /jwks_fetch\.allow\.0: not an IP address/);
});

it('item 3: the deadline covers the body — a slow-drip body fails at the deadline', async () => {
  const ks = await keyServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":[');
    const drip = setInterval(() => res.write(' '), 50);
    req.socket.on('close', () => clearInterval(drip));
  });
  const { cache: c } = cache({ timeout_ms: 400 });
  const t0 = performance.now();
  assert.equal(await codeOf(c.get(ks.uri)), 'jwks_uri_timeout');
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 3000, `took ${Math.round(elapsed)} ms for a 400 ms deadline`);
});

it('item 3: a 1 GB Content-Length is refused and the connection closed at once', async () => {
  let pushed = 0;
  const ks = await keyServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 ** 3) });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed && res.write(chunk)) pushed += chunk.length;
    };
    res.on('drain', pump);
    pump();
  });
  const { cache: c } = cache();
  assert.equal(await codeOf(c.get(ks.uri)), 'jwks_uri_too_large');
  for (let i = 0; i < 50 && ks.socketsClosed === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(ks.socketsClosed, 1, 'the key server saw its connection closed within a second');
  assert.ok(pushed < 64 * 1024 * 1024);
});

it('item 4: concurrent requests for a set share one fetch', async () => {
  const ks = await keyServer(serveKeys());
  const { cache: c } = cache();
  const sets = await Promise.all(Array.from({ length: 50 }, () => c.get(ks.uri)));
  assert.ok(sets.every((s) => s.length === 1 && s[0]!.kid === 'k1'));
  assert.equal(ks.requests, 1);
});

it('item 4: failures are remembered with backoff — a failing key host sees one fetch per backoff period', async () => {
  const ks = await keyServer((_req, res) => res.writeHead(500).end());
  const { cache: c, clock } = cache({ failure_backoff: 5, max_failure_backoff: 20 });
  for (let i = 0; i < 20; i++) assert.equal(await codeOf(c.get(ks.uri)), 'jwks_uri_status');
  assert.equal(ks.requests, 1, '20 requests, one fetch');
  clock.t += 5_001;
  for (let i = 0; i < 5; i++) await codeOf(c.get(ks.uri));
  assert.equal(ks.requests, 2);
  clock.t += 5_001; // the second failure doubled the backoff to 10 s
  await codeOf(c.get(ks.uri));
  assert.equal(ks.requests, 2);
  clock.t += 5_000;
  await codeOf(c.get(ks.uri));
  assert.equal(ks.requests, 3);
  assert.equal(await c.refresh(ks.uri, 'client-a'), undefined, 'an unknown kid does not bypass the backoff');
  assert.equal(ks.requests, 3);
  ks.handler = serveKeys();
  clock.t += 20_001;
  assert.equal((await c.get(ks.uri)).length, 1, 'recovers after the backoff');
});

it('item 4: while the key host hangs, the stale set is served at once (one refresh in flight), within the staleness bound', async () => {
  const ks = await keyServer(serveKeys(60));
  const { cache: c, clock } = cache({ timeout_ms: 500, max_stale: 600, min_cache: 60 });
  await c.get(ks.uri);
  ks.handler = hang;
  clock.t += 61_000; // expired
  const t0 = performance.now();
  const sets = await Promise.all(Array.from({ length: 100 }, () => c.get(ks.uri)));
  assert.ok(performance.now() - t0 < 400, 'nobody waited for the hanging host');
  assert.ok(sets.every((s) => s[0]!.kid === 'k1'));
  for (let i = 0; i < 25 && ks.requests < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(ks.requests, 2, 'one background refresh for 100 requests');
  await new Promise((r) => setTimeout(r, 700)); // the refresh times out and is remembered
  await c.get(ks.uri);
  assert.equal(ks.requests, 2, 'no new fetch during the backoff');
  clock.t += 600_000; // now past the staleness bound: callers wait for a fresh set, and fail without one
  assert.equal(await codeOf(c.get(ks.uri)), 'jwks_uri_timeout');
});

it('item 8: a set publishing private key material is refused, naming the key and the members', async () => {
  const leaked = { ...(key.privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'leaky' };
  const ks = await keyServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk, leaked] })));
  const { cache: c } = cache();
  const err = (await c.get(ks.uri).catch((e: unknown) => e)) as { code: string; message: string; facts: Record<string, unknown> };
  assert.equal(err.code, 'jwks_private_key');
  assert.deepEqual(err.facts, { index: 1, kid: 'leaky', members: ['d'] });
  assert.match(err.message, /private key material \(d\) in key 1 \(kid "leaky"\)/);
});

it('item 8: unusable keys and duplicate kids are recorded for the failure reason', async () => {
  const ks = await keyServer((_req, res) =>
    res.writeHead(200).end(JSON.stringify({ keys: [key.publicJwk, { ...key.publicJwk }, { kty: 'EC', crv: 'P-256', kid: 'broken', x: 'AA', y: 'AA' }, 'x'] })),
  );
  const { cache: c } = cache();
  assert.equal((await c.get(ks.uri)).length, 2);
  const d = c.diagnostics(ks.uri);
  assert.deepEqual(d.duplicate_kids, ['k1']);
  assert.deepEqual(d.skipped, [
    { index: 2, kid: 'broken', kty: 'EC', why: 'unsupported or malformed public key' },
    { index: 3, kid: null, kty: null, why: 'not a JSON object' },
  ]);
});
