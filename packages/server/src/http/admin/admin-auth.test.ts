/**
 * Who may call the admin API: Bearer tokens of the admin realm only, with the right scope and realm;
 * 401/403 with RFC 6750 WWW-Authenticate otherwise, the same whether or not the target exists.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../../../../test/fixtures/server.ts';
import { adminToken, createAdminClient, type AdminClient } from '../../../../../test/fixtures/admin.ts';
import { basic, form } from '../../../../../test/fixtures/assertions.ts';
import { SCOPES } from './auth.ts';

describe('admin API authentication and scopes', () => {
  let t: TestServer;
  const get = (url: string, token?: string, method = 'GET') =>
    t.app.inject({ method: method as 'GET', url: `/admin/v1${url}`, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  before(async () => {
    t = await startTestServer({ inject: true, config: { realms: [{ name: 'payments' }, { name: 'shipping' }] } });
  });
  after(() => t.close());

  it('answers 401 to everything before bootstrap (no admin client), existing path or not', async () => {
    for (const url of ['/realms', '/realms/default/clients', '/realms/nope/clients/x', '/no/such/path']) {
      const res = await get(url);
      assert.equal(res.statusCode, 401, url);
      assert.equal(res.headers['www-authenticate'], 'Bearer realm="tessera-admin"');
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.json().status, 401);
    }
    const post = await t.app.inject({ method: 'POST', url: '/admin/v1/realms/default/clients', headers: { 'content-type': 'application/json' }, payload: '{"client_id":"x"}' });
    assert.equal(post.statusCode, 401);
    assert.equal(await t.server.storage.clients.get('default', 'x'), undefined);
  });

  let ops: AdminClient;
  it('accepts a token of the admin realm', async () => {
    ops = await createAdminClient(t.server);
    const res = await get('/realms', await adminToken(t.app, t.server, ops));
    assert.equal(res.statusCode, 200);
  });

  it('refuses other tokens with invalid_token: garbage, another realm, wrong audience, another scheme', async () => {
    const invalid = 'Bearer realm="tessera-admin", error="invalid_token"';
    assert.equal((await get('/realms', 'not-a-token')).headers['www-authenticate'], invalid);
    // a valid token of the default realm
    const c = await t.server.createClient('default', { client_id: 'svc', scope: 'tessera:admin' });
    const tok = await t.app.inject({ method: 'POST', url: '/oauth2/token', headers: { authorization: basic('svc', c.client_secret!), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ grant_type: 'client_credentials' }) });
    assert.equal(tok.statusCode, 200);
    const foreign = await get('/realms', tok.json().access_token);
    assert.equal(foreign.statusCode, 401);
    assert.equal(foreign.headers['www-authenticate'], invalid);
    // a token of the admin realm for another audience
    const other = await t.server.createClient('admin', { client_id: 'not-admin-aud', scope: 'tessera:admin', allowed_resources: ['https://api.example'], default_resource: 'https://api.example' });
    const otherTok = await adminToken(t.app, t.server, { clientId: 'not-admin-aud', secret: other.client_secret! });
    assert.equal((await get('/realms', otherTok)).statusCode, 401);
    // Basic credentials are not a Bearer token
    const basicRes = await t.app.inject({ method: 'GET', url: '/admin/v1/realms', headers: { authorization: basic(ops.clientId, ops.secret) } });
    assert.equal(basicRes.statusCode, 401);
    assert.equal(basicRes.headers['www-authenticate'], 'Bearer realm="tessera-admin"');
  });

  it('refuses a revoked token and the tokens of a disabled admin client', async () => {
    const token = await adminToken(t.app, t.server, ops);
    assert.equal((await get('/realms', token)).statusCode, 200);
    const revoke = await t.app.inject({ method: 'POST', url: '/realms/admin/oauth2/revoke', headers: { authorization: basic(ops.clientId, ops.secret), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ token }) });
    assert.equal(revoke.statusCode, 200);
    assert.equal((await get('/realms', token)).statusCode, 401);
    const second = await createAdminClient(t.server, 'ops2');
    const token2 = await adminToken(t.app, t.server, second);
    await t.server.setClientDisabled('admin', 'ops2', true);
    assert.equal((await get('/realms', token2)).statusCode, 401);
    // every token of an admin client revoked at once (per-client not-before)
    const third = await createAdminClient(t.server, 'ops3');
    const token3 = await adminToken(t.app, t.server, third);
    assert.equal((await get('/realms', token3)).statusCode, 200);
    await new Promise((r) => setTimeout(r, 1100)); // iat has second precision
    await t.server.admin.revokeClientTokens({ id: 'test' }, 'admin', 'ops3');
    assert.equal((await get('/realms', token3)).statusCode, 401);
  });

  it('needs the scope of the operation: 403 insufficient_scope naming it', async () => {
    const reader = await adminToken(t.app, t.server, ops, SCOPES.clientsRead);
    assert.equal((await get('/realms/default/clients', reader)).statusCode, 200);
    const write = await t.app.inject({ method: 'POST', url: '/admin/v1/realms/default/clients', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, payload: '{"client_id":"nope"}' });
    assert.equal(write.statusCode, 403);
    assert.equal(write.headers['www-authenticate'], 'Bearer realm="tessera-admin", error="insufficient_scope", scope="tessera:clients:write"');
    assert.equal(await t.server.storage.clients.get('default', 'nope'), undefined);
    // the refusal of an authenticated admin is in the audit trail
    await new Promise((r) => setTimeout(r, 50));
    const events = (await t.server.admin.listAudit({ id: 'test' }, { type: 'admin.forbidden' })).events;
    assert.ok(events.some((e) => e.actor.id === 'ops' && e.data.route === '/realms/{realm}/clients' && e.data.scope === 'tessera:clients:write'), JSON.stringify(events));
    assert.equal((await get('/realms/default/keys', reader)).statusCode, 403);
    assert.equal((await get('/realms', reader)).statusCode, 403);
    const keysOnly = await adminToken(t.app, t.server, ops, SCOPES.keysWrite);
    assert.equal((await get('/realms/default/keys/rotate', keysOnly, 'POST')).statusCode, 201);
  });

  it('a token restricted to a realm sees that realm only; other realms get 403 whether they exist or not', async () => {
    const scoped = await createAdminClient(t.server, 'payments-ops', [SCOPES.clientsRead, SCOPES.realmsRead, 'tessera:realm:payments']);
    const token = await adminToken(t.app, t.server, scoped);
    assert.equal((await get('/realms/payments/clients', token)).statusCode, 200);
    const list = await get('/realms', token);
    assert.deepEqual(list.json().realms.map((r: { name: string }) => r.name), ['payments']);
    const exists = await get('/realms/shipping/clients', token);
    const missing = await get('/realms/nothing-here/clients', token);
    assert.equal(exists.statusCode, 403);
    assert.equal(missing.statusCode, 403);
    assert.equal(exists.body, missing.body.replace('nothing-here', 'shipping'));
  });
});
