/**
 * Console sessions without a browser (inject, on a clock the test moves): the cookie is Secure under
 * https, a sign-in link expires after five minutes, sessions end when idle or too old, sign-out
 * needs the CSRF token, and the SSO routes answer 404 when SSO is not configured.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TestClock, type TestServer } from '../fixtures/server.ts';
import { createLoginLink, LOGIN_LINK_TTL_SECONDS } from '../../packages/server/src/http/console/index.ts';

describe('console sessions', () => {
  let t: TestServer;
  const clock = new TestClock();

  before(async () => {
    t = await startTestServer({ inject: true, clock, config: { issuer: 'https://as.example.com', console: { idle_timeout: 600, absolute_timeout: 3600 } } });
  });
  after(async () => t.close());

  async function signIn(subject = 'alice@example.com'): Promise<{ status: number; cookie: string; setCookie: string; csrf: string }> {
    const link = await createLoginLink(t.server, { subject });
    assert.ok(link.url.startsWith('https://as.example.com/console/login#'));
    const res = await t.app.inject({ method: 'POST', url: '/console/api/session', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ token: new URL(link.url).hash.slice(1) }) });
    const setCookie = String(res.headers['set-cookie'] ?? '');
    return { status: res.statusCode, cookie: setCookie.split(';')[0]!, setCookie, csrf: res.statusCode === 201 ? res.json().csrf : '' };
  }
  const session = (cookie: string) => t.app.inject({ method: 'GET', url: '/console/api/session', headers: { cookie } });

  it('under https the session cookie is Secure, HttpOnly, SameSite=Strict, limited to /console', async () => {
    const s = await signIn();
    assert.equal(s.status, 201);
    assert.match(s.setCookie, /^tessera_console=[\w-]{43}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=3600; Secure$/);
  });

  it('a sign-in link expires after five minutes', async () => {
    const link = await createLoginLink(t.server, { subject: 'late@example.com' });
    clock.advance((LOGIN_LINK_TTL_SECONDS + 1) * 1000);
    const res = await t.app.inject({ method: 'POST', url: '/console/api/session', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ token: new URL(link.url).hash.slice(1) }) });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  it('a session ends when idle longer than console.idle_timeout', async () => {
    const s = await signIn();
    clock.advance(500_000);
    assert.equal((await session(s.cookie)).statusCode, 200, 'still within the idle timeout, and this use refreshes it');
    clock.advance(500_000);
    assert.equal((await session(s.cookie)).statusCode, 200);
    clock.advance(601_000);
    assert.equal((await session(s.cookie)).statusCode, 401);
  });

  it('a session ends console.absolute_timeout after sign-in, however busy', async () => {
    const s = await signIn();
    for (let i = 0; i < 7; i++) {
      clock.advance(500_000);
      assert.equal((await session(s.cookie)).statusCode, 200);
    }
    clock.advance(200_000); // 3700 s after sign-in
    assert.equal((await session(s.cookie)).statusCode, 401);
  });

  it('sign-out needs the CSRF token and ends the session', async () => {
    const s = await signIn();
    const forged = await t.app.inject({ method: 'DELETE', url: '/console/api/session', headers: { cookie: s.cookie } });
    assert.equal(forged.statusCode, 403);
    assert.equal((await session(s.cookie)).statusCode, 200);
    const out = await t.app.inject({ method: 'DELETE', url: '/console/api/session', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    assert.equal(out.statusCode, 204);
    assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
    assert.equal((await session(s.cookie)).statusCode, 401);
  });

  it('without console.sso the sign-in page offers only the link, and the SSO routes answer 404', async () => {
    const opts = await t.app.inject({ method: 'GET', url: '/console/api/sign-in' });
    assert.deepEqual(opts.json(), { link: true, sso: false });
    assert.equal((await t.app.inject({ method: 'GET', url: '/console/sso/start' })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: '/console/sso/callback?code=x&state=y' })).statusCode, 404);
  });
});
