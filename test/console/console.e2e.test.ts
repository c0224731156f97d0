/**
 * The web console in a real browser (playwright-core + Debian's chromium): sign-in by a one-time
 * link, registering an application through the form, a token with curl using the secret the page
 * showed, a wrong audience found in the failure explorer, secret rotation with overlap, disabling,
 * CSP and cookie attributes, and axe-core on every page.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { createLoginLink } from '../../packages/server/src/http/console/index.ts';

/** The pictures in README.md and docs/console.md are rewritten only when asked (they change on every run). */
const SCREENSHOTS = process.env.TESSERA_SCREENSHOTS === '1';

const root = new URL('../..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The real curl binary, run asynchronously: the server under test lives in this process, so a
 * synchronous spawn would block the event loop that has to answer curl (a deadlock).
 */
function curlToken(tokenEndpoint: string, clientId: string, secret: string, extra: string[] = []): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '--max-time', '20', '-w', '\n%{http_code}', '-u', `${clientId}:${secret}`, tokenEndpoint, '-d', 'grant_type=client_credentials', ...extra], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${err.message} ${stderr}`));
      const i = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(i + 1)), body: JSON.parse(stdout.slice(0, i)) });
    });
  });
}

describe('web console (chromium)', { skip: existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}` }, () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let tokenEndpoint: string;
  const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

  async function axeCheck(name: string) {
    await page.evaluate(axeSource + ';0');
    const result = await page.evaluate(async () => (globalThis as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run());
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id} (${v.impact})`), [], `axe on ${name}`);
  }

  before(async () => {
    // Always rebuilt: a stale bundle must never be what the tests see.
    const b = spawnSync(process.execPath, [`${root}packages/server/console-ui/build.mjs`], { stdio: 'inherit' });
    assert.equal(b.status, 0);
    t = await startTestServer({ config: { realms: [{ name: 'default' }], jwks_fetch: { allow: ['127.0.0.1'] } } }); // the JWKS URL test serves its key set on loopback
    tokenEndpoint = `${t.url}/oauth2/token`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.setDefaultTimeout(15_000);
    page.on('dialog', (d) => void d.accept());
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('without a session shows how to sign in; the page carries a strict CSP', async () => {
    const res = await page.goto(`${t.url}/console/`);
    const csp = res!.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.match(await page.textContent('main') ?? '', /tessera console login/);
    const api = await fetch(`${t.url}/console/api/admin/realms`);
    assert.equal(api.status, 401);
    await axeCheck('sign-in');
  });

  it('signs in with a one-time link (HttpOnly SameSite=Strict cookie); the link works once', async () => {
    const link = await createLoginLink(t.server, { subject: 'alice@example.com' });
    await page.goto(link.url);
    await page.getByRole('heading', { name: 'Applications' }).waitFor();
    assert.match(await page.textContent('#who') ?? '', /alice@example.com/);
    const cookies = await page.context().cookies();
    const c = cookies.find((x) => x.name === 'tessera_console');
    assert.ok(c);
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(page.url().includes('#ey'), false, 'the link token is removed from the address bar');
    const token = new URL(link.url).hash.slice(1);
    const again = await fetch(`${t.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    assert.equal(again.status, 401);
    const forged = await fetch(`${t.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: token.slice(0, -4) + 'AAAA' }) });
    assert.equal(forged.status, 401);
    await axeCheck('applications');
  });

  it('refuses a change without the CSRF token', async () => {
    const cookie = (await page.context().cookies()).find((x) => x.name === 'tessera_console')!;
    const res = await fetch(`${t.url}/console/api/admin/realms/default/clients`, { method: 'POST', headers: { cookie: `tessera_console=${cookie.value}`, 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'sneaky' }) });
    assert.equal(res.status, 403);
    assert.equal(await t.server.storage.clients.get('default', 'sneaky'), undefined);
  });

  let secret = '';
  it('registers an application through the form; curl gets a token with the secret the page showed', async () => {
    await page.getByRole('link', { name: '+ Register an application' }).click();
    await page.getByRole('heading', { name: 'Register an application' }).waitFor();
    await axeCheck('register');
    await page.getByLabel('Name').fill('Billing service');
    await page.getByLabel('Owners').fill('billing-team@example.com');
    await page.getByLabel('Client id').fill('billing');
    await page.getByLabel('Scopes').fill('billing:read billing:write');
    await page.getByLabel('Token lifetime (seconds)').fill('600');
    await page.getByLabel('Audiences (resources)').fill('https://api.example/billing');
    // A pasted private key is refused with a warning and never sent.
    await page.getByLabel('Authentication method').selectOption('private_key_jwt');
    await page.getByLabel('Public key: PEM, JWK, JWK Set or X.509 certificate').fill('-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----');
    await page.getByRole('button', { name: 'Register' }).click();
    assert.match(await page.textContent('#key-warning') ?? '', /PRIVATE key/);
    assert.equal(await t.server.storage.clients.get('default', 'billing'), undefined);
    await page.getByLabel('Public key: PEM, JWK, JWK Set or X.509 certificate').fill('');
    await page.getByLabel('Authentication method').selectOption('client_secret_basic');
    await page.getByRole('button', { name: 'Register' }).click();
    secret = (await page.locator('#new-secret').textContent())!.trim();
    assert.ok(secret.length >= 20);
    const stored = await t.server.storage.clients.get('default', 'billing');
    assert.ok(stored);
    assert.notEqual(JSON.stringify(stored).includes(secret), true, 'the secret is stored hashed');
    const ok = await curlToken(tokenEndpoint, 'billing', secret);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(typeof ok.body.access_token, 'string');
  });

  it('registers private_key_jwt applications: a pasted PEM public key (recognised before sending), a JWKS URL checked live', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'partner-key-1', alg: 'ES256', use: 'sig' };
    await page.goto(`${t.url}/console/#/apps/new`);
    await page.getByRole('heading', { name: 'Register an application' }).waitFor();
    await page.getByLabel('Name').fill('Partner A');
    await page.getByLabel('Client id').fill('partner-a');
    await page.getByLabel('Scopes').fill('billing:read');
    await page.getByLabel('Authentication method').selectOption('private_key_jwt');
    const keyField = page.getByLabel('Public key: PEM, JWK, JWK Set or X.509 certificate');
    await keyField.fill(pem);
    await keyField.blur();
    await page.locator('#key-preview', { hasText: 'Public key recognised' }).waitFor();
    assert.match((await page.locator('#key-preview').textContent()) ?? '', /EC P-256/);
    await page.getByRole('button', { name: 'Register' }).click();
    await page.locator('h2', { hasText: 'Registered partner-a' }).waitFor();
    assert.equal(await page.locator('#new-secret').count(), 0, 'no secret for a key-based client');
    assert.doesNotMatch((await page.textContent('main')) ?? '', /null|undefined/);
    const stored = await t.server.storage.clients.get('default', 'partner-a');
    assert.equal(stored?.tokenEndpointAuthMethod, 'private_key_jwt');
    assert.equal(stored?.jwks?.keys.length, 1);

    // A JWKS URL, checked live by the server as soon as the client is registered.
    const jwksServer = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    try {
      const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
      await page.goto(`${t.url}/console/#/apps`);
      await page.getByRole('link', { name: '+ Register an application' }).click();
      await page.getByRole('heading', { name: 'Register an application' }).waitFor();
      await page.getByLabel('Name').fill('Partner B');
      await page.getByLabel('Client id').fill('partner-b');
      await page.getByLabel('Scopes').fill('billing:read');
      await page.getByLabel('Authentication method').selectOption('private_key_jwt');
      await page.getByLabel('or a JWKS URL').fill(jwksUrl);
      await page.getByRole('button', { name: 'Register' }).click();
      const check = page.locator('#jwks-check');
      await check.waitFor().catch(async (err) => assert.fail(`${err}: ${await page.textContent('main')}`));
      assert.match((await check.textContent()) ?? '', /1 key\(s\) found.*kid partner-key-1 · EC P-256 · alg ES256/);
      // On the application page the check runs again on demand; the exact error when the URL fails.
      jwksServer.close();
      jwksServer.closeAllConnections();
      await page.goto(`${t.url}/console/#/apps/partner-b`);
      await page.getByRole('button', { name: 'Check the JWKS URL now' }).click();
      await page.locator('#jwks-check', { hasText: 'check failed' }).waitFor();
      assert.match((await page.locator('#jwks-check').textContent()) ?? '', /jwks_uri|fetch|ECONNREFUSED|connect/i);
    } finally {
      if (jwksServer.listening) jwksServer.close();
    }

    // On the application page of partner-a: a pasted private key is refused and never sent.
    await page.goto(`${t.url}/console/#/apps/partner-a`);
    await page.getByRole('heading', { name: /partner-a/ }).waitFor();
    await axeCheck('application (private_key_jwt)');
    const sent: string[] = [];
    const onRequest = (r: { method(): string; url(): string; postData(): string | null }) => { if (r.method() !== 'GET') sent.push(r.postData() ?? ''); };
    page.on('request', onRequest);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await page.getByLabel('Add a public key').fill(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    await page.getByRole('button', { name: 'Add key' }).click();
    assert.match((await page.locator('#app-key-warning').textContent()) ?? '', /PRIVATE key/);
    await page.getByLabel('Add a public key').fill(JSON.stringify({ ...privateKey.export({ format: 'jwk' }), kid: 'oops' }));
    await page.getByRole('button', { name: 'Add key' }).click();
    assert.match((await page.locator('#app-key-warning').textContent()) ?? '', /PRIVATE key/);
    page.off('request', onRequest);
    assert.deepEqual(sent, [], 'nothing was sent');
    assert.equal((await t.server.storage.clients.get('default', 'partner-a'))?.jwks?.keys.length, 1);
    // A second public key (rollover) is added, and then either can be removed.
    await page.getByLabel('Add a public key').fill(JSON.stringify(jwk));
    await page.getByRole('button', { name: 'Add key' }).click();
    await page.locator('#app-keys li', { hasText: 'partner-key-1' }).waitFor();
    assert.equal(await page.locator('#app-keys li').count(), 2);
  });

  it('a request with a wrong audience shows in the failure explorer: reason in words, expected vs received, grouped with a count, charts', async () => {
    const wrongSecret = await curlToken(tokenEndpoint, 'billing', 'not-the-secret');
    assert.equal(wrongSecret.status, 401);
    await new Promise((r) => setTimeout(r, 1100)); // a later second: the order below is by time
    for (let i = 0; i < 2; i++) {
      const bad = await curlToken(tokenEndpoint, 'billing', secret, ['-d', 'resource=https://wrong.example/api']);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error, 'invalid_target');
    }
    await page.goto(`${t.url}/console/#/failures?client_id=billing`);
    await page.getByRole('heading', { name: 'Failure explorer' }).waitFor();
    const row = page.locator('#failures tbody tr', { hasText: 'https://wrong.example/api' });
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    assert.match(text, /The requested audience \(resource\) is not allowed for this client/);
    assert.match(text, /Expectedhttps:\/\/api\.example\/billing/);
    assert.match(text, /Receivedhttps:\/\/wrong\.example\/api/);
    assert.match(text, /allowed_resources/, 'what to change');
    assert.equal((await row.locator('td.count').textContent())?.trim(), '2', 'the two refusals are one row with a count');
    // Newest first: the audience refusals, then the wrong secret.
    const firsts = await page.locator('#failures tbody tr td:nth-child(4) strong').allTextContents();
    assert.equal(firsts.length, 2, firsts.join(' | '));
    assert.match(firsts[0]!, /audience/);
    const realmChart = (await page.locator('#chart-realm title').first().textContent()) ?? '';
    assert.match(realmChart, /Realm default: [1-9]\d* tokens? issued and [2-9]\d* failures/);
    const appChart = (await page.locator('#chart-client title').first().textContent()) ?? '';
    assert.match(appChart, /Application billing: 1 token issued and 3 failures/);
    // Filter by time: the last 15 minutes still show them.
    await page.getByLabel('Time').selectOption('900');
    const filtered = page.waitForResponse((r) => r.url().includes('/failures?') && r.url().includes('since='));
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/window=900/);
    await filtered;
    await page.locator('#failures caption').waitFor();
    await row.waitFor();
    await axeCheck('failures');
    if (SCREENSHOTS) await page.screenshot({ path: `${root}docs/images/console-failures.png`, fullPage: true });
  });

  it('the "try it" curl fits the method: Basic for client_secret_basic, an assertion for client_secret_jwt', async () => {
    await t.server.createClient('default', { client_id: 'hs-app', token_endpoint_auth_method: 'client_secret_jwt', scope: 'read' });
    await page.goto(`${t.url}/console/#/apps/hs-app`);
    await page.getByRole('heading', { name: /hs-app/ }).waitFor();
    const curl = (await page.locator('#try-curl').textContent()) ?? '';
    assert.match(curl, /client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer/);
    assert.doesNotMatch(curl, /-u '/, 'no Basic header for a JWT method');
    assert.match((await page.locator('.hint', { hasText: 'ASSERTION' }).textContent()) ?? '', /MACed with the client secret/);
    await page.goto(`${t.url}/console/#/apps/billing`);
    await page.getByRole('heading', { name: /billing/ }).waitFor();
    assert.match((await page.locator('#try-curl').textContent()) ?? '', /-u 'billing:'/);
  });

  it('rotates the secret with an overlap: both work until the grace ends, then only the new one', async () => {
    await page.goto(`${t.url}/console/#/apps/billing`);
    await page.getByRole('heading', { name: /billing/ }).waitFor();
    await axeCheck('application');
    await page.getByLabel('Old secret keeps working for (seconds)').fill('3');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const fresh = (await page.locator('#rotated-secret').textContent())!.trim();
    assert.match(await page.locator('#old-until').textContent() ?? '', /works until \d{4}-\d\d-\d\d/);
    assert.equal((await curlToken(tokenEndpoint, 'billing', fresh)).status, 200);
    assert.equal((await curlToken(tokenEndpoint, 'billing', secret)).status, 200);
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal((await curlToken(tokenEndpoint, 'billing', secret)).status, 401);
    assert.equal((await curlToken(tokenEndpoint, 'billing', fresh)).status, 200);
    secret = fresh;
    // The secret shown once is masked in the picture kept in the docs.
    if (SCREENSHOTS) await page.screenshot({ path: `${root}docs/images/console-application.png`, fullPage: true, mask: [page.locator('#rotated-secret')], maskColor: '#c8c8d8' });
  });

  it('disables the client (with confirmation); its token requests are refused', async () => {
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.locator('#app-status', { hasText: 'disabled' }).waitFor();
    const refused = await curlToken(tokenEndpoint, 'billing', secret);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_client');
  });

  it('signing keys: state, rotate now, the JWKS as published', async () => {
    await page.goto(`${t.url}/console/#/keys`);
    await page.getByRole('heading', { name: 'Signing keys' }).waitFor();
    await axeCheck('Signing keys');
    const before = await page.locator('#keys tbody tr').count();
    assert.match((await page.locator('#keys').textContent()) ?? '', /active \(signs tokens\)/);
    const published = JSON.parse((await page.locator('#jwks').textContent())!);
    const jwksUri = (await page.locator('#jwks-uri').textContent())!;
    assert.deepEqual(published, await (await fetch(jwksUri)).json(), 'the page shows what the jwks_uri serves');
    await page.getByRole('button', { name: 'Rotate now' }).click();
    await page.locator('#keys-result', { hasText: 'published' }).waitFor();
    assert.equal(await page.locator('#keys tbody tr').count(), before + 1);
    assert.match((await page.locator('#keys').textContent()) ?? '', /pre-published/);
    const after = JSON.parse((await page.locator('#jwks').textContent())!);
    assert.equal(after.keys.length, published.keys.length + 1, 'the new key is published before it signs');
  });

  it('realms: list and create; audit log with the chain verified and a type filter', async () => {
    await page.goto(`${t.url}/console/#/realms`);
    await page.getByRole('heading', { name: 'Realms' }).waitFor();
    await axeCheck('Realms');
    await page.getByLabel('Name', { exact: true }).fill('partners');
    await page.getByRole('button', { name: 'Create realm' }).click();
    // The admin API's answer is shown: created (then listed), or its refusal in words.
    const outcome = page.locator('#realms-result');
    await outcome.locator('text=/Realm partners created|runtime realms are not supported/').waitFor();
    if ((await outcome.textContent())!.includes('created')) assert.match((await page.locator('#realms').textContent()) ?? '', /partners.*created at run time/);
    else assert.equal(await outcome.getByRole('alert').count(), 1);

    await page.goto(`${t.url}/console/#/audit`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await axeCheck('Audit log');
    assert.match((await page.locator('#chain').textContent()) ?? '', /Chain verified: \d+ events, intact/);
    const all = (await page.locator('#audit tbody').textContent()) ?? '';
    assert.ok(all.includes('client.created') && all.includes('key.rotated') && all.includes('console.sign_in'), all.slice(0, 500));
    assert.match(all, /tessera-console:alice@example\.com/, 'changes name the person signed in');
    await page.getByLabel('Event type').fill('client.*');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/type=client/);
    // The filtered table replaces the full one once the query answers: wait for that, not for any row.
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('#audit tbody tr td:nth-child(3)')];
      return cells.length > 0 && cells.every((c) => c.textContent!.startsWith('client.'));
    });
    const types = await page.locator('#audit tbody tr td:nth-child(3)').allTextContents();
    assert.ok(types.length > 0 && types.every((x) => x.startsWith('client.')), types.join());
  });

  it('keyboard only: reach the register form from the navigation, register with a generated client id', async () => {
    await page.goto(`${t.url}/console/#/apps`);
    await page.getByRole('heading', { name: 'Applications' }).waitFor();
    await page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === '+ Register an application');
    }
    assert.ok(reached, 'the register link is reachable with Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused element shows a focus ring');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Register an application' }).waitFor();
    // Focus moves to the page content; Tab reaches the first field, typing fills it, Enter submits.
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.id === 'name')) break;
    }
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'name');
    await page.keyboard.type('Keyboard app');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'method');
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.id === 'scopes')) break;
    }
    await page.keyboard.type('reports:read');
    await page.keyboard.press('Enter');
    const heading = (await page.locator('h2', { hasText: 'Registered app-' }).textContent())!;
    const generated = heading.replace('Registered ', '').trim();
    assert.match(generated, /^app-[0-9a-f]{8}$/);
    const kbSecret = (await page.locator('#new-secret').textContent())!.trim();
    assert.equal((await curlToken(tokenEndpoint, generated, kbSecret)).status, 200);
  });

  it('a narrow window (375 px): no page scrolls sideways, tables scroll inside their region', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    try {
      for (const [hash, heading] of [['apps', 'Applications'], ['apps/new', 'Register an application'], ['apps/billing', /billing/], ['failures?client_id=billing', 'Failure explorer'], ['keys', 'Signing keys'], ['realms', 'Realms'], ['audit', 'Audit log']] as const) {
        await page.goto(`${t.url}/console/#/${hash}`);
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
        const [scrollWidth, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
        const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth && !e.closest('.scroll')).map((e) => `${e.tagName}#${e.id}.${e.className}`).slice(0, 5));
        assert.ok(scrollWidth <= width, `${hash}: the page is ${scrollWidth}px wide in a ${width}px window (${wide.join(', ')})`);
        await axeCheck(`${hash} (narrow)`);
      }
    } finally {
      await page.setViewportSize({ width: 1200, height: 900 });
    }
  });

  it('signs out: the session no longer works', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const status = await page.evaluate(async () => (await fetch('/console/api/admin/realms')).status);
    assert.equal(status, 401);
  });
});
