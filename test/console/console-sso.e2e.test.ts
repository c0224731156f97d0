/**
 * Console single sign-on in a real browser: `oidc-provider` on loopback is the organisation's
 * OpenID Provider (its development login and consent pages), Tessera the relying party
 * (authorization code + PKCE through openid-client). A member of an allowed group signs in; an
 * account that is neither an allowed subject nor in an allowed group is refused and gets no session.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { createMemoryStorage } from '../../packages/server/src/storage/memory/index.ts';
import { createKek } from '../../packages/server/src/core/crypto/kek.ts';
import { freePort } from '../fixtures/ports.ts';

const root = new URL('../..', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Loaded through a non-literal specifier: oidc-provider ships no type declarations. */
async function loadProvider(): Promise<new (issuer: string, configuration: object) => { listen(port: number): Server }> {
  const specifier = 'oidc-provider';
  return ((await import(specifier)) as { default: never }).default;
}

const GROUPS: Record<string, string[]> = { alice: ['tessera-operators', 'staff'], mallory: ['staff'], carol: [] };

describe('console single sign-on with an OpenID Provider (chromium, oidc-provider)', { skip: existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}` }, () => {
  let t: TestServer;
  // Two instances of one cluster (shared storage and key-encryption key): the sign-in starts on
  // `starter`, and the provider redirects to `finisher`, as a load balancer may route it.
  let starter: TestServer;
  let finisher: TestServer;
  let op: Server;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    const b = spawnSync(process.execPath, [`${root}packages/server/console-ui/build.mjs`], { stdio: 'inherit' });
    assert.equal(b.status, 0);
    const [opPort, port, starterPort, finisherPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const opIssuer = `http://127.0.0.1:${opPort}`;
    const consoleUrl = `http://127.0.0.1:${port}`;
    const clusterCallback = `http://127.0.0.1:${finisherPort}/console/sso/callback`;
    const Provider = await loadProvider();
    const provider = new Provider(opIssuer, {
      clients: [{ client_id: 'tessera-console', client_secret: 'a-long-sso-client-secret-for-the-test', redirect_uris: [`${consoleUrl}/console/sso/callback`, clusterCallback], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
      pkce: { required: () => true },
      claims: { openid: ['sub'], email: ['email'], profile: ['name', 'groups'] },
      findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id, email: `${id}@example.com`, name: id, groups: GROUPS[id] ?? [] }) }),
      cookies: { keys: ['oidc-provider-cookie-key-for-the-console-sso-test'] },
    });
    op = provider.listen(opPort);
    await new Promise<void>((r) => (op.listening ? r() : op.once('listening', () => r())));
    t = await startTestServer({
      port,
      config: {
        realms: [{ name: 'default' }],
        console: {
          sso: {
            issuer: opIssuer,
            client_id: 'tessera-console',
            client_secret: 'a-long-sso-client-secret-for-the-test',
            redirect_uri: `${consoleUrl}/console/sso/callback`,
            allowed_subjects: ['carol'],
            allowed_groups: ['tessera-operators'],
          },
        },
      },
    });
    const shared = { storage: createMemoryStorage(), kek: createKek(randomBytes(32)) };
    const clusterConfig = {
      realms: [{ name: 'default' }],
      console: { sso: { issuer: opIssuer, client_id: 'tessera-console', client_secret: 'a-long-sso-client-secret-for-the-test', redirect_uri: clusterCallback, allowed_subjects: ['carol'] } },
    };
    starter = await startTestServer({ port: starterPort, ...shared, config: clusterConfig });
    finisher = await startTestServer({ port: finisherPort, ...shared, config: clusterConfig });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await t?.close();
    await starter?.close();
    await finisher?.close();
    await new Promise<void>((r) => (op ? op.close(() => r()) : r()));
    op?.closeAllConnections?.();
  });

  async function signInAs(login: string) {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${t.url}/console/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    // The provider's development login page, then its consent page.
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    return { context, page };
  }

  it('a member of an allowed group signs in by SSO (authorization code + PKCE) and reaches the admin API', async () => {
    const { context, page } = await signInAs('alice');
    await page.getByRole('heading', { name: 'Applications' }).waitFor();
    assert.match((await page.textContent('#who')) ?? '', /alice@example\.com/);
    assert.equal(new URL(page.url()).pathname, '/console/');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'tessera_console');
    assert.ok(session);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(cookies.find((c) => c.name === 'tessera_console_sso'), undefined, 'the SSO transaction cookie is cleared');
    const status = await page.evaluate(async () => (await fetch('/console/api/admin/realms')).status);
    assert.equal(status, 200);
    const audit = await t.server.storage.audit.list({ type: 'console.sign_in' });
    const signIn = audit.find((e) => e.actor.id === 'tessera-console:alice@example.com');
    assert.ok(signIn, 'the sign-in is in the audit trail');
    assert.equal(signIn.data.via, 'sso');
    assert.equal(signIn.data.sub, 'alice');
  });

  it('an account neither allowed by subject nor by group is refused and gets no session', async () => {
    const { context, page } = await signInAs('mallory');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.match((await page.locator('#sign-in-message').textContent()) ?? '', /not allowed/);
    assert.equal((await context.cookies()).find((c) => c.name === 'tessera_console'), undefined);
    const status = await page.evaluate(async () => (await fetch('/console/api/admin/realms')).status);
    assert.equal(status, 401);
  });

  it('an allowed subject signs in; a replayed callback is refused', async () => {
    const { page } = await signInAs('carol');
    await page.getByRole('heading', { name: 'Applications' }).waitFor();
    assert.match((await page.textContent('#who')) ?? '', /carol@example\.com/);
    // The callback URL with a code but without the browser's transaction: refused, no session.
    const res = await fetch(`${t.url}/console/sso/callback?code=stolen&state=whatever`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location') ?? '', /sso_error=failed/);
    assert.doesNotMatch(res.headers.get('set-cookie') ?? '', /tessera_console=[^;]/);
  });

  it('behind a load balancer: a sign-in started on one instance finishes on another, and its callback cannot be used again on any', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    let callback: { url: string; cookie: string } | undefined;
    const seen: Array<Promise<void>> = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(`${finisher.url}/console/sso/callback`)) return;
      seen.push(req.allHeaders().then((h) => void (callback = { url: req.url(), cookie: h['cookie'] ?? '' })));
    });
    await page.goto(`${starter.url}/console/sso/start`);
    await page.locator('input[name="login"]').fill('carol');
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { name: 'Applications' }).waitFor();
    assert.equal(new URL(page.url()).origin, finisher.url, 'signed in on the instance the provider redirected to');
    await Promise.all(seen);
    assert.ok(callback && /tessera_console_sso=v1\./.test(callback.cookie), 'the attempt travelled sealed in its cookie');
    // The same callback (code, state and transaction cookie) replayed on the instance that started it.
    const again = await fetch(callback.url.replace(finisher.url, starter.url), { redirect: 'manual', headers: { cookie: callback.cookie } });
    assert.equal(again.status, 303);
    assert.match(again.headers.get('location') ?? '', /sso_error=failed/);
    assert.doesNotMatch(again.headers.get('set-cookie') ?? '', /tessera_console=[^;]/);
    // An altered transaction cookie is refused too.
    const altered = callback.cookie.replace(/(tessera_console_sso=v1\.)(.)/, (_m, p: string, c: string) => p + (c === 'A' ? 'B' : 'A'));
    const forged = await fetch(callback.url, { redirect: 'manual', headers: { cookie: altered } });
    assert.match(forged.headers.get('location') ?? '', /sso_error=failed/);
  });
});
