/** The bounded, SSRF-safe fetch of jwks_uri (issue 13 items 3 and 9), against loopback servers. */
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { AddressPolicy } from './address-policy.ts';
import { FetchError, safeGet } from './safe-fetch.ts';

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r))))));

async function serve(handler: Parameters<typeof createServer>[1], onSocket?: (s: Socket) => void): Promise<string> {
  const s = createServer(handler);
  if (onSocket) s.on('connection', onSocket);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

const loopbackOk = { timeoutMs: 1000, maxBytes: 64 * 1024, policy: new AddressPolicy(['127.0.0.1']) };
const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof FetchError ? e.code : `other: ${String(e)}`));

it('fetches from an allow-listed loopback address', async () => {
  const base = await serve((_req, res) => res.end('{"keys":[]}'));
  const doc = await safeGet(`${base}/jwks`, loopbackOk, 'application/json');
  assert.equal(doc.status, 200);
  assert.equal(doc.body, '{"keys":[]}');
});

it('refuses loopback, private and metadata addresses by default, before any connection', async () => {
  let connections = 0;
  const base = await serve((_req, res) => res.end('{}'), () => connections++);
  const closed = { timeoutMs: 1000, maxBytes: 1024, policy: new AddressPolicy() };
  assert.equal(await code(safeGet(`${base}/jwks`, closed, '*/*')), 'jwks_uri_forbidden_address');
  assert.equal(await code(safeGet(`https://127.0.0.1:1/jwks`, closed, '*/*')), 'jwks_uri_forbidden_address');
  assert.equal(await code(safeGet('https://169.254.169.254/latest/meta-data', closed, '*/*')), 'jwks_uri_forbidden_address');
  assert.equal(await code(safeGet('https://[::ffff:127.0.0.1]/jwks', closed, '*/*')), 'jwks_uri_forbidden_address');
  assert.equal(await code(safeGet('https://[::1]/jwks', closed, '*/*')), 'jwks_uri_forbidden_address');
  assert.equal(await code(safeGet('https://0x7f.1/jwks', closed, '*/*')), 'jwks_uri_forbidden_address');
  // a name is checked on the address it resolves to, in the socket's lookup
  const err = await safeGet(`http://localhost:${new URL(base).port}/jwks`, closed, '*/*').catch((e: FetchError) => e);
  assert.ok(err instanceof FetchError);
  assert.equal(err.code, 'jwks_uri_forbidden_address');
  assert.equal(err.facts.range, 'loopback');
  assert.equal(connections, 0, 'nothing was connected to');
});

it('refuses plain http to an address that is not allow-listed', async () => {
  const base = await serve((_req, res) => res.end('{}'));
  const onlyOther = { timeoutMs: 1000, maxBytes: 1024, policy: new AddressPolicy(['10.0.0.0/8']) };
  assert.equal(await code(safeGet(`${base}/jwks`, onlyOther, '*/*')), 'jwks_uri_forbidden_address');
  assert.equal(await code(safeGet('http://8.8.8.8/jwks', onlyOther, '*/*')), 'jwks_uri_not_https');
  assert.equal(await code(safeGet('ftp://8.8.8.8/jwks', onlyOther, '*/*')), 'jwks_uri_not_https');
});

it('the deadline covers the body: a slow-drip body is cut at the deadline', async () => {
  let serverSaw = 'open';
  const base = await serve((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":[');
    const drip = setInterval(() => res.write(' '), 50);
    req.socket.on('close', () => (clearInterval(drip), (serverSaw = 'closed')));
  });
  const t0 = performance.now();
  const err = await safeGet(`${base}/jwks`, { ...loopbackOk, timeoutMs: 300 }, '*/*').catch((e: FetchError) => e);
  const elapsed = performance.now() - t0;
  assert.ok(err instanceof FetchError);
  assert.equal(err.code, 'jwks_uri_timeout');
  assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(serverSaw, 'closed', 'the connection was closed');
});

it('a response refused on its Content-Length is closed at once, its body never read', async () => {
  let closedAfter = -1;
  let sent = 0;
  const base = await serve((req, res) => {
    const t0 = performance.now();
    req.socket.on('close', () => (closedAfter = performance.now() - t0));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 ** 3) });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const pump = () => {
      while (!res.destroyed && sent < 1024 ** 3 && res.write(chunk)) sent += chunk.length;
    };
    res.on('drain', pump);
    pump();
  });
  const err = await safeGet(`${base}/jwks`, loopbackOk, '*/*').catch((e: FetchError) => e);
  assert.ok(err instanceof FetchError);
  assert.equal(err.code, 'jwks_uri_too_large');
  assert.equal(err.facts.declared, 1024 ** 3);
  for (let i = 0; i < 50 && closedAfter < 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(closedAfter >= 0 && closedAfter < 1000, `server socket closed after ${closedAfter} ms`);
  assert.ok(sent < 64 * 1024 * 1024, `only ${sent} bytes were pushed before the close`);
});

it('a body growing past the limit without a Content-Length is cut, and non-200 answers are refused', async () => {
  const big = await serve((_req, res) => {
    res.writeHead(200);
    res.end(Buffer.alloc(200 * 1024, 0x20));
  });
  assert.equal(await code(safeGet(`${big}/jwks`, loopbackOk, '*/*')), 'jwks_uri_too_large');
  const redirect = await serve((_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/' }).end());
  const err = await safeGet(`${redirect}/jwks`, loopbackOk, '*/*').catch((e: FetchError) => e);
  assert.equal((err as FetchError).code, 'jwks_uri_status');
  assert.equal((err as FetchError).facts.status, 302, 'redirects are never followed');
});
