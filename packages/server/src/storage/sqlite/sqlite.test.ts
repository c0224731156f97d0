import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { StorageUnavailableError } from '../../core/errors/index.ts';
import type { ChangeEvent, ClientRecord, Storage } from '../../core/ports/index.ts';
import { runStorageContract, waitFor } from '../contract/index.ts';
import { PURGE_CHUNK, createSqliteStorage, sqliteMigrations } from './index.ts';

const POLL_MS = 20;

/** A fresh folder under the system temp folder; removed when the file's tests end. */
const tempDirs: string[] = [];
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'));
  tempDirs.push(dir);
  return join(dir, 'tessera.db');
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function open(path: string): Promise<Storage> {
  const storage = createSqliteStorage({ path, changePollMs: POLL_MS });
  await storage.migrate();
  return storage;
}

runStorageContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-contract-'));
  const storage = await open(join(dir, 'tessera.db'));
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const client = (clientId: string): ClientRecord => ({
  realm: 'r1',
  clientId,
  owners: ['team'],
  disabled: false,
  tokenEndpointAuthMethod: 'client_secret_basic',
  secretHash: 'hash',
  grantTypes: ['client_credentials'],
  scopes: ['read'],
  mayIntrospect: false,
  allowBasicWithAssertion: false,
  createdAt: 1,
  updatedAt: 2,
});

