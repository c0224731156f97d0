/**
 * A SQLite file with many registered clients, for the "1,000,000 clients" scenario: Tessera's own
 * schema (its migrations, applied by its SQLite storage), then N extra client_secret_basic clients
 * inserted directly with better-sqlite3 (one transaction, one prepared statement), each row the
 * JSON Tessera itself stores (a record built by Tessera's buildClientRecord, with its own id and a
 * `sha256$…` hash of its own secret). Tessera then starts on a copy of it, bootstrapping the bench
 * clients and its signing keys as on any start.
 *
 * Secrets are derived (HMAC of the index under a fixed bench-only key), so the harness can
 * authenticate as any of the N clients without storing them. The file is cached in the temp dir
 * (keyed by N, the migrations and the record shape) and reused by later runs.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { buildClientRecord } from '../../packages/server/src/core/clients/metadata.ts';
import { DEFAULT_REALM } from '../../packages/server/src/core/config/index.ts';
import { createKek } from '../../packages/server/src/core/crypto/kek.ts';
import { createSqliteStorage, sqliteMigrations } from '../../packages/server/src/storage/sqlite/index.ts';
import { basicHeader } from './servers.ts';

/** Not a secret: derives the bench clients' secrets, so that any run can use a cached file. */
const SECRET_KEY = 'tessera-bench-many-clients';
const ID_PREFIX = 'bulk-';

export function bulkClientId(i: number): string {
  return `${ID_PREFIX}${String(i).padStart(7, '0')}`;
}

export function bulkClientSecret(i: number): string {
  return createHmac('sha256', SECRET_KEY).update(String(i)).digest('base64url');
}

export function bulkBasicHeader(i: number): string {
  return basicHeader(bulkClientId(i), bulkClientSecret(i));
}

/**
 * The k-th client of a walk through all N in scattered order (a multiplicative permutation), so
 * consecutive requests read unrelated B-tree pages, as unrelated clients would.
 */
export function scatteredIndex(k: number, n: number): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let stride = 611_953; // prime: coprime with any N it does not divide
  while (gcd(stride, n) !== 1) stride += 2;
  return Number((BigInt(k) * BigInt(stride)) % BigInt(n));
}

/** A client record exactly as Tessera builds it from metadata; per row only id, name and hash change. */
async function templateRecord(scope: string): Promise<Record<string, unknown>> {
  const now = Date.now();
  const { record } = await buildClientRecord(
    DEFAULT_REALM,
    { client_id: bulkClientId(0), client_name: 'bulk client', token_endpoint_auth_method: 'client_secret_basic', scope },
    { kek: createKek(randomBytes(32)), now, maxTtlSeconds: 86_400 },
  );
  // Generated secret → sha256$ hash: replaced per row below.
  if (!record.secretHash?.startsWith('sha256$')) throw new Error(`unexpected secret hash scheme: ${record.secretHash}`);
  return record as unknown as Record<string, unknown>;
}

export interface ManyClientsDb {
  path: string;
  clients: number;
  bytes: number;
  /** Seconds spent building it now; 0 when a cached file was used. */
  buildSec: number;
  cached: boolean;
}

/** Builds (or finds in the cache) a SQLite file holding Tessera's schema and `n` extra clients. */
export async function manyClientsDb(n: number, scope: string, log: (s: string) => void): Promise<ManyClientsDb> {
  const template = await templateRecord(scope);
  const shape = Object.keys(template).sort().join(',');
  const key = createHash('sha256')
    .update(JSON.stringify(sqliteMigrations().map((m) => [m.version, m.sql])))
    .update(shape)
    .update(scope)
    .update(SECRET_KEY)
    .digest('hex')
    .slice(0, 12);
  const dir = join(tmpdir(), 'tessera-bench-cache');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `clients-${n}-${key}.db`);
  if (existsSync(path)) {
    log(`  using cached ${path}`);
    return { path, clients: n, bytes: statSync(path).size, buildSec: 0, cached: true };
  }
  const started = performance.now();
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  // Tessera's schema, by Tessera's own migration code.
  const storage = createSqliteStorage({ path: tmp });
  await storage.migrate();
  await storage.close();
  for (const suffix of ['-wal', '-shm']) rmSync(tmp + suffix, { force: true });

  const db = new Database(tmp);
  try {
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = OFF');
    const insert = db.prepare<[string, string, string, number, number]>('INSERT INTO clients (realm, client_id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
    const createdAt = template.createdAt as number;
    const fill = db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const clientId = bulkClientId(i);
        const secretHash = `sha256$${createHash('sha256').update(bulkClientSecret(i), 'utf8').digest('base64url')}`;
        const record = { ...template, clientId, clientName: `bulk client ${i}`, secretHash };
        insert.run(DEFAULT_REALM, clientId, JSON.stringify(record), createdAt, createdAt);
        if (n >= 100_000 && (i + 1) % 250_000 === 0) log(`    ${(i + 1).toLocaleString('en-US')} clients inserted`);
      }
    });
    fill();
    const count = db.prepare('SELECT count(*) FROM clients').pluck().get() as number;
    if (count !== n) throw new Error(`expected ${n} clients, found ${count}`);
  } finally {
    db.close();
  }
  renameSync(tmp, path);
  const buildSec = (performance.now() - started) / 1000;
  log(`  built ${path} (${n.toLocaleString('en-US')} clients, ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB) in ${buildSec.toFixed(1)} s`);
  return { path, clients: n, bytes: statSync(path).size, buildSec, cached: false };
}

/** Bytes of a SQLite database with its -wal and -shm files, and row counts of its tables. */
export interface SqliteStats {
  dbBytes: number;
  walBytes: number;
  shmBytes: number;
  rows: Record<string, number>;
}

export function sqliteStats(path: string): SqliteStats {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  const rows: Record<string, number> = {};
  // A read-only connection next to the server's: it writes nothing (not even a checkpoint).
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    for (const t of tables) rows[t] = db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number;
  } finally {
    db.close();
  }
  return { dbBytes: size(path), walBytes: size(`${path}-wal`), shmBytes: size(`${path}-shm`), rows };
}
