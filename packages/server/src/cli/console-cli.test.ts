/**
 * `tessera console login` as an operator runs it: a real `tessera serve` process on a SQLite file,
 * the command in another process; the printed link signs in once, never twice.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../../test/fixtures/ports.ts';

const BIN = new URL('../../bin/tessera.mjs', import.meta.url).pathname;

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

function startServe(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    const check = setInterval(() => {
      if (out.includes('tessera listening')) {
        clearInterval(check);
        clearTimeout(timer);
        resolve(child);
      }
    }, 50);
    child.once('exit', (code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`server exited ${code}: ${out}`));
    });
  });
}

describe('tessera console login', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let child: ChildProcess | undefined;
  let base: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-console-cli-'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TESSERA_STORAGE_URL: `sqlite:${join(dir, 'tessera.db')}`,
      TESSERA_KEK_FILE: join(dir, 'kek.key'),
      TESSERA_PORT: String(port),
      TESSERA_ISSUER: base,
      TESSERA_MANAGEMENT_LISTEN: 'off',
      TESSERA_DEMO_CLIENT: 'false',
      TESSERA_LOG_LEVEL: 'info',
    };
    child = await startServe(env);
  });
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a link that signs in once; the second use is refused', async () => {
    const r = await run(['console', 'login', '--user', 'ops@example.com'], env);
    assert.equal(r.code, 0, r.stderr);
    const url = r.stdout.trim();
    assert.match(url, new RegExp(`^${base.replace(/[.]/g, '\\.')}/console/login#[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    assert.match(r.stderr, /works once/);
    const token = new URL(url).hash.slice(1);

    // The page at the link is the console (the token stays in the fragment, never sent in a GET).
    const pageRes = await fetch(url);
    assert.equal(pageRes.status, 200);
    assert.match(pageRes.headers.get('content-security-policy') ?? '', /script-src 'self'/);

    const signIn = () => fetch(`${base}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    const first = await signIn();
    assert.equal(first.status, 201);
    const setCookie = first.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^tessera_console=[\w-]+;.*HttpOnly; SameSite=Strict/);
    const body = (await first.json()) as { subject: string; csrf: string };
    assert.equal(body.subject, 'ops@example.com');
    const cookie = setCookie.split(';')[0]!;
    const session = await fetch(`${base}/console/api/session`, { headers: { cookie } });
    assert.equal(session.status, 200);
    const realms = await fetch(`${base}/console/api/admin/realms`, { headers: { cookie } });
    assert.equal(realms.status, 200, 'the session reaches the admin API');

    const second = await signIn();
    assert.equal(second.status, 401, 'the link is single use');
    assert.equal(second.headers.get('set-cookie'), null);
  });

  it('refuses an unknown admin scope', async () => {
    const r = await run(['console', 'login', '--scope', 'tessera:everything'], env);
    assert.equal(r.code, 3, 'a bad command line (docs/cli.md)');
    assert.match(r.stderr, /unknown admin scope/);
    assert.equal(r.stdout, '');
  });
});
