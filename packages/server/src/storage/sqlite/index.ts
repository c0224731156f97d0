/**
 * SQLite storage (better-sqlite3). One file may be shared by several processes on one host — the
 * server and CLI commands — which see each other's changes through the change_log table.
 *
 * Durability: WAL with synchronous=FULL, so a write that resolved survives a crash or power loss —
 * except the replay store, which trades power-loss durability for speed (see sqliteReplay).
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageUnavailableError } from '../../core/errors/index.ts';
import { WriteBatcher } from '../batch.ts';
import { loadMigrations } from '../migrations.ts';
import type {
  ChangeEvent,
  ChangeFeed,
  ClientRecord,
  ClientStore,
  ReplayStore,
  RevocationStore,
  SigningKeyRecord,
  SigningKeyStore,
  Storage,
} from '../../core/ports/index.ts';
import { ListenerSet, checkLimit } from '../memory/index.ts';
import { sqliteAdminStores, type DbRun } from './admin.ts';

export interface SqliteStorageOptions {
  /** The database file. Its folder is created (mode 0700) and the file (mode 0600) when missing. */
  path: string;
  /** How often the change log is read while the feed has subscribers (ms, default 250). */
  changePollMs?: number;
  /** How long a statement waits for a lock another connection holds (ms, default 5000). */
  busyTimeoutMs?: number;
}

export interface SqliteMigration {
  version: number;
  name: string;
  sql: string;
}

/** change_log rows older than this are pruned; every process has long read them by then. */
const CHANGE_LOG_RETENTION_MS = 60 * 60 * 1000;
const CHANGE_LOG_PRUNE_EVERY_MS = 60 * 1000;
/** Rows read from change_log per poll. */
const CHANGE_LOG_BATCH = 500;

/** Result codes meaning the database cannot serve right now (as opposed to a bug in a query). */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|CORRUPT|NOTADB|PROTOCOL|NOMEM|NOLFS|PERM|AUTH)/;

let migrationsCache: SqliteMigration[] | undefined;

/** The migrations shipped in ./migrations (NNN_name.sql), ordered by version. */
export function sqliteMigrations(): SqliteMigration[] {
  return (migrationsCache ??= loadMigrations(new URL('./migrations/', import.meta.url), 'sqlite'));
}

/**
 * Applies the pending migrations in one transaction. BEGIN IMMEDIATE takes the write lock before
 * reading what is applied, so processes migrating at once run one after the other and the later
 * ones find nothing left to do. Resolves the versions applied.
 */
function applyMigrations(db: Database.Database): number[] {
  const migrations = sqliteMigrations();
  const apply = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = new Set(db.prepare<[], number>('SELECT version FROM schema_migrations').pluck().all());
    const record = db.prepare<[number, string, number]>(
      'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
    );
    const versions: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
      versions.push(migration.version);
    }
    return versions;
  });
  return apply.immediate();
}

function isUnavailable(error: unknown): boolean {
  return error instanceof Database.SqliteError && UNAVAILABLE_CODES.test(error.code);
}

/** Wraps backend failures in StorageUnavailableError; other errors (bugs) pass unchanged. */
function translate(error: unknown): unknown {
  return isUnavailable(error) ? new StorageUnavailableError(`sqlite: ${(error as Error).message}`, { cause: error }) : error;
}

function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== '' && path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      closeSync(openSync(path, 'a', 0o600)); // SQLite gives its -wal and -shm files the same mode
    }
    db = new Database(path);
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (error) {
    db?.close();
    throw new StorageUnavailableError(`sqlite: cannot open ${path}: ${(error as Error).message}`, { cause: error });
  }
}

type ChangeRow = { seq: number; realm: string; kind: ChangeEvent['kind']; id: string };
type ClientRow = { realm: string; clientId: string; data: string; createdAt: number; updatedAt: number };
type KeyRow = { realm: string; kid: string; data: string; activatesAt: number };
type ReplayRow = { realm: string; clientId: string; jti: string; expiresAt: number; now: number };

