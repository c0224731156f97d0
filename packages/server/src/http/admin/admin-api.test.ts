/**
 * The admin API over real HTTP handling (Fastify inject) on SQLite and PostgreSQL: every route,
 * ETag / If-Match (412 on a stale tag), problem documents, and the effect of each change on the
 * OAuth endpoints.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { startTestServer, type TestServer } from '../../../../../test/fixtures/server.ts';
import { adminToken, createAdminClient } from '../../../../../test/fixtures/admin.ts';
import { basic, form } from '../../../../../test/fixtures/assertions.ts';
import { createSqliteStorage } from '../../storage/sqlite/index.ts';
import { createPostgresStorage } from '../../storage/postgres/index.ts';
import type { Storage } from '../../core/ports/index.ts';

const PG_URL = process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const backends: Array<{ name: string; open(): Promise<{ storage: Storage; cleanup(): Promise<void> }> }> = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-admin-'));
      return { storage: createSqliteStorage({ path: join(dir, 't.db') }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `admin_${process.pid}_${randomBytes(4).toString('hex')}`;
      const storage = await createPostgresStorage({ url: PG_URL, schema });
      return {
        storage,
        cleanup: async () => {
          const sql = postgres(PG_URL, { max: 1, onnotice: () => {} });
          await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`;
          await sql.end();
        },
      };
    },
  },
];

async function tokenFor(t: TestServer, clientId: string, secret: string) {
  return t.app.inject({ method: 'POST', url: '/oauth2/token', headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ grant_type: 'client_credentials' }) });
}

for (const backend of backends) {
  describe(`admin API on ${backend.name}`, () => {
    let t: TestServer;
    let cleanup: () => Promise<void>;
    let bearer: string;
    const call = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
      t.app.inject({
        method: method as 'GET',
        url: `/admin/v1${url}`,
        headers: { authorization: `Bearer ${bearer}`, ...(payload === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }), ...headers },
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
      });

    after(async () => {
      await t?.close();
      await cleanup?.();
    });

    it('starts with a bootstrapped admin client', async () => {
      const opened = await backend.open();
      cleanup = opened.cleanup;
      t = await startTestServer({ inject: true, storage: opened.storage, config: { realms: [{ name: 'payments' }] } });
      bearer = await adminToken(t.app, t.server, await createAdminClient(t.server));
      assert.ok(bearer.split('.').length === 3);
    });

    it('lists and shows realms', async () => {
      const list = await call('GET', '/realms');
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().items.map((r: { name: string }) => r.name).sort(), ['admin', 'default', 'payments']);
      const one = await call('GET', '/realms/payments');
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().issuer, `${t.issuer}/realms/payments`);
      assert.equal(one.json().admin, false);
      const missing = await call('GET', '/realms/nope');
      assert.equal(missing.statusCode, 404);
      assert.match(String(missing.headers['content-type']), /^application\/problem\+json/);
      assert.equal(missing.json().status, 404);
    });

    let etag: string;
    let secret: string;
    it('creates a client: 201, secret once, ETag and Location; a taken id is 409', async () => {
      const res = await call('POST', '/realms/default/clients', { client_id: 'svc-a', client_name: 'Service A', scope: 'read write', owners: ['team-a'] });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.equal(body.client.client_id, 'svc-a');
      assert.equal(body.client.token_endpoint_auth_method, 'client_secret_basic');
      assert.equal(typeof body.client_secret, 'string');
      assert.equal(JSON.stringify(body.client).includes(body.client_secret), false);
      assert.equal(res.headers.location, '/admin/v1/realms/default/clients/svc-a');
      etag = String(res.headers.etag);
      assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
      secret = body.client_secret;
      assert.equal((await tokenFor(t, 'svc-a', secret)).statusCode, 200);
      const again = await call('POST', '/realms/default/clients', { client_id: 'svc-a' });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().type, 'urn:tessera:problem:conflict');
    });

    it('shows a client with the same ETag', async () => {
      const res = await call('GET', '/realms/default/clients/svc-a');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers.etag, etag);
      assert.equal(res.json().client_name, 'Service A');
      assert.equal('secret_hash' in res.json() || JSON.stringify(res.json()).includes('scrypt'), false);
      assert.equal((await call('GET', '/realms/default/clients/nobody')).statusCode, 404);
    });

    it('updates by JSON Merge Patch with If-Match; a stale tag gets 412 and changes nothing', async () => {
      const res = await call('PATCH', '/realms/default/clients/svc-a', { client_name: 'Service A2', owners: null }, { 'if-match': etag });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().client.client_name, 'Service A2');
      assert.equal(res.json().client.owners.length, 0);
      assert.equal(res.json().client.scope, 'read write');
      const fresh = String(res.headers.etag);
      assert.notEqual(fresh, etag);
      const stale = await call('PATCH', '/realms/default/clients/svc-a', { client_name: 'lost update' }, { 'if-match': etag });
      assert.equal(stale.statusCode, 412);
      assert.equal(stale.json().type, 'urn:tessera:problem:precondition_failed');
      assert.equal((await call('GET', '/realms/default/clients/svc-a')).json().client_name, 'Service A2');
      // the secret survives a metadata update
      assert.equal((await tokenFor(t, 'svc-a', secret)).statusCode, 200);
      // invalid merged metadata is a 400 problem
      const bad = await call('PATCH', '/realms/default/clients/svc-a', { access_token_ttl: -5 });
      assert.equal(bad.statusCode, 400);
      etag = fresh;
    });

    it('disables and enables a client (tokens refused, then issued again)', async () => {
      const off = await call('POST', '/realms/default/clients/svc-a/disable', undefined, { 'if-match': etag });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal(off.json().disabled, true);
      assert.equal((await tokenFor(t, 'svc-a', secret)).statusCode, 401);
      const on = await call('POST', '/realms/default/clients/svc-a/enable');
      assert.equal(on.json().disabled, false);
      assert.equal((await tokenFor(t, 'svc-a', secret)).statusCode, 200);
      etag = String(on.headers.etag);
    });

    it('rotates a secret: the new one is returned once and works', async () => {
      const res = await call('POST', '/realms/default/clients/svc-a/secret/rotate');
      assert.equal(res.statusCode, 200, res.body);
      const next = res.json().client_secret as string;
      assert.notEqual(next, secret);
      assert.equal((await tokenFor(t, 'svc-a', next)).statusCode, 200);
      assert.notEqual(res.headers.etag, etag);
      secret = next;
    });

    it('lists clients with cursor pagination and filters', async () => {
      for (let i = 0; i < 5; i++) {
        const r = await call('POST', '/realms/default/clients', { client_id: `page-${i}`, client_name: i % 2 ? 'Odd one' : 'Even one', scope: 'read' });
        assert.equal(r.statusCode, 201);
      }
      await call('POST', '/realms/default/clients/page-3/disable');
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let n = 0; n < 10; n++) {
        const res = await call('GET', `/realms/default/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(res.statusCode, 200);
        const body = res.json();
        seen.push(...body.items.map((c: { client_id: string }) => c.client_id));
        cursor = body.next_cursor;
        if (!cursor) break;
      }
      assert.deepEqual(seen, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'svc-a']);
      const odd = await call('GET', '/realms/default/clients?q=odd');
      assert.deepEqual(odd.json().items.map((c: { client_id: string }) => c.client_id), ['page-1', 'page-3']);
      const disabled = await call('GET', '/realms/default/clients?disabled=true');
      assert.deepEqual(disabled.json().items.map((c: { client_id: string }) => c.client_id), ['page-3']);
      const jwt = await call('GET', '/realms/default/clients?method=private_key_jwt');
      assert.deepEqual(jwt.json().items, []);
      const filteredPage = await call('GET', '/realms/default/clients?q=one&limit=1');
      assert.equal(filteredPage.json().items[0].client_id, 'page-0');
      assert.ok(filteredPage.json().next_cursor);
    });

    it('lists, rotates and revokes signing keys', async () => {
      const before = await call('GET', '/realms/payments/keys');
      assert.equal(before.statusCode, 200);
      assert.equal(before.json().keys.filter((k: { state: string }) => k.state === 'active').length, 1);
      const rotated = await call('POST', '/realms/payments/keys/rotate', { immediate: true });
      assert.equal(rotated.statusCode, 201, rotated.body);
      const kid = rotated.json().kid as string;
      const listed = (await call('GET', '/realms/payments/keys')).json().keys as Array<{ kid: string; state: string }>;
      assert.equal(listed.find((k) => k.kid === kid)?.state, 'active');
      const old = listed.find((k) => k.kid !== kid)!;
      const revoked = await call('POST', `/realms/payments/keys/${old.kid}/revoke`);
      assert.equal(revoked.statusCode, 204);
      const jwks = await t.app.inject({ method: 'GET', url: '/realms/payments/jwks' });
      assert.deepEqual(jwks.json().keys.map((k: { kid: string }) => k.kid), [kid]);
      assert.equal((await call('POST', '/realms/payments/keys/no-such-kid/revoke')).statusCode, 404);
    });

    it('deletes a client (If-Match honoured); then 404', async () => {
      const stale = await call('DELETE', '/realms/default/clients/svc-a', undefined, { 'if-match': '"stale"' });
      assert.equal(stale.statusCode, 412);
      const res = await call('DELETE', '/realms/default/clients/svc-a', undefined, { 'if-match': '*' });
      assert.equal(res.statusCode, 204);
      assert.equal((await call('GET', '/realms/default/clients/svc-a')).statusCode, 404);
      assert.equal((await tokenFor(t, 'svc-a', secret)).statusCode, 401);
    });
  });
}