describe('sqlite storage', () => {
  it('keeps every kind of record across close and reopen', async () => {
    const path = tempPath();
    const expiresAt = Date.now() + 60_000;
    const key = {
      realm: 'r1',
      kid: 'k1',
      alg: 'ES256',
      publicJwk: { kty: 'EC', kid: 'k1' },
      privateKeyEncrypted: 'secret',
      createdAt: 1,
      activatesAt: 2,
    };
    const first = await open(path);
    await first.clients.create(client('c1'));
    await first.keys.put(key);
    await first.revocations.revoke('r1', 'revoked-jti', expiresAt);
    await first.replay.consume('r1', 'c1', 'used-jti', expiresAt);
    await first.close();

    const second = await open(path);
    try {
      assert.deepEqual(await second.clients.get('r1', 'c1'), client('c1'));
      assert.deepEqual(await second.keys.list('r1'), [key]);
      assert.equal(await second.revocations.isRevoked('r1', 'revoked-jti'), true);
      assert.equal(await second.replay.consume('r1', 'c1', 'used-jti', expiresAt), false);
    } finally {
      await second.close();
    }
  });

  it('delivers a change published by one instance to subscribers of another, and to its own once', async () => {
    const path = tempPath();
    const server = await open(path);
    const cli = await open(path);
    try {
      await cli.changes.publish({ realm: 'r1', kind: 'client', id: 'before-subscribe' });
      const atServer: ChangeEvent[] = [];
      const atCli: ChangeEvent[] = [];
      const stopServer = server.changes.subscribe((event) => atServer.push(event));
      const stopCli = cli.changes.subscribe((event) => atCli.push(event));

      const fromCli: ChangeEvent = { realm: 'r1', kind: 'client', id: 'c1' };
      const fromServer: ChangeEvent = { realm: 'r1', kind: 'keys', id: '' };
      await cli.changes.publish(fromCli);
      await waitFor(() => atServer.length >= 1, 'the event at the other instance');
      await server.changes.publish(fromServer);
      // The poll that brings fromServer to the CLI instance also passes over its own fromCli.
      await waitFor(() => atCli.length >= 2, 'the event from the other instance');
      await waitFor(() => atServer.length >= 2, 'its own event');

      assert.deepEqual(atServer, [fromCli, fromServer]);
      assert.deepEqual(atCli, [fromCli, fromServer]);
      stopServer();
      stopCli();
    } finally {
      await server.close();
      await cli.close();
    }
  });

  it('stops polling when the last subscriber leaves and starts again with the next', async () => {
    const path = tempPath();
    const server = await open(path);
    const cli = await open(path);
    try {
      const first: ChangeEvent[] = [];
      server.changes.subscribe((event) => first.push(event))();
      await cli.changes.publish({ realm: 'r1', kind: 'client', id: 'while-nobody-listens' });
      const second: ChangeEvent[] = [];
      const stop = server.changes.subscribe((event) => second.push(event));
      await cli.changes.publish({ realm: 'r1', kind: 'client', id: 'c2' });
      await waitFor(() => second.length >= 1, 'the event');
      assert.deepEqual(second, [{ realm: 'r1', kind: 'client', id: 'c2' }]);
      assert.deepEqual(first, []);
      stop();
    } finally {
      await server.close();
      await cli.close();
    }
  });

  it('prunes change_log rows older than an hour', async () => {
    const path = tempPath();
    const storage = await open(path);
    const raw = new Database(path);
    try {
      raw.prepare('INSERT INTO change_log (realm, kind, id, at) VALUES (?, ?, ?, ?)').run('r1', 'client', 'old', Date.now() - 2 * 3_600_000);
      await storage.changes.publish({ realm: 'r1', kind: 'client', id: 'recent' });
      const stop = storage.changes.subscribe(() => {});
      const ids = () => raw.prepare('SELECT id FROM change_log ORDER BY seq').pluck().all();
      await waitFor(() => ids().length === 1, 'the old row to go');
      assert.deepEqual(ids(), ['recent']);
      stop();
    } finally {
      raw.close();
      await storage.close();
    }
  });

  it('purges more expired rows than one chunk, in chunks, and counts them all', async () => {
    const path = tempPath();
    const storage = await open(path);
    const raw = new Database(path);
    try {
      const t = Date.now() + 60_000;
      const n = PURGE_CHUNK * 2 + 345;
      const insertReplay = raw.prepare('INSERT INTO replay (realm, client_id, jti, expires_at) VALUES (?, ?, ?, ?)');
      const insertRevocation = raw.prepare('INSERT INTO revocations (realm, jti, expires_at) VALUES (?, ?, ?)');
      raw.transaction(() => {
        for (let i = 0; i < n; i++) {
          insertReplay.run('r1', `c${i % 7}`, `jti-${i}`, t - 1 - i);
          insertRevocation.run('r1', `tok-${i}`, t - 1 - i);
        }
        insertReplay.run('r1', 'c1', 'live', t + 1);
        insertRevocation.run('r1', 'live', t + 1);
      })();
      let yielded = false;
      const purging = storage.replay.purgeExpired(t);
      setImmediate(() => (yielded = true));
      const replayed = await purging;
      assert.equal(yielded, true, 'the event loop ran between chunks');
      const revoked = await storage.revocations.purgeExpired(t);
      assert.equal(replayed, n);
      assert.equal(revoked, n);
      assert.equal(raw.prepare('SELECT count(*) FROM replay').pluck().get(), 1);
      assert.equal(raw.prepare('SELECT count(*) FROM revocations').pluck().get(), 1);
      assert.equal(await storage.replay.consume('r1', 'c1', 'live', t + 1), false, 'the live record stays');
      assert.equal(await storage.revocations.isRevoked('r1', 'live'), true);
    } finally {
      raw.close();
      await storage.close();
    }
  });

  it('gives exactly one true for concurrent consumes of one jti through two instances', async () => {
    const path = tempPath();
    const a = await open(path);
    const b = await open(path);
    try {
      const expiresAt = Date.now() + 60_000;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).replay.consume('r1', 'c1', 'jti-shared', expiresAt)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('gives exactly one true per jti when separate processes migrate and consume at once', { timeout: 60_000 }, async () => {
    const path = tempPath();
    const moduleUrl = new URL('./index.ts', import.meta.url).href;
    const jtis = 200;
    const processes = 4;
    // A child process driven line by line: "migrate", then "consume" (prints the jtis it won).
    const script = `
      import { createInterface } from 'node:readline';
      import { createSqliteStorage } from ${JSON.stringify(moduleUrl)};
      const storage = createSqliteStorage({ path: ${JSON.stringify(path)} });
      const say = (line) => process.stdout.write(line + '\\n');
      say('ready');
      for await (const line of createInterface({ input: process.stdin })) {
        if (line === 'migrate') {
          await storage.migrate();
          say('migrated');
        } else if (line === 'consume') {
          const expiresAt = Date.now() + 60000;
          const won = [];
          // A random order of its own per process: a jti's consumes come at unrelated moments.
          const order = Array.from({ length: ${jtis} }, (_, i) => i).sort(() => Math.random() - 0.5);
          for (const i of order) {
            if (await storage.replay.consume('r1', 'c1', 'jti-' + i, expiresAt)) won.push(i);
            // A pause lets the others in: SQLite does not queue writers fairly.
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
          say(JSON.stringify(won));
          await storage.close();
          process.exit(0);
        }
      }
    `;
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
    const children = Array.from({ length: processes }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
        cwd: repoRoot,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      let exitCode: number | null | undefined;
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve((exitCode = code))));
      return { child, exited, exitCode: () => exitCode, stdout: () => stdout, stderr: () => stderr };
    });
    const saidAll = (line: string) =>
      children.every((c) => {
        if (c.exitCode() !== undefined) assert.fail(`child exited early: ${c.stderr()}`);
        return c.stdout().split('\n').includes(line);
      });
    try {
      await waitFor(() => saidAll('ready'), 'the processes to start', 30_000);
      for (const { child } of children) child.stdin.write('migrate\n');
      await waitFor(() => saidAll('migrated'), 'the migrations', 30_000);
      for (const { child } of children) child.stdin.write('consume\n');
      const codes = await Promise.all(children.map((c) => c.exited));
      assert.deepEqual(codes, Array(processes).fill(0), children.map((c) => c.stderr()).join('\n'));

      const won = children.flatMap((c) => JSON.parse(c.stdout().split('\n')[2]!) as number[]);
      assert.equal(won.length, jtis, 'one winner per jti');
      assert.equal(new Set(won).size, jtis);

      const raw = new Database(path);
      const versions = raw.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
      raw.close();
      assert.deepEqual(versions, sqliteMigrations().map((m) => m.version));
    } finally {
      for (const { child } of children) child.kill();
    }
  });

  it('records each applied migration once in schema_migrations', async () => {
    const path = tempPath();
    const a = createSqliteStorage({ path });
    const b = createSqliteStorage({ path });
    const before = Date.now();
    await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
    await a.close();
    await b.close();

    const raw = new Database(path);
    const rows = raw.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as {
      version: number;
      name: string;
      applied_at: number;
    }[];
    raw.close();
    const expected = sqliteMigrations();
    assert.ok(expected.length >= 1);
    assert.deepEqual(
      rows.map(({ version, name }) => ({ version, name })),
      expected.map(({ version, name }) => ({ version, name })),
    );
    for (const row of rows) assert.ok(row.applied_at >= before && row.applied_at <= Date.now());
  });

  it('creates a missing folder with mode 0700 and the file with mode 0600', async () => {
    const path = join(tempPath(), '..', 'nested', 'deeper', 'tessera.db');
    const storage = await open(path);
    await storage.close();
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    assert.equal(statSync(join(path, '..', '..')).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('puts the file in WAL mode', async () => {
    const path = tempPath();
    const storage = await open(path);
    const raw = new Database(path);
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      raw.close();
      await storage.close();
    }
  });

  it('rejects with StorageUnavailableError when another connection holds the lock', async () => {
    const path = tempPath();
    const storage = createSqliteStorage({ path, busyTimeoutMs: 50 });
    await storage.migrate();
    const raw = new Database(path);
    raw.exec('BEGIN EXCLUSIVE');
    try {
      await assert.rejects(storage.clients.create(client('c1')), StorageUnavailableError);
      await assert.rejects(storage.replay.consume('r1', 'c1', 'jti', Date.now() + 1000), StorageUnavailableError);
    } finally {
      raw.exec('ROLLBACK');
      raw.close();
    }
    assert.equal(await storage.clients.create(client('c1')), true, 'works again once the lock is gone');
    await storage.close();
  });

  it('rejects with StorageUnavailableError once closed, and close() is idempotent', async () => {
    const storage = await open(tempPath());
    await storage.close();
    await storage.close();
    await assert.rejects(storage.ping(), StorageUnavailableError);
    await assert.rejects(storage.clients.get('r1', 'c1'), StorageUnavailableError);
    await assert.rejects(storage.changes.publish({ realm: 'r1', kind: 'keys', id: '' }), StorageUnavailableError);
  });

  it('throws StorageUnavailableError for a file that is not a database', () => {
    const path = tempPath();
    writeFileSync(path, 'this is not a database, just some text that is long enough to hold a header');
    assert.throws(() => createSqliteStorage({ path }), StorageUnavailableError);
  });

  it('asks for migrate() when used on a file without schema', async () => {
    const storage = createSqliteStorage({ path: tempPath() });
    try {
      await assert.rejects(storage.clients.get('r1', 'c1'), /call migrate\(\) first/);
      await storage.migrate();
      assert.equal(await storage.clients.get('r1', 'c1'), undefined);
    } finally {
      await storage.close();
    }
  });
});
