/**
 * Operator mistakes, as an operator makes them with the real `tessera` command: each ends in one
 * line on stderr saying what is wrong and what to do (never a stack trace) and its own exit code
 * (exit.ts, docs/cli.md). Also: waiting for a PostgreSQL that comes up late, `--version`,
 * `serve --port`, `storage.url: memory` unquoted, and the container's environment (no demo client).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { TcpProxy } from '../../../../test/fixtures/tcp-proxy.ts';
import { EXIT } from './exit.ts';
import { freePort } from '../../../../test/fixtures/ports.ts';

const BIN = new URL('../../bin/tessera.mjs', import.meta.url).pathname;
const PG_URL = process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let dir: string;
let env: NodeJS.ProcessEnv;

type Result = { code: number; stdout: string; stderr: string };
function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeout = 60_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, cwd: dir, timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
/** The failure an operator sees: the given exit code and exactly one line, no stack trace. */
function assertOneLine(r: Result, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code ${r.code}, stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^tessera: /);
  assert.doesNotMatch(r.stderr, /\n\s+at |Error:|node:internal/);
  assert.match(lines[0]!, pattern);
}
/** Every `tessera serve` this file started: killed in after() if a failed test left one running (its pipes would keep this file alive). */
const children = new Set<ChildProcess>();
function startServe(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...env, TESSERA_MANAGEMENT_LISTEN: '127.0.0.1:0', ...extraEnv }, cwd: dir });
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
    }, 30_000);
    const check = setInterval(() => {
      if (out.includes('tessera listening')) {
        clearInterval(check);
        clearTimeout(timer);
        resolve({ child, output: () => out });
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

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-operr-'));
  env = { PATH: process.env.PATH, HOME: process.env.HOME, TESSERA_STORAGE_URL: `sqlite:${join(dir, 'data', 'tessera.db')}`, TESSERA_KEK_FILE: join(dir, 'data', 'kek.key'), TESSERA_LOG_LEVEL: 'warn', TESSERA_DEMO_CLIENT: 'false' };
});
after(async () => {
  for (const child of children) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('operator mistakes: one line and a distinct exit code', () => {
  it('the exit codes are distinct', () => {
    const codes = Object.values(EXIT);
    assert.equal(new Set(codes).size, codes.length);
    const doc = readFileSync(new URL('../../../../docs/cli.md', import.meta.url), 'utf8');
    for (const code of codes) assert.match(doc, new RegExp(`^\\| ${code} \\|`, 'm'), `docs/cli.md documents exit code ${code}`);
  });

  it('port already in use', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await run(['serve'], { TESSERA_PORT: String(port) });
      assertOneLine(r, EXIT.listen, new RegExp(`port ${port} .*already in use.*another port`));
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('a YAML syntax error in the config, and a JSON one', async () => {
    const yaml = join(dir, 'broken.yaml');
    writeFileSync(yaml, 'listen:\n  port: [8080\nissuer: x\n');
    assertOneLine(await run(['serve', '--config', yaml]), EXIT.config, /broken\.yaml is not valid YAML: .*line \d+.*fix the file/);
    const json = join(dir, 'broken.json');
    writeFileSync(json, '{"listen": {"port": 8080,}}');
    assertOneLine(await run(['clients', 'list', '--config', json]), EXIT.config, /broken\.json is not valid JSON: .*fix the file/);
    assertOneLine(await run(['clients', 'list', '--config', join(dir, 'missing.yaml')]), EXIT.config, /cannot read config file .*missing\.yaml: ENOENT/);
  });

  it('clients list --limit abc (and other malformed numbers)', async () => {
    assertOneLine(await run(['clients', 'list', '--limit', 'abc']), EXIT.usage, /--limit.*'abc' is invalid.*whole number/);
    assertOneLine(await run(['serve', '--workers', '2x']), EXIT.usage, /--workers.*invalid/);
    assertOneLine(await run(['clients', 'lst']), EXIT.usage, /unknown command 'lst'/);
    const bare = await run(['clients']); // no subcommand: its help, on stderr, and nothing else
    assert.equal(bare.code, EXIT.usage);
    assert.match(bare.stderr, /^Usage: tessera clients/);
    assert.doesNotMatch(bare.stderr, /outputHelp|tessera: /);
  });

  it('PostgreSQL unreachable, and the database missing', async () => {
    const port = await freePort(); // nothing listens there
    const unreachable = await run(['clients', 'list'], { TESSERA_STORAGE_URL: `postgres://postgres@127.0.0.1:${port}/test`, TESSERA_STORAGE_WAIT: '0' });
    assertOneLine(unreachable, EXIT.storageUnreachable, new RegExp(`cannot reach postgres at 127\\.0\\.0\\.1:${port}/test .*ECONNREFUSED.*start the database`));
    const missing = new URL(PG_URL);
    missing.pathname = `/no_such_db_${randomBytes(4).toString('hex')}`;
    const r = await run(['serve'], { TESSERA_STORAGE_URL: missing.toString() });
    assertOneLine(r, EXIT.storageRefused, /database "no_such_db_[0-9a-f]+" does not exist: create the database/);
    assert.ok(!r.stderr.includes('postgres@'), 'no credentials in the message');
  });

  it('PostgreSQL not yet up at start: retried with backoff until it answers', async () => {
    const schema = `t_operr_wait_${process.pid}_${randomBytes(4).toString('hex')}`;
    const proxy = new TcpProxy(PG_URL);
    proxy.port = await freePort();
    const url = new URL(proxy.via(PG_URL));
    url.searchParams.set('schema', schema);
    const child = spawn(process.execPath, [BIN, 'migrate'], { env: { ...env, TESSERA_STORAGE_URL: url.toString(), TESSERA_STORAGE_WAIT: '30' }, cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // The database "comes up" once the command has found it down and said it waits.
      const deadline = Date.now() + 30_000;
      while (!/not reachable yet/.test(stderr) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(stderr, /not reachable yet .*ECONNREFUSED.*retrying for up to 30 s/);
      await new Promise((r) => setTimeout(r, 1000));
      await proxy.start();
      assert.equal(await exited, 0, stderr);
      assert.deepEqual(JSON.parse(stdout), { migrated: 'postgres' });
      assert.equal(stderr.trimEnd().split('\n').length, 1, 'only the line saying it waits');
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await proxy.stop();
      const { default: postgres } = await import('postgres');
      const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
    // With a short wait and no database, it gives up after about that long.
    const port = await freePort();
    const t0 = Date.now();
    const gaveUp = await run(['migrate'], { TESSERA_STORAGE_URL: `postgres://postgres@127.0.0.1:${port}/test`, TESSERA_STORAGE_WAIT: '2' });
    assert.equal(gaveUp.code, EXIT.storageUnreachable, gaveUp.stderr);
    assert.ok(Date.now() - t0 >= 2000, 'it waited');
    assert.equal(gaveUp.stderr.trimEnd().split('\n').length, 2, 'one line saying it waits, one saying it gave up');
  });

  it('an unwritable data directory (SQLite file and key-encryption key)', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    assertOneLine(await run(['clients', 'list'], { TESSERA_KEK_FILE: join(blocker, 'kek.key') }), EXIT.dataDir, /cannot write .*kek\.key .*point kek\.file \(TESSERA_KEK_FILE\) elsewhere/);
    assertOneLine(await run(['clients', 'list'], { TESSERA_STORAGE_URL: `sqlite:${join(blocker, 'db', 't.db')}` }), EXIT.dataDir, /cannot write .*t\.db .*storage\.url/);
    if (process.getuid?.() !== 0) {
      // Root writes anywhere; as another user, a directory without write permission.
      const ro = join(dir, 'read-only');
      mkdirSync(ro, { mode: 0o500 });
      chmodSync(ro, 0o500);
      assertOneLine(await run(['clients', 'list'], { TESSERA_STORAGE_URL: `sqlite:${join(ro, 'data', 't.db')}` }), EXIT.dataDir, /permission denied/);
    }
  });

  describe('tessera token against a running server', () => {
    let port: number;
    let server: ChildProcess;
    before(async () => {
      port = await freePort();
      const config = join(dir, 'token.yaml');
      // `url: memory` unquoted, as docs/configuration.md shows it.
      writeFileSync(config, ['storage:', '  url: memory', 'clients:', '  - client_id: svc', '    client_secret: right-secret', '    scope: read', ''].join('\n'));
      ({ child: server } = await startServe(['--config', config, '--port', String(port)], { TESSERA_STORAGE_URL: undefined, TESSERA_ISSUER: `http://127.0.0.1:${port}`, TESSERA_LOG_LEVEL: 'info' }));
    });
    after(async () => {
      assert.equal(await stop(server), 0);
    });

    it('works with the right secret (serve --port and url: memory honoured)', async () => {
      const r = await run(['token', '--issuer', `http://127.0.0.1:${port}`, '--client-id', 'svc', '--scope', 'read'], { TESSERA_CLIENT_SECRET: 'right-secret' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).scope, 'read');
    });
    it('a wrong secret', async () => {
      const r = await run(['token', '--issuer', `http://127.0.0.1:${port}`, '--client-id', 'svc', '--client-secret', 'wrong']);
      assertOneLine(r, EXIT.tokenClient, /rejected the client: invalid_client.*check --client-id and the secret/);
    });
    it('a scope the client may not have', async () => {
      const r = await run(['token', '--issuer', `http://127.0.0.1:${port}`, '--client-id', 'svc', '--client-secret', 'right-secret', '--scope', 'admin']);
      assertOneLine(r, EXIT.tokenRefused, /refused the scope: invalid_scope/);
    });
    it('an unreachable issuer', async () => {
      const closed = await freePort();
      const r = await run(['token', '--issuer', `http://127.0.0.1:${closed}`, '--client-id', 'svc', '--client-secret', 'x']);
      assertOneLine(r, EXIT.issuerUnreachable, new RegExp(`cannot get a token from http://127\\.0\\.0\\.1:${closed}: .*check --issuer`));
    });
  });
});

describe('small operational fixes', () => {
  it('tessera --version prints the package version', async () => {
    const r = await run(['--version']);
    assert.equal(r.code, 0);
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    assert.equal(r.stdout.trim(), version);
  });

  it("the container's environment creates no demo client and prints no secret; asking for it does", async () => {
    const port = await freePort();
    const data = join(dir, 'image');
    const image = { TESSERA_DEMO_CLIENT: 'false', TESSERA_STORAGE_URL: `sqlite:${join(data, 'tessera.db')}`, TESSERA_KEK_FILE: join(data, 'kek.key'), TESSERA_LOG_LEVEL: 'info' };
    const quiet = await startServe(['--port', String(port)], image);
    assert.equal(await stop(quiet.child), 0);
    assert.doesNotMatch(quiet.output(), /client_secret|demo-client/);
    assert.match(quiet.output(), new RegExp(`"port":${port}`));
    const asked = await startServe(['--port', String(port)], { ...image, TESSERA_DEMO_CLIENT: 'true' });
    assert.equal(await stop(asked.child), 0);
    assert.match(asked.output(), /client_secret: \S{20,}/);
  });
});
