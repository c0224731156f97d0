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
import { assertionClaims, basic, form, generateTestKey, JWT_BEARER, signAssertion } from '../../../../../test/fixtures/assertions.ts';
import { createPublicKey } from 'node:crypto';
import { createServer } from 'node:http';
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
      t = await startTestServer({ inject: true, storage: opened.storage, config: { realms: [{ name: 'payments' }], jwks_fetch: { allow: ['127.0.0.1'] } } });
      bearer = await adminToken(t.app, t.server, await createAdminClient(t.server));
      assert.ok(bearer.split('.').length === 3);
    });

    it('lists and shows realms', async () => {
      const list = await call('GET', '/realms');
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().realms.map((r: { name: string }) => r.name).sort(), ['admin', 'default', 'payments']);
      const one = await call('GET', '/realms/payments');
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().issuer, `${t.issuer}/realms/payments`);
      assert.equal(one.json().admin, false);
      assert.equal(one.json().source, 'config');
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
      assert.equal(etag, `"${body.version}"`);
      assert.equal(body.declared, false);
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
      assert.equal(res.json().client.client_name, 'Service A');
      assert.equal(JSON.stringify(res.json()).includes('scrypt'), false);
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
      assert.equal((await call('GET', '/realms/default/clients/svc-a')).json().client.client_name, 'Service A2');
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
      assert.equal(off.json().client.disabled, true);
      assert.equal((await tokenFor(t, 'svc-a', secret)).statusCode, 401);
      const on = await call('POST', '/realms/default/clients/svc-a/enable');
      assert.equal(on.json().client.disabled, false);
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
        seen.push(...body.clients.map((c: { client: { client_id: string } }) => c.client.client_id));
        cursor = body.next_cursor;
        if (!cursor) break;
      }
      assert.deepEqual(seen, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'svc-a']);
      const odd = await call('GET', '/realms/default/clients?q=odd');
      assert.deepEqual(odd.json().clients.map((c: { client: { client_id: string } }) => c.client.client_id), ['page-1', 'page-3']);
      const disabled = await call('GET', '/realms/default/clients?disabled=true');
      assert.deepEqual(disabled.json().clients.map((c: { client: { client_id: string } }) => c.client.client_id), ['page-3']);
      const jwt = await call('GET', '/realms/default/clients?method=private_key_jwt');
      assert.deepEqual(jwt.json().clients, []);
      const filteredPage = await call('GET', '/realms/default/clients?q=one&limit=1');
      assert.equal(filteredPage.json().clients[0].client.client_id, 'page-0');
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

    it('rotates a secret with overlap: the previous one works during grace_seconds; 0 ends it at once', async () => {
      const res = await call('POST', '/realms/default/clients/svc-a/secret/rotate', { grace_seconds: 3600 });
      assert.equal(res.statusCode, 200, res.body);
      assert.ok(res.json().previous_secret_expires_at > Date.now() / 1000);
      const next = res.json().client_secret as string;
      assert.equal((await tokenFor(t, 'svc-a', secret)).statusCode, 200, 'previous secret within grace');
      assert.equal((await tokenFor(t, 'svc-a', next)).statusCode, 200);
      const now = await call('POST', '/realms/default/clients/svc-a/secret/rotate', { grace_seconds: 0 });
      assert.equal((await tokenFor(t, 'svc-a', next)).statusCode, 401, 'grace 0: the previous secret stops at once');
      secret = now.json().client_secret;
      assert.equal((await call('POST', '/realms/default/clients/svc-a/secret/rotate', { grace_seconds: -1 })).statusCode, 400);
    });

    it('rotates a client_secret_jwt secret with overlap: assertions MACed with the previous secret work during the grace', async () => {
      const created = await call('POST', '/realms/default/clients', { client_id: 'hs-1', token_endpoint_auth_method: 'client_secret_jwt', scope: 'read' });
      assert.equal(created.statusCode, 201, created.body);
      const old = created.json().client_secret as string;
      const withMac = (key: string) =>
        t.app.inject({
          method: 'POST',
          url: '/oauth2/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: signAssertion({ alg: 'HS256' }, assertionClaims('hs-1', t.issuer), key) }),
        });
      assert.equal((await withMac(old)).statusCode, 200);
      const rotated = await call('POST', '/realms/default/clients/hs-1/secret/rotate', { grace_seconds: 3600 });
      assert.equal(rotated.statusCode, 200, rotated.body);
      const next = rotated.json().client_secret as string;
      assert.equal((await withMac(next)).statusCode, 200, 'the new secret');
      assert.equal((await withMac(old)).statusCode, 200, 'the previous secret within the grace');
      assert.equal((await withMac('x'.repeat(43))).statusCode, 401, 'any other key');
      await call('POST', '/realms/default/clients/hs-1/secret/rotate', { grace_seconds: 0 });
      assert.equal((await withMac(next)).statusCode, 401, 'grace 0: the previous secret stops at once');
      assert.equal((await withMac(old)).statusCode, 401);
    });

    it('revokes one token by jti, and every token of a client issued before now', async () => {
      const rs = await call('POST', '/realms/default/clients', { client_id: 'rs', may_introspect: true });
      const rsSecret = rs.json().client_secret as string;
      const introspect = async (token: string) =>
        (await t.app.inject({ method: 'POST', url: '/oauth2/introspect', headers: { authorization: basic('rs', rsSecret), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ token }) })).json().active as boolean;
      const one = (await tokenFor(t, 'svc-a', secret)).json().access_token as string;
      const two = (await tokenFor(t, 'svc-a', secret)).json().access_token as string;
      const jti = JSON.parse(Buffer.from(one.split('.')[1]!, 'base64url').toString()).jti as string;
      assert.equal(await introspect(one), true);
      assert.equal((await call('POST', '/realms/default/tokens/revoke', { jti })).statusCode, 204);
      assert.equal(await introspect(one), false);
      assert.equal(await introspect(two), true);
      await new Promise((r) => setTimeout(r, 1100)); // not-before has second precision in tokens (iat)
      const all = await call('POST', '/realms/default/clients/svc-a/tokens/revoke');
      assert.equal(all.statusCode, 200, all.body);
      assert.ok(all.json().not_before);
      assert.equal(await introspect(two), false);
      const fresh = (await tokenFor(t, 'svc-a', secret)).json().access_token as string;
      assert.equal(await introspect(fresh), true);
      assert.equal((await call('POST', '/realms/default/tokens/revoke', { jti: '' })).statusCode, 400);
    });

    it('uploads client keys as JWK and as PEM, refuses private keys, and removes a key', async () => {
      const key = generateTestKey('ES256');
      const other = generateTestKey('ES256');
      const created = await call('POST', '/realms/default/clients', { client_id: 'jwt-1', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } });
      assert.equal(created.statusCode, 201, created.body);
      const pem = other.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
      const refused = await call('POST', '/realms/default/clients/jwt-1/keys', { pem });
      assert.equal(refused.statusCode, 400);
      const privateJwk = { ...(other.privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'p' };
      assert.equal((await call('POST', '/realms/default/clients/jwt-1/keys', privateJwk)).statusCode, 400);
      const publicPem = createPublicKey(other.privateKey).export({ format: 'pem', type: 'spki' }) as string;
      const added = await call('POST', '/realms/default/clients/jwt-1/keys', { pem: publicPem });
      assert.equal(added.statusCode, 200, added.body);
      assert.equal(added.json().client.jwks.keys.length, 2);
      const newKid = added.json().client.jwks.keys[1].kid as string;
      const removed = await call('DELETE', `/realms/default/clients/jwt-1/keys/${encodeURIComponent(key.kid)}`, undefined, { 'if-match': String(added.headers.etag) });
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual(removed.json().client.jwks.keys.map((k: { kid: string }) => k.kid), [newKid]);
      assert.equal((await call('DELETE', `/realms/default/clients/jwt-1/keys/${encodeURIComponent(newKid)}`)).statusCode, 409, 'never the last key');
    });

    it("checks a client's jwks_uri: keys found, or exactly why not", async () => {
      const key = generateTestKey('ES256');
      const jwks = createServer((req, res) => (req.url === '/good' ? res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] })) : res.writeHead(500).end()));
      await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(jwks.address() as { port: number }).port}`;
      try {
        await call('POST', '/realms/default/clients', { client_id: 'jwt-uri', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: `${base}/good` });
        const ok = await call('POST', '/realms/default/clients/jwt-uri/jwks-uri/check');
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal(ok.json().ok, true);
        assert.equal(ok.json().keys[0].kid, key.kid);
        const bad = await call('POST', '/realms/default/clients/jwt-uri/jwks-uri/check', { uri: `${base}/bad` });
        assert.equal(bad.json().ok, false);
        assert.match(bad.json().error, /500/);
      } finally {
        jwks.close();
      }
    });

    it('answers realm creation and deletion of a declared realm with a 4xx problem', async () => {
      const created = await call('POST', '/realms', { name: 'runtime-1' });
      assert.ok(created.statusCode === 201 || created.statusCode === 400, created.body);
      const del = await call('DELETE', '/realms/payments');
      assert.equal(del.statusCode, 409);
      assert.equal(del.json().type, 'urn:tessera:problem:refused');
    });

    it('refuses to revoke the only signing key of a realm (409)', async () => {
      const keys = (await call('GET', '/realms/default/keys')).json().keys as Array<{ kid: string; state: string }>;
      const active = keys.find((k) => k.state === 'active')!;
      const res = await call('POST', `/realms/default/keys/${active.kid}/revoke`);
      assert.equal(res.statusCode, 409);
    });

    it('lists recorded failures of a realm with reason and hint', async () => {
      assert.equal((await tokenFor(t, 'svc-a', 'wrong-secret')).statusCode, 401);
      const res = await call('GET', '/realms/default/failures?client_id=svc-a');
      assert.equal(res.statusCode, 200, res.body);
      const f = res.json().failures.find((x: { error: string }) => x.error === 'invalid_client');
      assert.ok(f, res.body);
      assert.equal(f.client_id, 'svc-a');
      assert.equal(typeof f.reason, 'string');
      assert.ok(f.hint.length > 0);
    });

    it('queries, verifies and exports the audit trail of these changes', async () => {
      const page = await call('GET', '/audit?realm=default&client_id=svc-a');
      assert.equal(page.statusCode, 200, page.body);
      const types = page.json().events.map((e: { type: string }) => e.type);
      assert.ok(types.includes('client.created') && types.includes('client.updated') && types.includes('client.secret_rotated'), types.join());
      const created = page.json().events.find((e: { type: string }) => e.type === 'client.created');
      assert.equal(created.actor.id, 'ops');
      assert.ok(!JSON.stringify(page.json()).includes(secret));
      const verify = await call('GET', '/audit/verify');
      assert.equal(verify.statusCode, 200);
      assert.equal(verify.json().ok, true);
      const exported = await call('GET', '/audit/export?realm=default');
      assert.equal(exported.statusCode, 200);
      assert.match(String(exported.headers['content-type']), /^application\/jsonl/);
      const lines = exported.body.trim().split('\n').map((l) => JSON.parse(l));
      assert.ok(lines.length >= page.json().events.length);
      assert.deepEqual(lines.map((e: { seq: number }) => e.seq), [...lines.map((e: { seq: number }) => e.seq)].sort((a, b) => a - b));
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
