/** Introspection (RFC 7662) and revocation (RFC 7009) over HTTP. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TestClock, type TestServer } from '../../../../test/fixtures/server.ts';
import { basic, form } from '../../../../test/fixtures/assertions.ts';

let t: TestServer;
const clock = new TestClock();
const RS = basic('resource-server', 'rs-secret');
const A = basic('client-a', 'a-secret');
const B = basic('client-b', 'b-secret');

async function post(url: string, params: Record<string, string>, authorization?: string) {
  const res = await t.app.inject({ method: 'POST', url, payload: form(params), headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) } });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
}
async function tokenFor(auth: string, url = '/oauth2/token'): Promise<string> {
  const res = await post(url, { grant_type: 'client_credentials' }, auth);
  assert.equal(res.status, 200);
  return res.body.access_token;
}
const introspect = (token: string, auth = RS, url = '/oauth2/introspect') => post(url, { token }, auth);

before(async () => {
  t = await startTestServer({
    inject: true,
    clock,
    config: {
      clients: [
        { client_id: 'resource-server', client_secret: 'rs-secret', may_introspect: true, scope: 'introspect' },
        { client_id: 'client-a', client_secret: 'a-secret', scope: 'read write', allowed_resources: ['https://api.example.com'], default_resource: 'https://api.example.com' },
        { client_id: 'client-b', client_secret: 'b-secret', scope: 'read' },
      ],
      realms: [{ name: 'other', clients: [{ client_id: 'client-a', client_secret: 'a-secret', scope: 'read' }, { client_id: 'resource-server', client_secret: 'rs-secret', may_introspect: true }] }],
    },
  });
});
after(() => t.close());

describe('introspection', () => {
  it('describes an active token with RFC 7662 members', async () => {
    const token = await tokenFor(A);
    const res = await introspect(token);
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const now = Math.floor(clock.now() / 1000);
    assert.deepEqual({ ...res.body, jti: 'x' }, { active: true, scope: 'read write', client_id: 'client-a', token_type: 'Bearer', exp: now + 3600, iat: now, sub: 'client-a', aud: 'https://api.example.com', iss: t.issuer, jti: 'x' });
  });
  it('answers {active:false} and nothing else for garbage, forged, foreign and expired tokens', async () => {
    const token = await tokenFor(A);
    const [h, p, s] = token.split('.') as [string, string, string];
    const forgedClaims = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: 'admin' })).toString('base64url');
    const foreign = await tokenFor(A, '/realms/other/oauth2/token');
    for (const bad of ['garbage', '', 'a.b.c', `${h}.${forgedClaims}.${s}`, `${h}.${p}.${s.slice(0, -4)}AAAA`, foreign, 'x'.repeat(10000)]) {
      const res = bad === '' ? await post('/oauth2/introspect', { token: bad }, RS) : await introspect(bad);
      if (bad === '') {
        assert.equal(res.status, 400);
        assert.equal(res.body.error, 'invalid_request');
        continue;
      }
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { active: false });
    }
    // The foreign token is active in its own realm.
    assert.equal((await introspect(foreign, RS, '/realms/other/oauth2/introspect')).body.active, true);
    clock.advance(3601 * 1000);
    assert.deepEqual((await introspect(token)).body, { active: false });
  });
  it('needs an authenticated caller allowed to introspect', async () => {
    const token = await tokenFor(A);
    const anonymous = await post('/oauth2/introspect', { token });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error, 'invalid_client');
    const wrong = await introspect(token, basic('resource-server', 'nope'));
    assert.equal(wrong.status, 401);
    const notAllowed = await introspect(token, B);
    assert.equal(notAllowed.status, 400);
    assert.equal(notAllowed.body.error, 'unauthorized_client');
  });
  it('a token of a disabled client is inactive', async () => {
    const token = await tokenFor(B);
    assert.equal((await introspect(token)).body.active, true);
    await t.server.setClientDisabled('default', 'client-b', true);
    assert.deepEqual((await introspect(token)).body, { active: false });
    await t.server.setClientDisabled('default', 'client-b', false);
    assert.equal((await introspect(token)).body.active, true);
  });
  it('GET is 405', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/oauth2/introspect?token=x' });
    assert.equal(res.statusCode, 405);
  });
});

describe('revocation', () => {
  it('a client revokes its own token; introspection reflects it at once', async () => {
    const token = await tokenFor(A);
    const res = await post('/oauth2/revoke', { token, token_type_hint: 'access_token' }, A);
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual((await introspect(token)).body, { active: false });
  });
  it('a wrong or unknown token_type_hint does not stop the search', async () => {
    const token = await tokenFor(A);
    assert.equal((await post('/oauth2/revoke', { token, token_type_hint: 'refresh_token' }, A)).status, 200);
    assert.deepEqual((await introspect(token)).body, { active: false });
    const token2 = await tokenFor(A);
    assert.equal((await post('/oauth2/revoke', { token: token2, token_type_hint: 'weird' }, A)).status, 200);
    assert.deepEqual((await introspect(token2)).body, { active: false });
  });
  it('revoking an unknown or invalid token answers 200', async () => {
    const res = await post('/oauth2/revoke', { token: 'not-a-token' }, A);
    assert.equal(res.status, 200);
  });
  it('a client cannot revoke another client token; the token stays active', async () => {
    const token = await tokenFor(A);
    const res = await post('/oauth2/revoke', { token }, B);
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'unauthorized_client');
    assert.equal((await introspect(token)).body.active, true);
  });
  it('needs client authentication and a token', async () => {
    const token = await tokenFor(A);
    const anonymous = await post('/oauth2/revoke', { token });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error, 'invalid_client');
    assert.equal(anonymous.headers['www-authenticate'], undefined);
    const wrongBasic = await post('/oauth2/revoke', { token }, basic('client-a', 'wrong'));
    assert.equal(wrongBasic.status, 401);
    assert.match(String(wrongBasic.headers['www-authenticate']), /^Basic realm="tessera"/);
    const missing = await post('/oauth2/revoke', {}, A);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, 'invalid_request');
    const twice = await t.app.inject({ method: 'POST', url: '/oauth2/revoke', payload: `token=${token}&token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: A } });
    assert.equal(twice.statusCode, 400);
    assert.equal((await introspect(token)).body.active, true);
  });
  it('a revocation is kept until the token would have expired, then purged', async () => {
    const token = await tokenFor(A);
    await post('/oauth2/revoke', { token }, A);
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti;
    assert.equal(await t.storage.revocations.isRevoked('default', jti), true);
    assert.equal(await t.storage.revocations.purgeExpired(clock.now() + 3599_000), 0);
    assert.equal(await t.storage.revocations.isRevoked('default', jti), true);
    assert.ok((await t.storage.revocations.purgeExpired(clock.now() + 3601_000)) >= 1);
    assert.equal(await t.storage.revocations.isRevoked('default', jti), false);
  });
});
