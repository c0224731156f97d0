/** Export / import: moving a deployment between backends keeps clients, keys and revocations. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from './config/index.ts';
import { createKek } from './crypto/kek.ts';
import { AuthorizationServer } from './server.ts';
import { createMemoryStorage } from '../storage/memory/index.ts';
import { createSqliteStorage } from '../storage/sqlite/index.ts';
import { assertionClaims, basic, JWT_BEARER, signAssertion } from '../../../../test/fixtures/assertions.ts';
import type { RawParams } from './params.ts';

const ISSUER = 'https://as.example.com';
const HS = 'k'.repeat(64);
const config = resolveConfig({ issuer: ISSUER, demo_client: false, realms: [{ name: 'acme' }] });
const params = (o: Record<string, string>): RawParams => new Map(Object.entries(o).map(([k, v]) => [k, [v]]));

async function source() {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-transfer-'));
  const storage = createSqliteStorage({ path: join(dir, 'a.db') });
  const kek = createKek(randomBytes(32));
  const server = await AuthorizationServer.create({ config, storage, kek });
  const basicClient = await server.createClient('default', { client_id: 'basic', scope: 'read' });
  await server.createClient('default', { client_id: 'hs', token_endpoint_auth_method: 'client_secret_jwt', client_secret: HS, scope: 'read' });
  await server.createClient('acme', { client_id: 'acme-client', client_secret: 'chosen secret', scope: 'x', may_introspect: true });
  const realm = server.realm('default')!;
  const token = (await server.token({ realm, params: params({ grant_type: 'client_credentials' }), authorization: basic('basic', basicClient.client_secret!) })).access_token;
  const kept = (await server.token({ realm, params: params({ grant_type: 'client_credentials' }), authorization: basic('basic', basicClient.client_secret!) })).access_token;
  await server.revoke({ realm, params: params({ token }), authorization: basic('basic', basicClient.client_secret!) });
  return { server, storage, kek, secret: basicClient.client_secret!, token, kept, cleanup: async () => { await storage.close(); rmSync(dir, { recursive: true, force: true }); } };
}

async function checkTarget(target: AuthorizationServer, src: Awaited<ReturnType<typeof source>>) {
  const realm = target.realm('default')!;
  const ok = await target.token({ realm, params: params({ grant_type: 'client_credentials' }), authorization: basic('basic', src.secret) });
  assert.equal(ok.token_type, 'Bearer');
  const hs = await target.token({ realm, params: params({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: signAssertion({ alg: 'HS256' }, assertionClaims('hs', ISSUER), HS) }), authorization: undefined });
  assert.equal(hs.scope, 'read');
  const acme = target.realm('acme')!;
  const ok2 = await target.token({ realm: acme, params: params({ grant_type: 'client_credentials' }), authorization: basic('acme-client', 'chosen secret') });
  assert.equal(ok2.scope, 'x');
  assert.deepEqual(target.jwks('default'), src.server.jwks('default'));
  // The same keys verify tokens issued before the move; the revocation came along.
  await target.createClient('default', { client_id: 'rs', client_secret: 'rs-secret', may_introspect: true });
  const intro = (t: string) => target.introspect({ realm, params: params({ token: t }), authorization: basic('rs', 'rs-secret') });
  assert.equal((await intro(src.kept)).active, true);
  assert.deepEqual(await intro(src.token), { active: false });
}

describe('export / import', () => {
  it('round-trips into another backend sharing the KEK, with no secret in clear', async () => {
    const src = await source();
    try {
      const doc = await src.server.exportData();
      const text = JSON.stringify(doc);
      assert.equal(doc.containsSecrets, false);
      assert.ok(!text.includes(src.secret) && !text.includes(HS) && !text.includes('chosen secret'));
      assert.ok(!text.includes('"d":'), 'no private JWK members');
      const storage = createMemoryStorage();
      const target = await AuthorizationServer.create({ config, storage, kek: src.kek, bootstrap: false });
      assert.deepEqual(await target.importData(JSON.parse(text)), [
        { realm: 'default', clients: 2, keys: 1, revocations: 1 },
        { realm: 'acme', clients: 1, keys: 1, revocations: 0 },
        { realm: 'admin', clients: 0, keys: 1, revocations: 0 }, // the admin API's realm is always there
      ]);
      await checkTarget(target, src);
    } finally {
      await src.cleanup();
    }
  });

  it('into a deployment with another KEK: refused without --include-secrets, works with it', async () => {
    const src = await source();
    try {
      const storage = createMemoryStorage();
      const target = await AuthorizationServer.create({ config, storage, kek: createKek(randomBytes(32)), bootstrap: false });
      await assert.rejects(target.importData(await src.server.exportData()), /encrypted with another key-encryption key/);
      const doc = await src.server.exportData({ includeSecrets: true });
      assert.equal(doc.containsSecrets, true);
      assert.ok(JSON.stringify(doc).includes(Buffer.from(HS).toString('base64')));
      assert.ok(!JSON.stringify(doc).includes(src.secret), 'hashed secrets stay hashes');
      await target.importData(JSON.parse(JSON.stringify(doc)));
      await checkTarget(target, src);
    } finally {
      await src.cleanup();
    }
  });

  it('refuses documents that are not exports and realms not configured', async () => {
    const storage = createMemoryStorage();
    const target = await AuthorizationServer.create({ config, storage, kek: createKek(randomBytes(32)) });
    await assert.rejects(target.importData({ hello: 1 }), /not a tessera-export/);
    await assert.rejects(target.importData({ format: 'tessera-export', version: 1, realms: [{ name: 'nope', clients: [], keys: [], revocations: [] }] }), /realm nope is not configured/);
  });
});
