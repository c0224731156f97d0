/**
 * Runtime realms (issue 9: "Realms: list, show, create and delete") through the admin API, on
 * memory, SQLite and PostgreSQL. On the shared backends a second instance on the same storage must
 * serve a realm created on the first within a second, and stop serving it once deleted; a realm
 * created again with the same name never revives its predecessor's clients or tokens.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { adminToken, createAdminClient } from '../fixtures/admin.ts';
import { basic, form } from '../fixtures/assertions.ts';
import { randomBytes } from 'node:crypto';
import { createKek } from '../../packages/server/src/core/crypto/kek.ts';
import { memoryBackend, postgresBackend, sqliteBackend, type Backend } from '../fixtures/backends.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(what: string, check: () => Promise<boolean>, ms = 1000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;

for (const [name, makeBackend] of [['memory', memoryBackend], ['sqlite', sqliteBackend], ['postgres', postgresBackend]] as const) {
  describe(`runtime realms on ${name}`, () => {
    let backend: Backend;
    let a: TestServer;
    let b: TestServer | undefined;
    let bearer: string;
    const config = { realms: [{ name: 'declared' }] };
    const kek = createKek(randomBytes(32));

    const call = (t: TestServer, method: string, url: string, payload?: unknown) =>
      t.app.inject({
        method: method as 'GET',
        url: `/admin/v1${url}`,
        headers: { authorization: `Bearer ${bearer}`, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
      });
    const tokenAt = (t: TestServer, realm: string, id: string, secret: string) =>
      t.app.inject({ method: 'POST', url: `/realms/${realm}/oauth2/token`, headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ grant_type: 'client_credentials' }) });
    const introspectAt = (t: TestServer, realm: string, token: string, id: string, secret: string) =>
      t.app.inject({ method: 'POST', url: `/realms/${realm}/oauth2/introspect`, headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ token }) });
    const createClient = async (t: TestServer, realm: string, body: Record<string, unknown>): Promise<string> => {
      const res = await call(t, 'POST', `/realms/${realm}/clients`, body);
      assert.equal(res.statusCode, 201, res.body);
      return res.json().client_secret as string;
    };

    before(async () => {
      backend = makeBackend();
      a = await startTestServer({ inject: true, kek, storage: await backend.open(), config });
      const admin = await createAdminClient(a.server);
      bearer = await adminToken(a.app, a.server, admin);
      if (backend.shared) b = await startTestServer({ inject: true, kek, storage: await backend.open(), config: { ...config, issuer: a.issuer } });
    });
    after(async () => {
      // the backend closes the storages it opened
      for (const t of [a, b]) if (t) {
        t.server.close();
        await t.app.close();
      }
      await backend.cleanup();
    });

    it('creates a realm that serves tokens, JWKS and metadata at once; listed as runtime; another instance serves it within a second', async () => {
      const created = await call(a, 'POST', '/realms', { name: 'partners', profile: 'standard', scopes: [{ name: 'read', description: 'Read things' }], tokens: { ttl: 300, signing_alg: 'ES256' } });
      assert.equal(created.statusCode, 201, created.body);
      assert.deepEqual(created.json(), { name: 'partners', issuer: `${a.issuer}/realms/partners`, source: 'runtime', client_count: 0, admin: false });
      assert.equal(created.headers.location, '/admin/v1/realms/partners');

      const list = (await call(a, 'GET', '/realms')).json().realms as Array<{ name: string; source: string }>;
      assert.deepEqual(list.map((r) => [r.name, r.source]).sort(), [['admin', 'config'], ['declared', 'config'], ['default', 'config'], ['partners', 'runtime']]);
      assert.equal((await call(a, 'GET', '/realms/partners')).json().source, 'runtime');
      assert.equal((await call(a, 'GET', '/realms/declared')).json().source, 'config');

      const secret = await createClient(a, 'partners', { client_id: 'p1', scope: 'read' });
      const res = await tokenAt(a, 'partners', 'p1', secret);
      assert.equal(res.statusCode, 200, res.body);
      const { access_token: tok, expires_in } = res.json();
      assert.equal(expires_in, 300);
      const [h, p, sig] = (tok as string).split('.') as [string, string, string];
      const header = decode(h);
      const claims = decode(p);
      assert.equal(claims.iss, `${a.issuer}/realms/partners`);
      assert.equal(header.alg, 'ES256');
      const jwks = await a.app.inject({ url: '/realms/partners/jwks' });
      assert.equal(jwks.statusCode, 200);
      const jwk = (jwks.json().keys as Array<{ kid: string }>).find((k) => k.kid === header.kid);
      assert.ok(jwk, 'the token is signed by a key of the realm JWKS');
      assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url')));
      // and not by one of the default realm's
      const defaultKids = ((await a.app.inject({ url: '/jwks' })).json().keys as Array<{ kid: string }>).map((k) => k.kid);
      assert.ok(!defaultKids.includes(header.kid as string));
      const meta = await a.app.inject({ url: '/.well-known/oauth-authorization-server/realms/partners' });
      assert.equal(meta.statusCode, 200, meta.body);
      assert.equal(meta.json().issuer, `${a.issuer}/realms/partners`);
      assert.equal(meta.json().jwks_uri, `${a.issuer}/realms/partners/jwks`);
      assert.ok((meta.json().scopes_supported as string[]).includes('read'));

      if (b) {
        const other = b;
        await eventually('the other instance issues tokens in the new realm', async () => (await tokenAt(other, 'partners', 'p1', secret)).statusCode === 200);
        assert.equal((await other.app.inject({ url: '/realms/partners/jwks' })).json().keys[0].kid, header.kid);
      }
    });

    it('refuses a name that exists (declared or runtime) with 409 and bad names or settings with 400, as problem documents', async () => {
      for (const name of ['partners', 'declared', 'default', 'admin']) {
        const res = await call(a, 'POST', '/realms', { name });
        assert.equal(res.statusCode, 409, `${name}: ${res.body}`);
        assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
      }
      const bad: unknown[] = [
        { name: 'Bad_Name' },
        { name: '-x' },
        { name: 'x'.repeat(64) },
        {},
        { name: 'ok1', tokens: { ttl: 7200, max_ttl: 60 } }, // ttl over max_ttl: the file's rule
        { name: 'ok2', tokens: { signing_alg: 'HS256' } },
        { name: 'ok3', clients: [{ client_id: 'c' }] }, // clients are registered through the API
        { name: 'ok4', unknown: true },
        { name: 'ok5', scopes: [{ name: 'a' }, { name: 'a' }] },
        { name: 'ok6', assertions: { signing_algs: ['none'] } },
        { name: 'ok7', profile: 'nope' },
      ];
      for (const body of bad) {
        const res = await call(a, 'POST', '/realms', body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
        assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
      }
      assert.equal((await call(a, 'GET', '/realms/ok1')).statusCode, 404, 'nothing was created');
    });

    it('refuses to delete a declared realm (409, declared in the configuration file); an unknown one is 404', async () => {
      for (const name of ['declared', 'default', 'admin']) {
        const res = await call(a, 'DELETE', `/realms/${name}`);
        assert.equal(res.statusCode, 409, res.body);
        assert.match(res.json().detail as string, /declared in the configuration file/);
      }
      assert.equal((await call(a, 'DELETE', '/realms/nosuch')).statusCode, 404);
    });

    it('deletes a runtime realm everywhere: tokens refused, introspection no longer answers; re-created, old clients and tokens stay dead', async () => {
      const secret = await createClient(a, 'partners', { client_id: 'p2', scope: 'read' });
      const rsSecret = await createClient(a, 'partners', { client_id: 'rs', may_introspect: true });
      const old = (await tokenAt(a, 'partners', 'p2', secret)).json().access_token as string;
      assert.equal((await introspectAt(a, 'partners', old, 'rs', rsSecret)).json().active, true);

      const del = await call(a, 'DELETE', '/realms/partners');
      assert.equal(del.statusCode, 204, del.body);
      assert.equal((await tokenAt(a, 'partners', 'p2', secret)).statusCode, 404);
      assert.equal((await introspectAt(a, 'partners', old, 'rs', rsSecret)).statusCode, 404);
      assert.equal((await a.app.inject({ url: '/realms/partners/jwks' })).statusCode, 404);
      assert.equal((await call(a, 'GET', '/realms/partners')).statusCode, 404);
      assert.ok(!((await call(a, 'GET', '/realms')).json().realms as Array<{ name: string }>).some((r) => r.name === 'partners'));
      if (b) {
        const other = b;
        await eventually('the other instance stops serving the deleted realm', async () => (await tokenAt(other, 'partners', 'p2', secret)).statusCode === 404);
      }

      // Created again with the same name: none of the old clients exist, old tokens are inactive.
      assert.equal((await call(a, 'POST', '/realms', { name: 'partners' })).statusCode, 201);
      assert.equal((await call(a, 'GET', '/realms/partners')).json().client_count, 0);
      assert.equal((await tokenAt(a, 'partners', 'p2', secret)).statusCode, 401, 'the old client is gone');
      const rs2 = await createClient(a, 'partners', { client_id: 'rs', may_introspect: true });
      const p2again = await createClient(a, 'partners', { client_id: 'p2', scope: 'read' });
      assert.equal((await introspectAt(a, 'partners', old, 'rs', rs2)).json().active, false, 'the old token stays inactive');
      const freshRes = await tokenAt(a, 'partners', 'p2', p2again);
      assert.equal(freshRes.statusCode, 200, freshRes.body);
      const fresh = freshRes.json().access_token as string;
      assert.equal((await introspectAt(a, 'partners', fresh, 'rs', rs2)).json().active, true);
      if (b) {
        const other = b;
        await eventually('the other instance serves the re-created realm', async () => (await tokenAt(other, 'partners', 'p2', p2again)).statusCode === 200);
        assert.equal((await introspectAt(other, 'partners', old, 'rs', rs2)).json().active, false);
      }

      const types = ((await call(a, 'GET', '/audit?type=realm.*')).json().events as Array<{ type: string; realm: string }>).map((e) => `${e.type}:${e.realm}`);
      assert.deepEqual(types, ['realm.created:partners', 'realm.deleted:partners', 'realm.created:partners']);
    });

    it('an instance started later serves the runtime realms from the start; config-file realms win over a stored one', { skip: name === 'memory' }, async () => {
      const secret = await createClient(a, 'partners', { client_id: 'p3', scope: 'read' });
      const later = await startTestServer({ inject: true, kek, storage: await backend.open(), config: { ...config, issuer: a.issuer } });
      try {
        assert.equal((await tokenAt(later, 'partners', 'p3', secret)).statusCode, 200);
      } finally {
        later.server.close();
        await later.app.close();
      }
      // The file now declares "partners" itself: the declared one is served and cannot be deleted.
      const declaring = await startTestServer({ inject: true, kek, storage: await backend.open(), config: { issuer: a.issuer, realms: [{ name: 'declared' }, { name: 'partners', tokens: { ttl: 60 } }] } });
      try {
        assert.equal(declaring.server.realm('partners')!.tokens.ttlSeconds, 60);
        const admin = await createAdminClient(declaring.server, 'ops2');
        const token = await adminToken(declaring.app, declaring.server, admin);
        const res = await declaring.app.inject({ method: 'DELETE', url: '/admin/v1/realms/partners', headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.statusCode, 409);
        const shown = await declaring.app.inject({ url: '/admin/v1/realms/partners', headers: { authorization: `Bearer ${token}` } });
        assert.equal(shown.json().source, 'config');
      } finally {
        declaring.server.close();
        await declaring.app.close();
      }
    });
  });
}
