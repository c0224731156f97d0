/** Logs are structured, carry the request id, and never contain a secret, an assertion or a token. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { resolveConfig } from '../core/config/index.ts';
import { createKek } from '../core/crypto/kek.ts';
import { AuthorizationServer } from '../core/server.ts';
import { createMemoryStorage } from '../storage/memory/index.ts';
import { buildApp } from './app.ts';
import { assertionClaims, basic, form, generateTestKey, JWT_BEARER, signAssertion } from '../../../../test/fixtures/assertions.ts';

it('no secret, assertion or token reaches the log, even at trace level', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
  const key = generateTestKey('ES256', 'k1');
  const secret = 'very-secret-value-123';
  const config = resolveConfig({ issuer: 'http://127.0.0.1:9', demo_client: false, clients: [
    { client_id: 'c', client_secret: secret, scope: 'read', may_introspect: true },
    { client_id: 'pk', jwks: { keys: [key.publicJwk] }, scope: 'read' },
  ] });
  const storage = createMemoryStorage();
  const server = await AuthorizationServer.create({ config, storage, kek: createKek(randomBytes(32)) });
  const app = buildApp(server, { logger: pino({ level: 'trace' }, sink) });
  const post = (url: string, payload: string, authorization?: string) =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) } });

  const ok = await post('/oauth2/token', form({ grant_type: 'client_credentials' }), basic('c', secret));
  const token = ok.json().access_token as string;
  await post('/oauth2/token', form({ grant_type: 'client_credentials' }), basic('c', secret + 'x'));
  await post('/oauth2/token', form({ grant_type: 'client_credentials', client_id: 'c', client_secret: secret }));
  await post('/oauth2/token?client_secret=' + secret, form({ grant_type: 'client_credentials' }));
  const expired = signAssertion({ alg: 'ES256', kid: 'k1' }, assertionClaims('pk', 'http://127.0.0.1:9', { exp: 1 }), key.privateKey);
  await post('/oauth2/token', form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: expired }));
  await post('/oauth2/introspect', form({ token }), basic('c', secret));
  await post('/oauth2/revoke', form({ token }), basic('c', secret));
  await app.close();

  const text = lines.join('');
  assert.ok(lines.length >= 5, 'something was logged');
  for (const forbidden of [secret, token, token.split('.')[2]!, expired, expired.split('.')[2]!, Buffer.from(`c:${secret}`).toString('base64')]) {
    assert.ok(!text.includes(forbidden), `log contains a secret value: ${forbidden.slice(0, 12)}…`);
  }
  const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'oauth error');
  assert.ok(errors.length >= 3);
  for (const e of errors) assert.match(e.reqId, /^[0-9a-f-]{36}$/);
  assert.ok(errors.some((e) => e.detail === 'client_assertion has expired'));
});