/** One atomic statement: a first use inserts, a use after expiry renews, a live entry is left alone. */
const REPLAY_CONSUME_SQL = `INSERT INTO replay (realm, client_id, jti, expires_at) VALUES (@realm, @clientId, @jti, @expiresAt)
  ON CONFLICT (realm, client_id, jti) DO UPDATE SET expires_at = excluded.expires_at
  WHERE replay.expires_at < @now`;

/** Every statement the stores run, prepared once (after the schema exists). */
function prepareStatements(db: Database.Database) {
  return {
    clientGet: db.prepare<[string, string], string>('SELECT data FROM clients WHERE realm = ? AND client_id = ?').pluck(),
    clientListFirst: db
      .prepare<[string, number], string>('SELECT data FROM clients WHERE realm = ? ORDER BY client_id LIMIT ?')
      .pluck(),
    clientListAfter: db
      .prepare<[string, string, number], string>(
        'SELECT data FROM clients WHERE realm = ? AND client_id > ? ORDER BY client_id LIMIT ?',
      )
      .pluck(),
    clientCreate: db.prepare<[ClientRow]>(
      `INSERT INTO clients (realm, client_id, data, created_at, updated_at)
       VALUES (@realm, @clientId, @data, @createdAt, @updatedAt) ON CONFLICT DO NOTHING`,
    ),
    clientPut: db.prepare<[ClientRow]>(
      `INSERT INTO clients (realm, client_id, data, created_at, updated_at)
       VALUES (@realm, @clientId, @data, @createdAt, @updatedAt)
       ON CONFLICT (realm, client_id) DO UPDATE SET
         data = excluded.data, created_at = excluded.created_at, updated_at = excluded.updated_at`,
    ),
    clientDelete: db.prepare<[string, string]>('DELETE FROM clients WHERE realm = ? AND client_id = ?'),
    clientCount: db.prepare<[string], number>('SELECT count(*) FROM clients WHERE realm = ?').pluck(),

    keyList: db
      .prepare<[string], string>('SELECT data FROM signing_keys WHERE realm = ? ORDER BY activates_at, kid')
      .pluck(),
    keyPut: db.prepare<[KeyRow]>(
      `INSERT INTO signing_keys (realm, kid, data, activates_at) VALUES (@realm, @kid, @data, @activatesAt)
       ON CONFLICT (realm, kid) DO UPDATE SET data = excluded.data, activates_at = excluded.activates_at`,
    ),
    keyDelete: db.prepare<[string, string]>('DELETE FROM signing_keys WHERE realm = ? AND kid = ?'),
    // One statement, hence atomic under SQLite's write lock.
    keyCreateFirst: db.prepare<[KeyRow]>(
      `INSERT INTO signing_keys (realm, kid, data, activates_at) SELECT @realm, @kid, @data, @activatesAt
       WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE realm = @realm)`,
    ),

    // Kept until the latest expiresAt given; an earlier one never shortens the entry.
    revoke: db.prepare<[string, string, number]>(
      `INSERT INTO revocations (realm, jti, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (realm, jti) DO UPDATE SET expires_at = excluded.expires_at
       WHERE excluded.expires_at > revocations.expires_at`,
    ),
    isRevoked: db.prepare<[string, string], number>('SELECT 1 FROM revocations WHERE realm = ? AND jti = ?').pluck(),
    revocationPurge: db.prepare<[number, number]>(
      'DELETE FROM revocations WHERE (realm, jti) IN (SELECT realm, jti FROM revocations WHERE expires_at < ? LIMIT ?)',
    ),
    revocationList: db.prepare<[string], { jti: string; expiresAt: number }>('SELECT jti, expires_at AS expiresAt FROM revocations WHERE realm = ? ORDER BY jti'),

    // One statement, hence atomic: inserts, or takes over an expired record, or changes nothing.

    changePublish: db.prepare<[string, string, string, number]>(
      'INSERT INTO change_log (realm, kind, id, at) VALUES (?, ?, ?, ?)',
    ),
    changeMaxSeq: db.prepare<[], number>('SELECT coalesce(max(seq), 0) FROM change_log').pluck(),
    changesSince: db.prepare<[number, number], ChangeRow>(
      'SELECT seq, realm, kind, id FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    changePrune: db.prepare<[number]>('DELETE FROM change_log WHERE at < ?'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** Runs one database operation, translating failures; `sql` gives the prepared statements. */
type Run = <T>(operation: (sql: Statements) => T) => T;

function sqliteClients(run: Run, extras: ReturnType<typeof sqliteAdminStores>['clientExtras']): ClientStore {
  const row = (client: ClientRecord): ClientRow => ({
    realm: client.realm,
    clientId: client.clientId,
    data: JSON.stringify(client),
    createdAt: client.createdAt,
    updatedAt: client.updatedAt,
  });
  return {
    async get(realm, clientId) {
      const data = run((sql) => sql.clientGet.get(realm, clientId));
      return data === undefined ? undefined : (JSON.parse(data) as ClientRecord);
    },
    async list(realm, options = {}) {
      checkLimit(options.limit);
      const limit = options.limit ?? -1; // negative: no limit
      const rows = run((sql) =>
        options.after === undefined
          ? sql.clientListFirst.all(realm, limit)
          : sql.clientListAfter.all(realm, options.after, limit),
      );
      return rows.map((data) => JSON.parse(data) as ClientRecord);
    },
    async create(client) {
      return run((sql) => sql.clientCreate.run(row(client)).changes === 1);
    },
    async put(client) {
      run((sql) => sql.clientPut.run(row(client)));
    },
    async update(client, expectedUpdatedAt) {
      return extras.update(client, expectedUpdatedAt);
    },
    async delete(realm, clientId) {
      return extras.delete(realm, clientId);
    },
    async deletedAt(realm, clientId) {
      return extras.deletedAt(realm, clientId);
    },
    async count(realm) {
      return run((sql) => sql.clientCount.get(realm) ?? 0);
    },
  };
}

function sqliteKeys(run: Run): SigningKeyStore {
  return {
    async list(realm) {
      return run((sql) => sql.keyList.all(realm)).map((data) => JSON.parse(data) as SigningKeyRecord);
    },
    async put(key) {
      const row: KeyRow = { realm: key.realm, kid: key.kid, data: JSON.stringify(key), activatesAt: key.activatesAt };
      run((sql) => sql.keyPut.run(row));
    },
    async createFirst(key) {
      const row: KeyRow = { realm: key.realm, kid: key.kid, data: JSON.stringify(key), activatesAt: key.activatesAt };
      return run((sql) => sql.keyCreateFirst.run(row).changes === 1);
    },
    async delete(realm, kid) {
      return run((sql) => sql.keyDelete.run(realm, kid).changes === 1);
    },
  };
}

function sqliteRevocations(run: Run): RevocationStore {
  return {
    async revoke(realm, jti, expiresAt) {
      run((sql) => sql.revoke.run(realm, jti, expiresAt));
    },
    async isRevoked(realm, jti) {
      return run((sql) => sql.isRevoked.get(realm, jti) !== undefined);
    },
    async list(realm) {
      return run((sql) => sql.revocationList.all(realm));
    },
    purgeExpired(now) {
      return purgeInChunks((limit) => run((sql) => sql.revocationPurge.run(now, limit).changes));
    },
  };
}

/** Rows deleted per statement by a purge. */
export const PURGE_CHUNK = 500;

/**
 * Deletes expired rows PURGE_CHUNK at a time, yielding to the event loop between chunks. The used
 * jtis of a busy minute are scattered over every leaf of the replay table's key, so one DELETE of
 * them holds the main thread for as long as it takes (measured: 0.9 s for 200,000 rows, every
 * request stalled meanwhile); in chunks the longest stall was 27 ms, for about 4× the total work.
 * Resolves the total.
 */
async function purgeInChunks(deleteChunk: (limit: number) => number): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = deleteChunk(PURGE_CHUNK);
    total += deleted;
    if (deleted < PURGE_CHUNK) return total;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * The replay store runs on a connection of its own with synchronous=NORMAL: one used jti per client
 * assertion is the only write on the token path, and a full fsync per assertion (≈ 0.17 ms that
 * blocks the event loop) would cap assertion throughput. In WAL mode NORMAL still survives a crash
 * of the process (kill -9); only an OS crash or power loss can lose the last entries, which could
 * let an assertion be replayed within its remaining lifetime (≤ 5 min) after such a failure.
 * Consumes made in the same turn of the event loop share one transaction (WriteBatcher): one
 * commit for all of them, each answered once it has committed.
 */
function sqliteReplay(run: <T>(operation: (sql: ReplayStatements) => T) => T): ReplayStore {
  const batcher = new WriteBatcher<ReplayRow, boolean>((rows) => run((sql) => sql.consumeAll.immediate(rows)));
  return {
    consume(realm, clientId, jti, expiresAt) {
      return batcher.add({ realm, clientId, jti, expiresAt, now: Date.now() });
    },
    purgeExpired(now) {
      return purgeInChunks((limit) => run((sql) => sql.purge.run(now, limit).changes));
    },
  };
}

function prepareReplayStatements(db: Database.Database) {
  const consume = db.prepare<[ReplayRow]>(REPLAY_CONSUME_SQL);
  return {
    /** One transaction; answers true for each row that was a first use (a later duplicate in the same batch is not). */
    consumeAll: db.transaction((rows: readonly ReplayRow[]) => rows.map((row) => consume.run(row).changes === 1)),
    purge: db.prepare<[number, number]>(
      'DELETE FROM replay WHERE (realm, client_id, jti) IN (SELECT realm, client_id, jti FROM replay WHERE expires_at < ? LIMIT ?)',
    ),
  };
}
type ReplayStatements = ReturnType<typeof prepareReplayStatements>;

/**
 * The change feed. publish() appends to change_log and tells this process's listeners at once;
 * while there are listeners, change_log is polled for rows written by other connections. Rows
 * this instance wrote are skipped by the poll, so each event is delivered once.
 */
class SqliteChangeFeed implements ChangeFeed {
  readonly #run: Run;
  readonly #pollMs: number;
  readonly #listeners = new ListenerSet();
  /** Seqs this instance published while polling, not yet passed by the poll. */
  readonly #ownSeqs = new Set<number>();
  #timer: NodeJS.Timeout | undefined;
  /** Highest seq handled; undefined until it could be read. */
  #lastSeen: number | undefined;
  #lastPrune = 0;

  constructor(run: Run, pollMs: number) {
    this.#run = run;
    this.#pollMs = pollMs;
  }

  async publish(event: ChangeEvent): Promise<void> {
    const { lastInsertRowid } = this.#run((sql) => sql.changePublish.run(event.realm, event.kind, event.id, Date.now()));
    if (this.#timer) this.#ownSeqs.add(Number(lastInsertRowid));
    this.#listeners.deliver(event);
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    const remove = this.#listeners.add(listener);
    if (!this.#timer) this.#start();
    return () => {
      remove();
      if (this.#listeners.size === 0) this.stop();
    };
  }

  /** Stops polling; runs when the last listener leaves and on close(). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#ownSeqs.clear();
  }

  clear(): void {
    this.stop();
    this.#listeners.clear();
  }

  #start(): void {
    // Only changes made from now on are delivered.
    this.#lastSeen = this.#tryRun((sql) => sql.changeMaxSeq.get() ?? 0);
    this.#timer = setInterval(() => this.#poll(), this.#pollMs);
    this.#timer.unref();
  }

  #poll(): void {
    this.#lastSeen ??= this.#tryRun((sql) => sql.changeMaxSeq.get() ?? 0);
    if (this.#lastSeen === undefined) return;
    const rows = this.#tryRun((sql) => sql.changesSince.all(this.#lastSeen!, CHANGE_LOG_BATCH)) ?? [];
    for (const { seq, realm, kind, id } of rows) {
      this.#lastSeen = seq;
      if (this.#ownSeqs.delete(seq)) continue;
      this.#listeners.deliver({ realm, kind, id });
    }
    const now = Date.now();
    if (now - this.#lastPrune >= CHANGE_LOG_PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      this.#tryRun((sql) => sql.changePrune.run(now - CHANGE_LOG_RETENTION_MS));
    }
  }

  /** Runs in the timer, where nobody could catch: a failure (busy, not migrated yet) waits for the next poll. */
  #tryRun<T>(operation: (sql: Statements) => T): T | undefined {
    try {
      return this.#run(operation);
    } catch {
      return undefined;
    }
  }
}

/** Opens (creating if needed) a SQLite storage; call migrate() before using a new file. */
export function createSqliteStorage(options: SqliteStorageOptions): Storage {
  const { path, changePollMs = 250, busyTimeoutMs = 5000 } = options;
  const db = openDatabase(path, busyTimeoutMs);
  const pingStatement = db.prepare('SELECT 1');
  let statements: Statements | undefined;

  const statementsOrThrow = (): Statements => {
    if (statements) return statements;
    try {
      return (statements = prepareStatements(db));
    } catch (error) {
      if (isUnavailable(error)) throw error;
      throw new Error(`sqlite storage ${path} has no schema: call migrate() first`, { cause: error });
    }
  };

  /** Runs one operation on the open database, translating backend failures. */
  const guard = <T>(operation: () => T): T => {
    if (!db.open) throw new StorageUnavailableError('sqlite storage is closed');
    try {
      return operation();
    } catch (error) {
      throw translate(error);
    }
  };
  const run: Run = (operation) => guard(() => operation(statementsOrThrow()));

  // The replay store's own connection (see sqliteReplay); an in-memory database has only one.
  const separateReplay = path !== '' && path !== ':memory:';
  let replayDb: Database.Database | undefined;
  let replayStatements: ReplayStatements | undefined;
  const replayRun = <T>(operation: (sql: ReplayStatements) => T): T =>
    guard(() => {
      if (!replayStatements) {
        statementsOrThrow(); // the schema must exist
        if (separateReplay) {
          replayDb = openDatabase(path, busyTimeoutMs);
          replayDb.pragma('synchronous = NORMAL');
          // 4 MB of page cache instead of better-sqlite3's 16 MB: the replay table's writes touch
          // one random leaf each, so a larger cache only grows the resident set (docs/performance.md).
          replayDb.pragma('cache_size = -4000');
        }
        replayStatements = prepareReplayStatements(replayDb ?? db);
      }
      return operation(replayStatements);
    });

  const changes = new SqliteChangeFeed(run, changePollMs);
  const dbRun: DbRun = (operation) =>
    guard(() => {
      statementsOrThrow(); // the schema must exist
      return operation(db);
    });
  const admin = sqliteAdminStores(dbRun);
  return {
    kind: 'sqlite',
    clients: sqliteClients(run, admin.clientExtras),
    audit: admin.audit,
    failures: admin.failures,
    realms: admin.realms,
    leases: admin.leases,
    consoleSessions: admin.consoleSessions,
    activity: admin.activity,
    keys: sqliteKeys(run),
    revocations: sqliteRevocations(run),
    replay: sqliteReplay(replayRun),
    changes,
    async migrate() {
      guard(() => applyMigrations(db));
    },
    async ping() {
      guard(() => pingStatement.get());
    },
    async close() {
      changes.clear();
      if (replayDb?.open) replayDb.close();
      if (db.open) db.close();
    },
  };
}
