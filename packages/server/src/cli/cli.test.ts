/**
 * The `tessera` command line as a user runs it: real processes on a SQLite file. A CLI change
 * reaches a running server through the change feed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
async function json(args: string[]) {
  const r = await run(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}
/** Every `tessera serve` this file started: killed in after() if a failed test left one running (its pipes would keep this file alive). */
const children = new Set<ChildProcess>();
function startServe(port: number, extra: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; stdout: () => string }> {
  // The management listener on a port of its own (the default 9464 is shared by every test file and any local server).
  const child = spawn(process.execPath, [BIN, 'serve', ...extra], { env: { ...env, TESSERA_PORT: String(port), TESSERA_ISSUER: `http://127.0.0.1:${port}`, TESSERA_MANAGEMENT_LISTEN: '127.0.0.1:0', ...extraEnv }, cwd: dir });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(check);
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${out}`));
    }, 60_000); // generous: CI machines are shared
    const check = setInterval(() => {
      if (out.includes('tessera listening')) {
        clearInterval(check);
        clearTimeout(timer);
        resolve({ child, stdout: () => out });
      }
    }, 50);
    child.on('exit', (code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`server exited ${code}: ${out}`));
    });
  });
}
async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  return new Promise((r) => child.once('exit', (code) => r(code)));
}
const tokenRequest = (port: number, id: string, secret: string) =>
  fetch(`http://127.0.0.1:${port}/oauth2/token`, { method: 'POST', headers: { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'));
  env = { PATH: process.env.PATH, HOME: process.env.HOME, TESSERA_STORAGE_URL: `sqlite:${join(dir, 'data', 'tessera.db')}`, TESSERA_KEK_FILE: join(dir, 'data', 'kek.key'), TESSERA_LOG_LEVEL: 'info' };
});
after(async () => {
  for (const child of children) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('tessera CLI', () => {
  it('serve on a fresh install creates the demo client once and prints a working curl; SIGTERM exits 0', async () => {
    const port = await freePort();
    const { child, stdout } = await startServe(port);
    const out = stdout();
    const secret = /client_secret: (\S+)/.exec(out)![1]!;
    assert.match(out, /curl -s -u 'demo-client:/);
    const res = await tokenRequest(port, 'demo-client', secret);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).scope, 'demo');
    assert.equal(statSync(join(dir, 'data', 'kek.key')).mode & 0o777, 0o600);
    assert.equal(await stop(child), 0);
    const again = await startServe(port);
    assert.ok(!again.stdout().includes('client_secret:'), 'the demo secret is shown once only');
    assert.equal(await stop(again.child), 0);
  });

  it('clients create|list|show|disable|enable|rotate-secret|delete', async () => {
    const created = await json(['clients', 'create', '--id', 'svc-1', '--name', 'Service one', '--scope', 'read write', '--default-scope', 'read', '--owner', 'team-a', '--resource', 'https://api.example.com']);
    assert.equal(created.client.client_id, 'svc-1');
    assert.equal(created.client.scope, 'read write');
    assert.deepEqual(created.client.owners, ['team-a']);
    assert.ok(created.client_secret.length >= 43);
    const dup = await run(['clients', 'create', '--id', 'svc-1']);
    assert.equal(dup.code, 2);
    assert.match(dup.stderr, /already exists/);
    const list = await json(['clients', 'list']);
    assert.ok(list.some((c: { client_id: string }) => c.client_id === 'svc-1'));
    const shown = await json(['clients', 'show', 'svc-1']);
    assert.equal(shown.client_name, 'Service one');
    assert.equal(shown.client_secret, undefined);
    assert.ok(!JSON.stringify(shown).includes(created.client_secret));
    assert.equal((await json(['clients', 'disable', 'svc-1'])).disabled, true);
    assert.equal((await json(['clients', 'enable', 'svc-1'])).disabled, false);
    const rotated = await json(['clients', 'rotate-secret', 'svc-1']);
    assert.notEqual(rotated.client_secret, created.client_secret);
    assert.deepEqual(await json(['clients', 'delete', 'svc-1']), { deleted: 'svc-1' });
    const missing = await run(['clients', 'show', 'svc-1']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no client svc-1/);
  });

  it('keys list|rotate and migrate', async () => {
    assert.deepEqual(await json(['migrate']), { migrated: 'sqlite' });
    const before = await json(['keys', 'list']);
    assert.equal(before.filter((k: { state: string }) => k.state === 'active').length, 1);
    const rotated = await json(['keys', 'rotate']);
    const after = await json(['keys', 'list']);
    assert.equal(after.find((k: { kid: string }) => k.kid === rotated.kid).state, 'next');
    await json(['keys', 'rotate', '--now']);
    const now = await json(['keys', 'list']);
    assert.equal(now.filter((k: { state: string }) => k.state === 'active').length, 1);
    const retired = now.find((k: { state: string }) => k.state === 'retired');
    assert.deepEqual(await json(['keys', 'revoke', retired.kid]), { revoked: retired.kid });
    assert.ok(!(await json(['keys', 'list'])).some((k: { kid: string }) => k.kid === retired.kid));
    const again = await run(['keys', 'revoke', retired.kid]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /no active key/);
  });

  it('a client created, disabled and rotated by the CLI reaches a running server within a second', async () => {
    const port = await freePort();
    const { child } = await startServe(port);
    try {
      const created = await json(['clients', 'create', '--id', 'live', '--scope', 'x']);
      const waitFor = async (want: number, secret: string) => {
        const deadline = Date.now() + 3000;
        let status = 0;
        while (Date.now() < deadline) {
          status = (await tokenRequest(port, 'live', secret)).status;
          if (status === want) return status;
          await new Promise((r) => setTimeout(r, 100));
        }
        return status;
      };
      assert.equal(await waitFor(200, created.client_secret), 200);
      await json(['clients', 'disable', 'live']);
      assert.equal(await waitFor(401, created.client_secret), 401);
      await json(['clients', 'enable', 'live']);
      const rotated = await json(['clients', 'rotate-secret', 'live']);
      assert.equal(await waitFor(200, rotated.client_secret), 200);
      assert.equal((await tokenRequest(port, 'live', created.client_secret)).status, 401);
    } finally {
      await stop(child);
    }
  });

  it('tessera token gets a token as a client would', async () => {
    const port = await freePort();
    const { child } = await startServe(port);
    try {
      const created = await json(['clients', 'create', '--id', 'tok', '--scope', 'read']);
      const r = await run(['token', '--issuer', `http://127.0.0.1:${port}`, '--client-id', 'tok', '--scope', 'read'], { TESSERA_CLIENT_SECRET: created.client_secret });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.scope, 'read');
      assert.equal(typeof out.accessToken, 'string');
    } finally {
      await stop(child);
    }
  });

  it('serve --config upserts declared clients; a bad config is refused naming the field', async () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, ['demo_client: false', 'clients:', '  - client_id: from-config', '    client_secret: forgerock', '    scope: write', ''].join('\n'));
    const port = await freePort();
    const { child } = await startServe(port, ['--config', good]);
    try {
      const res = await tokenRequest(port, 'from-config', 'forgerock');
      assert.equal(res.status, 200);
      assert.equal((await res.json()).scope, 'write');
    } finally {
      await stop(child);
    }
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, ['tokens:', '  ttl: soon', 'clients:', '  - client_id: x', '    secret: y', ''].join('\n'));
    const r = await run(['serve', '--config', bad], { TESSERA_PORT: String(port) });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /tokens\.ttl/);
    assert.match(r.stderr, /clients\.0: Unrecognized key.*secret/);
  });

  it('serve --workers 2 shares one port between two processes and stops cleanly', async () => {
    const port = await freePort();
    const created = await json(['clients', 'create', '--id', 'cluster', '--scope', 'x']);
    const { child, stdout } = await startServe(port, ['--workers', '2']);
    try {
      const deadline = Date.now() + 10_000;
      while ((stdout().match(/tessera listening/g) ?? []).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal((stdout().match(/tessera listening/g) ?? []).length, 2);
      const statuses = await Promise.all(Array.from({ length: 8 }, () => tokenRequest(port, 'cluster', created.client_secret).then((r) => r.status)));
      assert.deepEqual(statuses, Array(8).fill(200));
    } finally {
      assert.equal(await stop(child), 0);
    }
  });

  it('export from SQLite, import into PostgreSQL (the migration path)', async () => {
    const created = await json(['clients', 'create', '--id', 'moving', '--scope', 'read']);
    await json(['keys', 'rotate', '--now']); // a signing key exists even when no server ran yet
    const file = join(dir, 'export.json');
    const exported = await run(['export', '--out', file]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const schema = `t_cli_export_${process.pid}_${randomBytes(4).toString('hex')}`;
    const pgUrl = `${process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'}?schema=${schema}`;
    const { default: postgres } = await import('postgres');
    const admin = postgres(process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test', { max: 1, onnotice: () => {} });
    try {
      const imported = await run(['import', '--in', file], { TESSERA_STORAGE_URL: pgUrl });
      assert.equal(imported.code, 0, imported.stderr);
      const summary = JSON.parse(imported.stdout);
      assert.ok(summary[0].clients >= 1 && summary[0].keys >= 1);
      const onPg = JSON.parse((await run(['clients', 'show', 'moving'], { TESSERA_STORAGE_URL: pgUrl })).stdout);
      assert.equal(onPg.scope, 'read');
      const sqliteKeys = await json(['keys', 'list']);
      const pgKeys = JSON.parse((await run(['keys', 'list'], { TESSERA_STORAGE_URL: pgUrl })).stdout);
      assert.deepEqual(pgKeys.map((k: { kid: string }) => k.kid), sqliteKeys.map((k: { kid: string }) => k.kid));
      // The secret works against a server on PostgreSQL.
      const port = await freePort();
      const { child } = await startServe(port, [], { TESSERA_STORAGE_URL: pgUrl });
      try {
        assert.equal((await tokenRequest(port, 'moving', created.client_secret)).status, 200);
      } finally {
        await stop(child);
      }
    } finally {
      await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  it('TESSERA_KEK from the environment is used instead of a key file', async () => {
    const kek = randomBytes(32).toString('hex');
    const r = await run(['keys', 'list'], { TESSERA_KEK: kek, TESSERA_STORAGE_URL: `sqlite:${join(dir, 'other.db')}`, TESSERA_KEK_FILE: join(dir, 'never', 'kek.key') });
    assert.equal(r.code, 0, r.stderr);
    assert.throws(() => statSync(join(dir, 'never', 'kek.key')));
  });
});
