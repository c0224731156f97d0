/**
 * Issue 13 item 8: a jwks_uri publishing private key material, or two keys under one kid, gets a
 * precise failure reason (err.because) and log line — not "no_match" or "has no kid".
 */
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { resolveConfig } from '../core/config/index.ts';
import { createKek } from '../core/crypto/kek.ts';
import { AuthorizationServer } from '../core/server.ts';
import { createMemoryStorage } from '../storage/memory/index.ts';
import { buildApp } from './app.ts';
import { assertionClaims, form, generateTestKey, JWT_BEARER, signAssertion } from '../../../../test/fixtures/assertions.ts';

const ISSUER = 'http://127.0.0.1:9';
const key = generateTestKey('ES256', 'k1');
const other = generateTestKey('ES256', 'k1'); // same kid, other key
const sets: Record<string, unknown> = {
  '/leaky': { keys: [{ ...(key.privateKey.export({ format: 'jwk' }) as object), kid: 'k1' }] },
  '/dupes': { keys: [other.publicJwk, key.publicJwk] },
};
let keyServer: Server;
let app: FastifyInstance;
let server: AuthorizationServer;
const lines: Array<Record<string, unknown>> = [];

before(async () => {
  keyServer = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sets[req.url ?? ''] ?? {})));
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(keyServer.address() as { port: number }).port}`;
  const config = resolveConfig({
    issuer: ISSUER,
    demo_client: false,
    throttle: { max_failures: 0 },
    jwks_fetch: { allow: ['127.0.0.1'] },
    clients: [
      { client_id: 'leaky', jwks_uri: `${base}/leaky`, scope: 'read' },
      { client_id: 'dupes', jwks_uri: `${base}/dupes`, scope: 'read' },
    ],
  });
  server = await AuthorizationServer.create({ config, storage: createMemoryStorage(), kek: createKek(randomBytes(32)) });
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
  app = buildApp(server, { logger: pino({ level: 'info' }, sink) });
});
after(async () => {
  await app.close();
  server.close();
  await new Promise((r) => keyServer.close(r));
});

const tokenWith = (clientId: string) =>
  app.inject({
    method: 'POST',
    url: '/oauth2/token',
    payload: form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: signAssertion({ alg: 'ES256', kid: 'k1' }, assertionClaims(clientId, ISSUER), key.privateKey) }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

it('private key material in the jwks_uri set: 401, and the log says which key and which members', async () => {
  const res = await tokenWith('leaky');
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error, 'invalid_client');
  const line = lines.find((l) => l.reqId === res.headers['x-request-id'] && l.msg === 'oauth error');
  assert.ok(line, 'logged');
  assert.equal(line.reason, 'jwks_private_key');
  assert.deepEqual((line.facts as Record<string, unknown>).members, ['d']);
  assert.equal((line.facts as Record<string, unknown>).kid, 'k1');
  assert.match(String(line.detail), /private key material \(d\) in key 0/);
  assert.ok(!JSON.stringify(lines).includes(String((key.privateKey.export({ format: 'jwk' }) as { d: string }).d)), 'the leaked private value is never logged');
});

it('two keys under the kid the assertion names: reason duplicate_kid, not "has no kid"', async () => {
  const res = await tokenWith('dupes');
  assert.equal(res.statusCode, 401);
  assert.doesNotMatch(res.json().error_description, /has no kid/);
  const line = lines.find((l) => l.reqId === res.headers['x-request-id'] && l.msg === 'oauth error');
  assert.equal(line?.reason, 'duplicate_kid');
  assert.deepEqual((line?.facts as Record<string, unknown>).duplicate_kids, ['k1']);
  assert.match(String(line?.detail), /share kid "k1"/);
});
