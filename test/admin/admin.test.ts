/**
 * Admin operations (issue 9 core half; issue 13 items 6 and 7) on memory, SQLite and PostgreSQL:
 * config sync that never undoes operator actions, client operations with versions, secret
 * overlap, key upload, per-client not-before, key revocation that never leaves a realm unable to
 * sign, the audit chain (with SQL tampering), recorded failures and scheduled rotation.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../packages/server/src/core/config/index.ts';
import { createKek, type KeyEncryptionKey } from '../../packages/server/src/core/crypto/kek.ts';
import type { ChangeEvent, Storage } from '../../packages/server/src/core/ports/index.ts';
import { AuthorizationServer } from '../../packages/server/src/core/server.ts';
import { AdminError, OAuthError } from '../../packages/server/src/core/errors/index.ts';
import { importClientKeys } from '../../packages/server/src/core/clients/keys.ts';
import type { Actor } from '../../packages/server/src/core/admin/types.ts';
import { memoryBackend, postgresBackend, sqliteBackend, type Backend } from '../fixtures/backends.ts';
import { TestClock } from '../fixtures/server.ts';

const ACTOR: Actor = { id: 'admin-client', source: '192.0.2.7', requestId: 'req-1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function baseConfig(clients: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return {
    issuer: 'http://127.0.0.1:9',
    demo_client: false,
    throttle: { max_failures: 0 },
    clients: [{ client_id: 'rs', client_secret: 'rs-secret', may_introspect: true, scope: 'introspect' }, ...clients],
    ...extra,
  };
}

const basicAuth = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function token(server: AuthorizationServer, id: string, secret: string, realm = 'default'): Promise<string> {
  const r = await server.token({ realm: server.realm(realm)!, params: new Map([['grant_type', ['client_credentials']]]), authorization: basicAuth(id, secret), source: '198.51.100.1' });
  return r.access_token;
}

async function tokenFails(server: AuthorizationServer, id: string, secret: string): Promise<string> {
  try {
    await token(server, id, secret);
  } catch (err) {
    assert.ok(err instanceof OAuthError, String(err));
    return err.error;
  }
  assert.fail(`a token was issued to ${id}`);
}

async function active(server: AuthorizationServer, tok: string): Promise<boolean> {
  const r = await server.introspect({ realm: server.realm('default')!, params: new Map([['token', [tok]]]), authorization: basicAuth('rs', 'rs-secret') });
  return r.active;
}

async function adminError(p: Promise<unknown>, code: string): Promise<AdminError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AdminError, `expected AdminError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected AdminError ${code}`);
}

for (const [backendName, makeBackend] of [['memory', memoryBackend], ['sqlite', sqliteBackend], ['postgres', postgresBackend]] as const) {
  describe(`admin operations on ${backendName}`, () => {
    let backend: Backend;
    let kek: KeyEncryptionKey;
    let clock: TestClock;
    const servers: AuthorizationServer[] = [];
    const start = async (config: Record<string, unknown>, storage?: Storage) => {
      const s = await AuthorizationServer.create({ config: resolveConfig(config), storage: storage ?? (await backend.open()), kek, clock, failureLimits: { flushMs: 20 } });
      servers.push(s);
      return s;
    };
    beforeEach(() => {
      backend = makeBackend();
      kek = createKek(randomBytes(32));
      clock = new TestClock();
    });
    afterEach(async () => {
      for (const s of servers.splice(0)) s.close();
      await backend.cleanup();
    });

    // ---- issue 13 item 6: no token comes back to life -------------------------------------------

    describe('per-client not-before', () => {
      it('a client re-created with a deleted id never revives its predecessor tokens; its own tokens are active at once', async () => {
        const server = await start(baseConfig([]));
        const created = await server.admin.createClient(ACTOR, 'default', { client_id: 'app', scope: 'read' });
        const old = await token(server, 'app', created.client_secret!);
        assert.equal(await active(server, old), true);
        await server.admin.deleteClient(ACTOR, 'default', 'app');
        assert.equal(await active(server, old), false);
        const again = await server.admin.createClient(ACTOR, 'default', { client_id: 'app', scope: 'read' });
        assert.equal(await active(server, old), false, 'the old token must stay inactive');
        const fresh = await token(server, 'app', again.client_secret!);
        assert.equal(await active(server, fresh), true, 'a token of the new client is active in the same second');
        assert.ok(again.not_before !== undefined);
      });

      it('disable with revokeTokens then enable: old tokens stay inactive; without it they come back (documented)', async () => {
        const server = await start(baseConfig([]));
        const { client_secret } = await server.admin.createClient(ACTOR, 'default', { client_id: 'app', scope: 'read' });
        const t1 = await token(server, 'app', client_secret!);
        await server.admin.setClientDisabled(ACTOR, 'default', 'app', true);
        assert.equal(await active(server, t1), false);
        await server.admin.setClientDisabled(ACTOR, 'default', 'app', false);
        assert.equal(await active(server, t1), true, 'a plain disable is reversible');
        await server.admin.setClientDisabled(ACTOR, 'default', 'app', true, { revokeTokens: true });
        await server.admin.setClientDisabled(ACTOR, 'default', 'app', false);
        assert.equal(await active(server, t1), false);
        assert.equal(await active(server, await token(server, 'app', client_secret!)), true);
      });

      it('revokeClientTokens and rotation with revokeTokens make every earlier token inactive', async () => {
        const server = await start(baseConfig([]));
        const { client_secret } = await server.admin.createClient(ACTOR, 'default', { client_id: 'app', scope: 'read' });
        const t1 = await token(server, 'app', client_secret!);
        await server.admin.revokeClientTokens(ACTOR, 'default', 'app');
        assert.equal(await active(server, t1), false);
        const t2 = await token(server, 'app', client_secret!);
        assert.equal(await active(server, t2), true);
        clock.advance(2000);
        const rotated = await server.admin.rotateClientSecret(ACTOR, 'default', 'app', { graceSeconds: 0, revokeTokens: true });
        assert.equal(await active(server, t2), false);
        assert.equal(await tokenFails(server, 'app', client_secret!), 'invalid_client');
        assert.equal(await active(server, await token(server, 'app', rotated.client_secret)), true);
      });

      it('revokes one token by jti', async () => {
        const server = await start(baseConfig([]));
        const { client_secret } = await server.admin.createClient(ACTOR, 'default', { client_id: 'app', scope: 'read' });
        const t1 = await token(server, 'app', client_secret!);
        const t2 = await token(server, 'app', client_secret!);
        const jti = JSON.parse(Buffer.from(t1.split('.')[1]!, 'base64url').toString()).jti as string;
        await server.admin.revokeToken(ACTOR, 'default', jti);
        assert.equal(await active(server, t1), false);
        assert.equal(await active(server, t2), true);
        await adminError(server.admin.revokeToken(ACTOR, 'default', ''), 'invalid_request');
      });
    });

    // ---- issue 13 item 7 ---------------------------------------------------------------------------

    describe('signing keys', () => {
      it('revoking the active key while its successor is only pre-published is refused; promote activates the successor', async () => {
        const server = await start(baseConfig([{ client_id: 'app', client_secret: 'app-secret', scope: 'read' }]));
        const [first] = await server.admin.listKeys(ACTOR, 'default');
        await adminError(server.admin.revokeKey(ACTOR, 'default', first!.kid), 'refused');
        const next = await server.admin.rotateKeys(ACTOR, 'default');
        assert.equal(next.state, 'next');
        const refused = await adminError(server.admin.revokeKey(ACTOR, 'default', first!.kid), 'refused');
        assert.match(refused.message, /pre-published/);
        await token(server, 'app', 'app-secret'); // still signs
        await server.admin.revokeKey(ACTOR, 'default', first!.kid, { promoteSuccessor: true });
        const keys = await server.admin.listKeys(ACTOR, 'default');
        assert.deepEqual(keys.map((k) => [k.kid, k.state]), [[next.kid, 'active']]);
        const t = await token(server, 'app', 'app-secret');
        assert.equal(JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid, next.kid);
        await server.ready();
        const types = (await server.admin.listAudit(ACTOR, { type: 'key.*' })).events.map((e) => e.type);
        assert.deepEqual(types, ['key.rotated', 'key.revoked']);
      });

      it('readiness fails when a realm cannot sign', async () => {
        const server = await start(baseConfig([]));
        await server.ready();
        const [only] = await server.admin.listKeys(ACTOR, 'default');
        await server.keys.revoke('default', only!.kid); // behind the admin operation's back
        await assert.rejects(server.ready(), /default has no signing key/);
      });
    });

    // ---- §2 client operations --------------------------------------------------------------------

    describe('clients', () => {
      it('update by JSON Merge Patch with versions: a stale version is refused (precondition_failed)', async () => {
        const server = await start(baseConfig([]));
        const created = await server.admin.createClient(ACTOR, 'default', { client_id: 'app', scope: 'read write', client_name: 'App', default_scopes: 'read' });
        const v1 = created.version;
        const updated = await server.admin.updateClient(ACTOR, 'default', 'app', { client_name: null, scope: 'read write admin' }, { ifVersion: v1 });
        assert.equal(updated.client.client_name, undefined);
        assert.equal(updated.client.scope, 'read write admin');
        assert.equal(updated.client.default_scopes, 'read');
        assert.notEqual(updated.version, v1);
        await adminError(server.admin.updateClient(ACTOR, 'default', 'app', { client_name: 'late' }, { ifVersion: v1 }), 'precondition_failed');
        await adminError(server.admin.updateClient(ACTOR, 'default', 'app', { client_id: 'other' }), 'invalid_metadata');
        await adminError(server.admin.updateClient(ACTOR, 'default', 'app', { default_scopes: 'nope' }), 'invalid_metadata');
        await adminError(server.admin.updateClient(ACTOR, 'default', 'app', { unknown_field: 1 }), 'invalid_metadata');
        await adminError(server.admin.updateClient(ACTOR, 'default', 'app', [] as unknown as object), 'invalid_request');
        // The secret survives an update that does not name it.
        await token(server, 'app', created.client_secret!);
      });

      it('a merge patch with owners: null removes the owners (RFC 7396); one that does not name them keeps them', async () => {
        const server = await start(baseConfig([]));
        await server.admin.createClient(ACTOR, 'default', { client_id: 'owned', scope: 'read', owners: ['team-a', 'team-b'] });
        const renamed = await server.admin.updateClient(ACTOR, 'default', 'owned', { client_name: 'Owned' });
        assert.deepEqual(renamed.client.owners, ['team-a', 'team-b']);
        const cleared = await server.admin.updateClient(ACTOR, 'default', 'owned', { owners: null });
        assert.deepEqual(cleared.client.owners ?? [], []);
        assert.deepEqual((await server.admin.getClient(ACTOR, 'default', 'owned')).client.owners ?? [], []);
      });

      it('lists with cursor pagination and filters (text, method, disabled)', async () => {
        const server = await start(baseConfig([]));
        for (const id of ['alpha', 'beta', 'gamma', 'delta']) await server.admin.createClient(ACTOR, 'default', { client_id: id, scope: 'read', client_name: `The ${id}` });
        await server.admin.setClientDisabled(ACTOR, 'default', 'beta', true);
        const page1 = await server.admin.listClients(ACTOR, 'default', { limit: 2 });
        assert.deepEqual(page1.clients.map((c) => c.client.client_id), ['alpha', 'beta']);
        const page2 = await server.admin.listClients(ACTOR, 'default', { limit: 2, cursor: page1.next_cursor });
        assert.deepEqual(page2.clients.map((c) => c.client.client_id), ['delta', 'gamma']);
        const page3 = await server.admin.listClients(ACTOR, 'default', { limit: 2, cursor: page2.next_cursor });
        assert.deepEqual(page3.clients.map((c) => c.client.client_id), ['rs']);
        assert.equal(page3.next_cursor, undefined);
        assert.deepEqual((await server.admin.listClients(ACTOR, 'default', { text: 'THE G' })).clients.map((c) => c.client.client_id), ['gamma']);
        assert.deepEqual((await server.admin.listClients(ACTOR, 'default', { disabled: true })).clients.map((c) => c.client.client_id), ['beta']);
        assert.equal((await server.admin.listClients(ACTOR, 'default', { method: 'private_key_jwt' })).clients.length, 0);
        await adminError(server.admin.listClients(ACTOR, 'default', { limit: 0 }), 'invalid_request');
        await adminError(server.admin.listClients(ACTOR, 'nope'), 'not_found');
      });

      it('secret rotation with overlap: both secrets work until previous_secret_expires_at, then only the new one', async () => {
        const server = await start(baseConfig([]));
        const { client_secret: oldSecret } = await server.admin.createClient(ACTOR, 'default', { client_id: 'app', scope: 'read' });
        const rotated = await server.admin.rotateClientSecret(ACTOR, 'default', 'app', { graceSeconds: 60 });
        assert.equal(rotated.previous_secret_expires_at, Math.floor(clock.now() / 1000) + 60);
        await token(server, 'app', oldSecret!);
        await token(server, 'app', rotated.client_secret);
        // Another instance sees the overlap too (shared backends).
        if (backend.shared) {
          const other = await start(baseConfig([]));
          await token(other, 'app', oldSecret!);
        }
        clock.advance(61_000);
        assert.equal(await tokenFails(server, 'app', oldSecret!), 'invalid_client');
        await token(server, 'app', rotated.client_secret);
        const stored = await (await backend.open()).clients.get('default', 'app');
        assert.match(stored!.previousSecretHash!, /^sha256\$/, 'the previous secret is kept hashed');
        // Default grace: 24 h.
        const again = await server.admin.rotateClientSecret(ACTOR, 'default', 'app');
        assert.equal(again.previous_secret_expires_at, Math.floor(clock.now() / 1000) + 86400);
      });

      it('uploads public keys as JWK, JWKS, PEM and X.509 certificate (with x5c); refuses private material', async () => {
        const server = await start(baseConfig([]));
        const first = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        await server.admin.createClient(ACTOR, 'default', { client_id: 'pk', jwks: { keys: [{ ...first.publicKey.export({ format: 'jwk' }), kid: 'k1' }] } });
        const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        await server.admin.addClientKey(ACTOR, 'default', 'pk', pem.publicKey.export({ format: 'pem', type: 'spki' }) as string);
        const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        await server.admin.addClientKey(ACTOR, 'default', 'pk', { keys: [{ ...jwk.publicKey.export({ format: 'jwk' }), kid: 'k3' }] });
        // A self-signed certificate made with openssl.
        const dir = mkdtempSync(join(tmpdir(), 'tessera-cert-'));
        try {
          execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=pk'], { stdio: 'ignore' });
          const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
          const view = await server.admin.addClientKey(ACTOR, 'default', 'pk', certPem);
          const keys = (view.client.jwks as { keys: Array<Record<string, unknown>> }).keys;
          assert.equal(keys.length, 4);
          const certKey = keys[3]!;
          assert.ok(Array.isArray(certKey.x5c));
          const der = Buffer.from((certKey.x5c as string[])[0]!, 'base64');
          const [imported] = importClientKeys([certKey as never]);
          assert.equal(imported!.x5t, createHash('sha1').update(der).digest('base64url'), 'x5t lookup works');
          await adminError(server.admin.addClientKey(ACTOR, 'default', 'pk', readFileSync(join(dir, 'k.pem'), 'utf8')), 'invalid_key');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        const priv = await adminError(server.admin.addClientKey(ACTOR, 'default', 'pk', { ...(jwk.privateKey.export({ format: 'jwk' }) as object) }), 'invalid_key');
        assert.match(priv.message, /private key material \(d\)/);
        await adminError(server.admin.addClientKey(ACTOR, 'default', 'pk', { kty: 'oct', k: 'c2VjcmV0' }), 'invalid_key');
        await adminError(server.admin.addClientKey(ACTOR, 'default', 'pk', 'hello'), 'invalid_key');
        await adminError(server.admin.addClientKey(ACTOR, 'default', 'pk', { ...(pem.publicKey.export({ format: 'jwk' }) as object) }), 'conflict');
        await adminError(server.admin.addClientKey(ACTOR, 'default', 'rs', { keys: [] }), 'invalid_request');
        const removed = await server.admin.removeClientKey(ACTOR, 'default', 'pk', 'k1');
        assert.equal((removed.client.jwks as { keys: unknown[] }).keys.length, 3);
      });

      it('jwks_uri check reports precisely why a fetch failed', async () => {
        const server = await start(baseConfig([]));
        await server.admin.createClient(ACTOR, 'default', { client_id: 'remote', jwks_uri: 'http://127.0.0.1:9/jwks' });
        const result = await server.admin.checkJwksUri(ACTOR, 'default', 'remote');
        assert.equal(result.ok, false);
        assert.equal(result.reason, 'jwks_uri_fetch_failed');
        assert.ok(result.error && result.error.length > 0);
        assert.deepEqual(result.keys, []);
      });
    });

    // ---- §4 audit trail ------------------------------------------------------------------------

    describe('audit trail', () => {
      it('records admin changes with actor, source, request id and redacted before/after; the chain verifies; export is JSON lines', async () => {
        const server = await start(baseConfig([]));
        await server.admin.createClient(ACTOR, 'default', { client_id: 'app', scope: 'read', client_secret: 'a-chosen-secret-value' });
        await server.admin.updateClient(ACTOR, 'default', 'app', { client_secret: 'another-chosen-secret', scope: 'read write' });
        const page = await server.admin.listAudit(ACTOR, { client_id: 'app' });
        assert.deepEqual(page.events.map((e) => e.type), ['client.created', 'client.updated']);
        const upd = page.events[1]!;
        assert.deepEqual(upd.actor, { id: 'admin-client', source: '192.0.2.7', requestId: 'req-1' });
        assert.equal((upd.data.after as Record<string, unknown>).scope, 'read write');
        assert.ok(!JSON.stringify(page).includes('another-chosen-secret'), 'no secret in the audit trail');
        assert.equal((upd.data.patch as Record<string, unknown>).client_secret, '[redacted]');
        const verified = await server.admin.verifyAudit(ACTOR);
        assert.equal(verified.ok, true);
        const lines: string[] = [];
        for await (const line of server.admin.exportAudit(ACTOR, {})) lines.push(line);
        assert.ok(lines.length >= 2);
        assert.ok(lines.every((l) => l.endsWith('\n') && typeof JSON.parse(l).hash === 'string'));
      });

      it('an edited row is detected at exactly that row (SQL behind the adapter)', { skip: makeBackend === memoryBackend }, async () => {
        const server = await start(baseConfig([]));
        for (const id of ['a', 'b', 'c', 'd']) await server.admin.createClient(ACTOR, 'default', { client_id: id, scope: 'read' });
        const all = (await server.admin.listAudit(ACTOR)).events;
        assert.ok(all.length >= 4);
        const victim = all[2]!;
        await backend.exec(`UPDATE audit_events SET data = replace(data, 'admin-client', 'someone-else') WHERE seq = ${victim.seq}`);
        const result = await server.admin.verifyAudit(ACTOR);
        assert.equal(result.ok, false);
        assert.equal(result.first_broken_seq, victim.seq);
        assert.match(result.problem!, /altered/);
      });

      it('a deleted row is detected at the row after it', { skip: makeBackend === memoryBackend }, async () => {
        const server = await start(baseConfig([]));
        for (const id of ['a', 'b', 'c']) await server.admin.createClient(ACTOR, 'default', { client_id: id, scope: 'read' });
        const all = (await server.admin.listAudit(ACTOR)).events;
        await backend.exec(`DELETE FROM audit_events WHERE seq = ${all[1]!.seq}`);
        const result = await server.admin.verifyAudit(ACTOR);
        assert.equal(result.ok, false);
        assert.equal(result.first_broken_seq, all[2]!.seq);
      });

      it('three instances writing at once keep one valid chain', { skip: backendName === 'memory' }, async () => {
        const trio = [await start(baseConfig([])), await start(baseConfig([])), await start(baseConfig([]))];
        await Promise.all(trio.flatMap((s, i) => Array.from({ length: 8 }, (_, j) => s.admin.createClient({ id: `admin-${i}` }, 'default', { client_id: `c-${i}-${j}`, scope: 'read' }))));
        const verified = await trio[2]!.admin.verifyAudit(ACTOR);
        assert.equal(verified.ok, true, JSON.stringify(verified));
        const created = (await trio[1]!.admin.listAudit(ACTOR, { type: 'client.created', limit: 1000 })).events;
        assert.equal(created.filter((e) => e.actor.id.startsWith('admin-')).length, 24);
      });

      it('retention prunes old events behind an anchor; the chain still verifies', async () => {
        const server = await start(baseConfig([]));
        await server.admin.createClient(ACTOR, 'default', { client_id: 'old', scope: 'read' });
        clock.advance(91 * 86_400_000);
        await server.admin.createClient(ACTOR, 'default', { client_id: 'new', scope: 'read' });
        await server.purgeExpired();
        const events = (await server.admin.listAudit(ACTOR)).events;
        assert.ok(!events.some((e) => e.client_id === 'old'));
        const verified = await server.admin.verifyAudit(ACTOR);
        assert.equal(verified.ok, true);
        assert.ok(verified.anchor && verified.anchor.seq >= 1);
      });

      it('audit.retention_days sets the retention', async () => {
        const server = await start(baseConfig([], { audit: { retention_days: 7 } }));
        await server.admin.createClient(ACTOR, 'default', { client_id: 'week-old', scope: 'read' });
        clock.advance(8 * 86_400_000);
        await server.admin.createClient(ACTOR, 'default', { client_id: 'fresh', scope: 'read' });
        await server.purgeExpired();
        const events = (await server.admin.listAudit(ACTOR)).events;
        assert.ok(!events.some((e) => e.client_id === 'week-old'), 'older than 7 days: pruned');
        assert.ok(events.some((e) => e.client_id === 'fresh'));
        assert.equal((await server.admin.verifyAudit(ACTOR)).ok, true);
      });
    });

    // ---- §5 recorded failures -------------------------------------------------------------------

    describe('recorded authentication failures', () => {
      it('records refused requests with claimed client, source, method and error; repeats aggregate; another instance lists them', async () => {
        const server = await start(baseConfig([{ client_id: 'app', client_secret: 'app-secret', scope: 'read' }]));
        for (let i = 0; i < 3; i++) assert.equal(await tokenFails(server, 'app', 'wrong'), 'invalid_client');
        assert.equal(await tokenFails(server, 'ghost', 'x'), 'invalid_client');
        await server.failures.flush();
        const reader = backend.shared ? await start(baseConfig([{ client_id: 'app', client_secret: 'app-secret', scope: 'read' }])) : server;
        const forApp = await reader.admin.listFailures(ACTOR, 'default', { client_id: 'app' });
        assert.equal(forApp.length, 1);
        const f = forApp[0]!;
        assert.equal(f.count, 3);
        assert.equal(f.endpoint, 'token');
        assert.equal(f.method, 'client_secret_basic');
        assert.equal(f.source, '198.51.100.1');
        assert.equal(f.error, 'invalid_client');
        assert.equal(typeof f.reason, 'string');
        assert.ok(f.hint.length > 0);
        assert.ok(f.first_seen <= f.last_seen);
        const all = await reader.admin.listFailures(ACTOR, 'default');
        assert.ok(all.some((x) => x.client_id === 'ghost'));
      });

      it('caps distinct aggregates per interval: a flood of made-up ids is counted, not stored one by one', async () => {
        const server = await AuthorizationServer.create({ config: resolveConfig(baseConfig([])), storage: await backend.open(), kek, clock, failureLimits: { flushMs: 10_000, maxAggregates: 5 } });
        servers.push(server);
        for (let i = 0; i < 40; i++) await tokenFails(server, `made-up-${i}`, 'x');
        await server.failures.flush();
        const rows = await server.admin.listFailures(ACTOR, 'default', { limit: 500 });
        assert.equal(rows.length, 6);
        const dropped = rows.find((r) => r.reason === 'failures_dropped');
        assert.equal(dropped?.count, 35);
      });
    });

    // ---- §1 config sync -------------------------------------------------------------------------

    describe('config sync at start-up', { skip: makeBackend === memoryBackend }, () => {
      const declared = [{ client_id: 'app', client_secret: 'file-secret', scope: 'read' }];

      it('a restart with an unchanged config writes nothing, announces nothing, audits nothing', async () => {
        const first = await start(baseConfig(declared));
        const before = await first.storage.clients.list('default');
        const auditBefore = (await first.admin.listAudit(ACTOR)).events.length;
        const events: ChangeEvent[] = [];
        first.storage.changes.subscribe((e) => events.push(e));
        await sleep(100);
        const second = await start(baseConfig(declared));
        await sleep(300);
        assert.deepEqual(events.filter((e) => e.kind === 'client'), [], 'no client change announced');
        assert.deepEqual(await second.storage.clients.list('default'), before, 'no client rewritten');
        assert.equal((await second.admin.listAudit(ACTOR)).events.length, auditBefore);
        await token(second, 'app', 'file-secret');
      });

      it('runtime state survives restarts: disabled, rotated secret; the view shows declared and the drift', async () => {
        const first = await start(baseConfig(declared));
        await first.admin.setClientDisabled(ACTOR, 'default', 'app', true);
        const second = await start(baseConfig(declared));
        assert.equal(await tokenFails(second, 'app', 'file-secret'), 'invalid_client');
        const view = await second.admin.getClient(ACTOR, 'default', 'app');
        assert.equal(view.declared, true);
        assert.deepEqual(view.drift, ['disabled']);
        await second.admin.setClientDisabled(ACTOR, 'default', 'app', false);
        const rotated = await second.admin.rotateClientSecret(ACTOR, 'default', 'app', { graceSeconds: 0 });
        const third = await start(baseConfig(declared));
        assert.equal(await tokenFails(third, 'app', 'file-secret'), 'invalid_client');
        await token(third, 'app', rotated.client_secret);
        assert.deepEqual((await third.admin.getClient(ACTOR, 'default', 'app')).drift, ['client_secret']);
        const runtime = await third.admin.createClient(ACTOR, 'default', { client_id: 'runtime-only', scope: 'read' });
        assert.equal(runtime.declared, false);
      });

      it('a field changed in the file is applied (and audited) without undoing runtime state', async () => {
        const first = await start(baseConfig(declared));
        await first.admin.setClientDisabled(ACTOR, 'default', 'app', true);
        const second = await start(baseConfig([{ ...declared[0], scope: 'read write' }]));
        const view = await second.admin.getClient(ACTOR, 'default', 'app');
        assert.equal(view.client.scope, 'read write');
        assert.equal(view.client.disabled, true, 'the operator’s disable survives');
        const applied = (await second.admin.listAudit(ACTOR, { type: 'client.config_applied' })).events;
        assert.equal(applied.length, 1);
        assert.deepEqual(applied[0]!.data.fields, ['scope']);
        assert.equal(applied[0]!.actor.id, 'config');
        // A new secret in the file is applied too.
        await second.admin.setClientDisabled(ACTOR, 'default', 'app', false);
        const third = await start(baseConfig([{ ...declared[0], scope: 'read write', client_secret: 'new-file-secret' }]));
        await token(third, 'app', 'new-file-secret');
        assert.equal(await tokenFails(third, 'app', 'file-secret'), 'invalid_client');
      });

      it('scheduled rotation runs once per cluster, not once per instance', async () => {
        const config = baseConfig([], { keys: { rotate_every: '1d' } });
        const a = await start(config);
        const b = await start(config);
        const c = await start(config);
        assert.deepEqual(await Promise.all([a, b, c].map((s) => s.runScheduledRotation())), [[], [], []], 'nothing due yet');
        clock.advance(86_400_000 + 1000);
        const results = await Promise.all([a, b, c].map((s) => s.runScheduledRotation()));
        // Top-level keys.rotate_every applies to every realm, the implicit admin realm included:
        // each realm is rotated once, by one instance.
        assert.deepEqual(results.flat().sort(), ['admin', 'default'], `rotated: ${JSON.stringify(results)}`);
        const keys = await a.admin.listKeys(ACTOR, 'default');
        assert.equal(keys.length, 2);
        assert.equal((await c.admin.listAudit(ACTOR, { type: 'key.rotated' })).events.length, 2);
        // Later calls on every instance find nothing due.
        assert.equal((await Promise.all([a, b, c].map((s) => s.runScheduledRotation()))).flat().length, 0);
      });
    });
  });
}

