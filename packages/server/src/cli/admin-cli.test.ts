/**
 * `tessera admin bootstrap`, the admin and management listeners of `tessera serve`, and the CLI's
 * remote mode (--url, credentials from the environment), as real processes on a SQLite file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../../../../test/fixtures/ports.ts';

const BIN = new URL('../../bin/tessera.mjs', import.meta.url).pathname;
let dir: string;
let env: NodeJS.ProcessEnv;

function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, cwd: dir }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('admin bootstrap, listeners and remote CLI', () => {
  let child: ChildProcess;
  let port: number;
  let adminPort: number;
  let mgmtPort: number;
  let creds: { client_id: string; client_secret: string; audience: string; token_endpoint: string };
  let remoteEnv: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-admin-cli-'));
    [port, adminPort, mgmtPort] = [await freePort(), await freePort(), await freePort()];
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TESSERA_STORAGE_URL: `sqlite:${join(dir, 'tessera.db')}`,
      TESSERA_KEK: randomBytes(32).toString('base64url'),
      TESSERA_DEMO_CLIENT: 'false',
      TESSERA_PORT: String(port),
      TESSERA_ISSUER: `http://127.0.0.1:${port}`,
      TESSERA_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      TESSERA_MANAGEMENT_LISTEN: `127.0.0.1:${mgmtPort}`,
    };
  });
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('bootstrap prints the first admin client once; a second bootstrap is refused', async () => {
    const first = await run(['admin', 'bootstrap']);
    assert.equal(first.code, 0, first.stderr);
    creds = JSON.parse(first.stdout);
    assert.equal(creds.client_id, 'tessera-admin');
    assert.ok(creds.client_secret.length >= 43);
    assert.equal(creds.audience, `http://127.0.0.1:${port}/admin/v1`);
    assert.equal(creds.token_endpoint, `http://127.0.0.1:${port}/realms/admin/oauth2/token`);
    const second = await run(['admin', 'bootstrap']);
    assert.equal(second.code, 2);
    assert.match(second.stderr, /has a client already/);
    assert.ok(!second.stdout.includes(creds.client_secret));
  });

  it('serve answers the admin API on admin.listen only, and metrics on the management listener', async () => {
    child = spawn(process.execPath, [BIN, 'serve'], { env, cwd: dir });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        clearInterval(check);
        reject(new Error(`no start: ${out}`));
      }, 20_000); // after() kills the child
      const check = setInterval(() => {
        if (out.includes('management listening')) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 50);
    });
    const tok = await fetch(creds.token_endpoint, { method: 'POST', headers: { authorization: 'Basic ' + Buffer.from(`${creds.client_id}:${creds.client_secret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
    assert.equal(tok.status, 200);
    const { access_token } = (await tok.json()) as { access_token: string };
    const onAdmin = await fetch(`http://127.0.0.1:${adminPort}/admin/v1/realms`, { headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(onAdmin.status, 200);
    const onPublic = await fetch(`http://127.0.0.1:${port}/admin/v1/realms`, { headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(onPublic.status, 404);
    const metrics = await (await fetch(`http://127.0.0.1:${mgmtPort}/metrics`)).text();
    assert.match(metrics, /^tessera_tokens_issued_total\{realm="admin",method="client_secret_basic"\} 1$/m);
    assert.equal((await fetch(`http://127.0.0.1:${mgmtPort}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);
  });

  it('console login prints a one-time sign-in link that the running server accepts once', async () => {
    const printed = await run(['console', 'login', '--user', 'ops@example.com', '--base-url', `http://127.0.0.1:${adminPort}`]);
    assert.equal(printed.code, 0, printed.stderr);
    const url = new URL(printed.stdout.trim());
    assert.equal(url.origin, `http://127.0.0.1:${adminPort}`);
    assert.equal(url.pathname, '/console/login');
    const token = url.hash.slice(1);
    const signIn = () => fetch(`http://127.0.0.1:${adminPort}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    const first = await signIn();
    assert.equal(first.status, 201, await first.clone().text());
    assert.equal(((await first.json()) as { subject: string }).subject, 'ops@example.com');
    assert.match(first.headers.get('set-cookie') ?? '', /HttpOnly/i);
    assert.equal((await signIn()).status, 401, 'single use');
  });

  it('the clients and keys commands run against the remote admin API with --url', async () => {
    remoteEnv = { TESSERA_ADMIN_CLIENT_ID: creds.client_id, TESSERA_ADMIN_CLIENT_SECRET: creds.client_secret, TESSERA_ADMIN_ISSUER: `http://127.0.0.1:${port}/realms/admin`, TESSERA_STORAGE_URL: 'sqlite:/nonexistent/never-opened.db' };
    const url = `http://127.0.0.1:${adminPort}`;
    const created = await run(['clients', 'create', '--url', url, '--id', 'remote-1', '--scope', 'read'], remoteEnv);
    assert.equal(created.code, 0, created.stderr);
    const body = JSON.parse(created.stdout);
    assert.equal(body.client.client_id, 'remote-1');
    assert.ok(body.client_secret);
    const tok = await fetch(`http://127.0.0.1:${port}/oauth2/token`, { method: 'POST', headers: { authorization: 'Basic ' + Buffer.from(`remote-1:${body.client_secret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
    assert.equal(tok.status, 200);
    const listed = await run(['clients', 'list', '--url', url], remoteEnv);
    assert.deepEqual(JSON.parse(listed.stdout).map((c: { client_id: string }) => c.client_id), ['remote-1']);
    const disabled = await run(['clients', 'disable', 'remote-1'], { ...remoteEnv, TESSERA_ADMIN_URL: url });
    assert.equal(JSON.parse(disabled.stdout).disabled, true);
    const keys = await run(['keys', 'list', '--url', url], remoteEnv);
    assert.equal(keys.code, 0, keys.stderr);
    assert.equal(JSON.parse(keys.stdout).filter((k: { state: string }) => k.state === 'active').length, 1);
    const missing = await run(['clients', 'show', 'nobody', '--url', url], remoteEnv);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no client nobody/);
    const noCreds = await run(['clients', 'list', '--url', url]);
    assert.equal(noCreds.code, 4, 'a configuration error (docs/cli.md)');
    assert.match(noCreds.stderr, /TESSERA_ADMIN_CLIENT_ID/);
    const wrong = await run(['clients', 'list', '--url', url], { ...remoteEnv, TESSERA_ADMIN_CLIENT_SECRET: 'wrong' });
    assert.equal(wrong.code, 9, 'the admin client was rejected, as tessera token reports it');
    assert.match(wrong.stderr, /cannot get an admin token/);
    assert.ok(!wrong.stderr.includes('    at '), 'no stack trace');
  });

  it('realms create|list|show|delete run against the remote admin API, and the server serves the realm at once', async () => {
    const url = `http://127.0.0.1:${adminPort}`;
    const created = await run(['realms', 'create', 'partners', '--scope', 'ledger:read', '--url', url], remoteEnv);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual(JSON.parse(created.stdout), { name: 'partners', issuer: `http://127.0.0.1:${port}/realms/partners`, source: 'runtime', client_count: 0 });
    const meta = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server/realms/partners`);
    assert.equal(meta.status, 200);
    assert.ok(((await meta.json()) as { scopes_supported: string[] }).scopes_supported.includes('ledger:read'));
    const listed = await run(['realms', 'list', '--url', url], remoteEnv);
    assert.deepEqual(
      JSON.parse(listed.stdout).map((r: { name: string; source: string }) => `${r.name}:${r.source}`).sort(),
      ['admin:config', 'default:config', 'partners:runtime'],
    );
    assert.equal(JSON.parse((await run(['realms', 'show', 'partners', '--url', url], remoteEnv)).stdout).source, 'runtime');
    const again = await run(['realms', 'create', 'partners', '--url', url], remoteEnv);
    assert.equal(again.code, 2, 'a refused admin operation');
    assert.match(again.stderr, /partners exists/);
    const declared = await run(['realms', 'delete', 'default', '--url', url], remoteEnv);
    assert.equal(declared.code, 2);
    assert.match(declared.stderr, /declared in the configuration file/);
    const deleted = await run(['realms', 'delete', 'partners', '--url', url], remoteEnv);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(JSON.parse(deleted.stdout), { deleted: 'partners' });
    assert.equal((await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server/realms/partners`)).status, 404);
    assert.equal((await run(['realms', 'show', 'partners', '--url', url], remoteEnv)).code, 2);
  });
});
