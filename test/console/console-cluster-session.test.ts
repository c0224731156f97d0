/**
 * Console sessions behind a load balancer (issue 10): two instances on one storage (PostgreSQL with
 * Redis, as a cluster runs; and SQLite, two processes on one file) and one clock the test moves. A
 * session signed in through A works on B, sign-out on A is refused on B at once (and the other way
 * round), the idle and absolute timeouts hold whichever instance is used, CSRF is still required on
 * B, a one-time link works once across both, and the store never holds the session id or the CSRF
 * token in clear.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestServer, TestClock, type TestServer } from '../fixtures/server.ts';
import { postgresBackend, sqliteBackend, type Backend } from '../fixtures/backends.ts';
import { createKek } from '../../packages/server/src/core/crypto/kek.ts';
import { createLoginLink, sessionIdHash } from '../../packages/server/src/http/console/index.ts';

const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

for (const [name, makeBackend] of [
  ['PostgreSQL + Redis', () => postgresBackend({ redis: REDIS_URL })],
  ['SQLite', sqliteBackend],
] as const) {
  describe(`console sessions on two instances sharing ${name}`, () => {
    const clock = new TestClock();
    const kek = createKek(randomBytes(32));
    const config = { issuer: 'https://as.example.com', console: { idle_timeout: 600, absolute_timeout: 3600 } };
    let backend: Backend;
    let A: TestServer;
    let B: TestServer;

    before(async () => {
      backend = makeBackend();
      A = await startTestServer({ inject: true, clock, kek, storage: await backend.open(), config });
      B = await startTestServer({ inject: true, clock, kek, storage: await backend.open(), config });
    });
    after(async () => {
      // the backend closes the storages it opened
      for (const t of [A, B]) {
        t.server.close();
        await t.app.close();
      }
      await backend.cleanup();
    });

    const linkToken = async (subject: string) => new URL((await createLoginLink(A.server, { subject })).url).hash.slice(1);
    const postLink = (t: TestServer, token: string) =>
      t.app.inject({ method: 'POST', url: '/console/api/session', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ token }) });
    async function signIn(t: TestServer, subject = 'alice@example.com'): Promise<{ id: string; cookie: string; csrf: string }> {
      const res = await postLink(t, await linkToken(subject));
      assert.equal(res.statusCode, 201, res.body);
      const cookie = String(res.headers['set-cookie']).split(';')[0]!;
      return { id: cookie.slice(cookie.indexOf('=') + 1), cookie, csrf: res.json().csrf as string };
    }
    const session = (t: TestServer, cookie: string) => t.app.inject({ method: 'GET', url: '/console/api/session', headers: { cookie } });
    const signOut = (t: TestServer, cookie: string, csrf?: string) =>
      t.app.inject({ method: 'DELETE', url: '/console/api/session', headers: { cookie, ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }) } });
    const createClient = (t: TestServer, cookie: string, csrf: string | undefined, clientId: string) =>
      t.app.inject({
        method: 'POST',
        url: '/console/api/admin/realms/default/clients',
        headers: { cookie, 'content-type': 'application/json', ...(csrf === undefined ? {} : { 'x-csrf-token': csrf }) },
        payload: JSON.stringify({ client_id: clientId, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'] }),
      });

    it('a session signed in through A is accepted by B: same person, same scopes, same CSRF token; the admin API works through B', async () => {
      const s = await signIn(A);
      const onB = await session(B, s.cookie);
      assert.equal(onB.statusCode, 200, onB.body);
      assert.equal(onB.json().subject, 'alice@example.com');
      assert.equal(onB.json().scope, 'tessera:admin');
      assert.equal(onB.json().csrf, s.csrf, 'every instance hands out the same CSRF token for a session');
      const list = await B.app.inject({ method: 'GET', url: '/console/api/admin/realms/default/clients', headers: { cookie: s.cookie } });
      assert.equal(list.statusCode, 200, list.body);
      const created = await createClient(B, s.cookie, s.csrf, `through-b-${randomBytes(3).toString('hex')}`);
      assert.equal(created.statusCode, 201, created.body);
      const audit = await A.app.inject({ method: 'GET', url: '/console/api/admin/audit?type=client.*', headers: { cookie: s.cookie } });
      assert.equal(audit.statusCode, 200, audit.body);
      assert.ok(
        (audit.json().events as Array<{ actor: { id: string } }>).some((e) => e.actor.id === 'tessera-console:alice@example.com'),
        'the change made through B is audited in the person’s name',
      );
    });

    it('CSRF is still required on B: a change without the token, or with another session’s, is refused', async () => {
      const s = await signIn(A);
      const other = await signIn(B, 'bob@example.com');
      assert.equal((await createClient(B, s.cookie, undefined, 'no-csrf')).statusCode, 403);
      assert.equal((await createClient(B, s.cookie, other.csrf, 'wrong-csrf')).statusCode, 403);
      assert.equal((await createClient(B, s.cookie, s.csrf.slice(0, -1) + (s.csrf.endsWith('A') ? 'B' : 'A'), 'bad-csrf')).statusCode, 403);
      assert.equal((await signOut(B, s.cookie)).statusCode, 403, 'sign-out without the CSRF token');
      assert.equal((await session(A, s.cookie)).statusCode, 200, 'the session survived the forged sign-out');
      const ok = await createClient(B, s.cookie, s.csrf, `csrf-ok-${randomBytes(3).toString('hex')}`);
      assert.equal(ok.statusCode, 201, ok.body);
    });

    it('sign-out on A is refused on B at once, and sign-out on B is refused on A', async () => {
      const s = await signIn(A);
      assert.equal((await session(B, s.cookie)).statusCode, 200);
      const out = await signOut(A, s.cookie, s.csrf);
      assert.equal(out.statusCode, 204);
      assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
      assert.equal((await session(B, s.cookie)).statusCode, 401);
      assert.equal((await B.app.inject({ method: 'GET', url: '/console/api/admin/realms/default/clients', headers: { cookie: s.cookie } })).statusCode, 401);
      assert.equal((await createClient(B, s.cookie, s.csrf, 'after-sign-out')).statusCode, 401);
      assert.equal((await session(A, s.cookie)).statusCode, 401);

      const t = await signIn(B);
      assert.equal((await session(A, t.cookie)).statusCode, 200);
      // A has minted (and cached) an admin token for this session: sign-out on B must still end it on A.
      assert.equal((await A.app.inject({ method: 'GET', url: '/console/api/admin/realms/default/clients', headers: { cookie: t.cookie } })).statusCode, 200);
      assert.equal((await signOut(B, t.cookie, t.csrf)).statusCode, 204);
      assert.equal((await A.app.inject({ method: 'GET', url: '/console/api/admin/realms/default/clients', headers: { cookie: t.cookie } })).statusCode, 401);
      assert.equal((await session(A, t.cookie)).statusCode, 401);
    });

    it('the idle timeout holds across instances: use on B keeps a session from A alive; unused longer than console.idle_timeout, refused on both', async () => {
      const s = await signIn(A);
      clock.advance(500_000);
      assert.equal((await session(B, s.cookie)).statusCode, 200, 'within the idle timeout; this use on B refreshes it for A too');
      clock.advance(500_000);
      assert.equal((await session(A, s.cookie)).statusCode, 200, '1000 s after sign-in but 500 s after the last use (on B)');
      clock.advance(601_000);
      assert.equal((await session(B, s.cookie)).statusCode, 401);
      assert.equal((await session(A, s.cookie)).statusCode, 401);
    });

    it('the absolute timeout holds across instances, however busy', async () => {
      const s = await signIn(B);
      for (let i = 0; i < 7; i++) {
        clock.advance(500_000);
        assert.equal((await session(i % 2 ? A : B, s.cookie)).statusCode, 200);
      }
      clock.advance(200_000); // 3700 s after sign-in
      assert.equal((await session(A, s.cookie)).statusCode, 401);
      assert.equal((await session(B, s.cookie)).statusCode, 401);
    });

    it('a one-time link works once across both instances', async () => {
      const token = await linkToken('carol@example.com');
      assert.equal((await postLink(B, token)).statusCode, 201);
      assert.equal((await postLink(A, token)).statusCode, 401);
      assert.equal((await postLink(B, token)).statusCode, 401);
    });

    it('an unknown or malformed cookie is refused on every instance', async () => {
      for (const t of [A, B]) {
        assert.equal((await session(t, `tessera_console=${randomBytes(32).toString('base64url')}`)).statusCode, 401);
        assert.equal((await session(t, 'tessera_console=../../etc')).statusCode, 401);
        assert.equal((await session(t, 'tessera_console=')).statusCode, 401);
      }
    });

    it('the activity chart counts the whole cluster: tokens issued and refusals through A appear in B\'s view once A has flushed', async () => {
      const secret = randomBytes(24).toString('base64url');
      await A.server.createClient('default', { client_id: 'busy', client_secret: secret, scope: 'read' });
      const token = (t: TestServer, s: string) =>
        t.app.inject({ method: 'POST', url: '/oauth2/token', headers: { authorization: `Basic ${Buffer.from(`busy:${s}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' });
      for (let i = 0; i < 3; i++) assert.equal((await token(A, secret)).statusCode, 200);
      assert.equal((await token(A, 'wrong')).statusCode, 401);
      assert.equal((await token(B, secret)).statusCode, 200);
      await A.server.activity.flush();
      await B.server.activity.flush();
      for (const t of [A, B]) {
        const realm = await t.server.admin.activity({ id: 'test' }, 'default', { minutes: 1 });
        assert.deepEqual([realm.issued, realm.failures], [[4], [1]], 'the realm, counted on both instances');
        const one = await t.server.admin.activity({ id: 'test' }, 'default', { client_id: 'busy', minutes: 1 });
        assert.deepEqual([one.issued, one.failures], [[4], [1]]);
      }
    });

    if (name === 'PostgreSQL + Redis') {
      it('the store holds the hash of the session id, never the id or the CSRF token; expired sessions are purged', async () => {
        const s = await signIn(A, 'dave@example.com');
        const rows = await (backend as ReturnType<typeof postgresBackend>).rows('console_sessions');
        const mine = rows.find((r) => r['id_hash'] === sessionIdHash(s.id));
        assert.ok(mine, 'stored under the hash of its id');
        const dump = JSON.stringify(rows);
        assert.ok(!dump.includes(s.id), 'the session id is not stored');
        assert.ok(!dump.includes(s.csrf), 'the CSRF token is not stored');
        clock.advance(3601_000);
        await B.server.purgeExpired();
        assert.equal((await (backend as ReturnType<typeof postgresBackend>).rows('console_sessions')).length, 0, 'every session of this suite is past a timeout');
      });
    }
  });
}
