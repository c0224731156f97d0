/**
 * PostgreSQL storage (the `postgres` package): pooled connections, prepared statements, one schema
 * per deployment (or test run). Instances sharing a schema see each other's changes through
 * LISTEN/NOTIFY. With a Redis URL, replay records and change events go through Redis instead.
 *
 * Availability: an unreachable or failing server surfaces as StorageUnavailableError within a few
 * seconds (connect timeout 3 s, a deadline on every statement); the pool reconnects by itself when
 * the server is back.
 */
import { createHash, randomUUID } from 'node:crypto';
import postgres from 'postgres';
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
import { createRedisChangeFeed, createRedisReplayStore, envelope, parseEnvelope } from '../redis/index.ts';
import { createRedisRateLimiter } from '../redis/rate-limiter.ts';
import { postgresAdminStores, type Run } from './admin.ts';

export interface PostgresStorageOptions {
  /** postgres://user:pass@host:port/db; may carry `?schema=…` (or `search_path`) and `?redis=redis://…`. */
  url: string;
  /** The schema holding the tables (created when missing); default `public`. Wins over the URL's. */
  schema?: string;
  /** A redis:// URL: replay store and change feed on Redis. Wins over the URL's `redis` parameter. */
  redis?: string | undefined;
  /** Key prefix on Redis; default `tessera:<database>:<schema>:`. */
  redisPrefix?: string;
  /** Pool size (default 10). */
  max?: number;
  /** Accepted for option compatibility with SQLite; LISTEN/NOTIFY needs no polling. */
  changePollMs?: number;
  /** Apply pending migrations before resolving (default true). */
  migrate?: boolean;
}

export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

type Sql = postgres.Sql;

/** Seconds to open a connection before giving up. */
const CONNECT_TIMEOUT_S = 3;
/** Seconds an unused pooled connection stays open. */
const IDLE_TIMEOUT_S = 30;
/** Longest wait for one statement, queueing for a connection included (ms). */
const STATEMENT_DEADLINE_MS = 5000;
/** Longest name PostgreSQL keeps for a channel (NAMEDATALEN - 1 bytes). */
const MAX_IDENTIFIER_BYTES = 63;

/** Driver error codes meaning the server cannot be reached or the connection was lost. */
const UNAVAILABLE_DRIVER_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/**
 * SQLSTATEs meaning the server cannot serve right now: connection exceptions (08), insufficient
 * resources (53: too many connections, disk full), operator intervention (57: shutdown, crash
 * recovery, cancelled statement) and a read-only server (25006, e.g. right after a failover).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57)|^25006$/;

let migrationsCache: PostgresMigration[] | undefined;

/** The migrations shipped in ./migrations (NNN_name.sql), ordered by version. */
export function postgresMigrations(): PostgresMigration[] {
  return (migrationsCache ??= loadMigrations(new URL('./migrations/', import.meta.url), 'postgres'));
}

/** True for failures meaning the database cannot be reached or cannot serve right now. */
export function isPostgresUnavailable(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  if (error instanceof postgres.PostgresError) return UNAVAILABLE_SQLSTATE.test(code);
  return UNAVAILABLE_DRIVER_CODES.has(code);
}

/** Wraps backend failures in StorageUnavailableError; other errors (bugs) pass unchanged. */
function translate(error: unknown): unknown {
  if (error instanceof StorageUnavailableError || !isPostgresUnavailable(error)) return error;
  return new StorageUnavailableError(`postgres: ${(error as Error).message}`, { cause: error });
}

/** Rejects with StorageUnavailableError when `work` has not settled within `ms`. */
function withDeadline<T>(work: PromiseLike<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageUnavailableError(`postgres: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Whether `error` says the statement was never sent: the connection opened for it did not become
 * ready in time. The driver sends a statement waiting for a new connection only once the server
 * is ready for queries, which is also when it stops the connect timer.
 */
const neverSent = (error: unknown): boolean => error instanceof Error && (error as { code?: unknown }).code === 'CONNECT_TIMEOUT';

/**
 * Makes and runs a statement; again, once, when the first try was never sent and its caller still
 * waits (`waiting`: a statement made after its deadline could land after its caller was refused).
 */
async function runOnceMore<T>(statement: () => PromiseLike<T>, waiting: () => boolean): Promise<T> {
  try {
    return await statement();
  } catch (error) {
    if (!neverSent(error) || !waiting()) throw error;
    return statement();
  }
}

/**
 * Runs statements with a deadline and translated failures, and keeps track of those still running,
 * so that close() can wait for exactly them. (The driver's own graceful end may wait until its
 * timeout for a query that was lost with its connection.)
 */
class StatementRunner {
  readonly #running = new Set<Promise<unknown>>();

  /**
   * Runs one statement of the stores: it must settle within the statement deadline. A statement
   * whose new connection timed out is tried again within that deadline: the pool may meanwhile
   * have an idle connection (a slow connect, e.g. on a loaded machine, is not an outage).
   */
  readonly run: Run = (statement) => {
    const deadline = performance.now() + STATEMENT_DEADLINE_MS;
    return this.track(withDeadline(runOnceMore(statement, () => performance.now() < deadline), STATEMENT_DEADLINE_MS));
  };

  /** Runs work that has no deadline of its own (migrations, which may wait for a lock). */
  track<T>(work: PromiseLike<T>): Promise<T> {
    const running = Promise.resolve(work).catch((error: unknown) => {
      throw translate(error);
    });
    this.#running.add(running);
    const forget = () => this.#running.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Resolves once everything started so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#running);
  }
}

/** Quotes an SQL identifier. */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The URL's own parameters, split from those the driver understands. */
export interface ParsedPostgresUrl {
  /** The URL without `schema`, `search_path` and `redis`. */
  url: string;
  schema?: string;
  redis?: string;
}

/**
 * Takes Tessera's parameters out of a postgres:// URL: `schema` (or the first entry of
 * `search_path`) and `redis`. The driver would send unknown parameters to the server as settings.
 */
export function parsePostgresUrl(url: string): ParsedPostgresUrl {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return { url };
  const params = new URLSearchParams(url.slice(queryStart + 1));
  const searchPath = params.get('search_path')?.split(',')[0]?.trim().replace(/^"(.*)"$/, '$1');
  const schema = params.get('schema') ?? (searchPath || undefined);
  const redis = params.get('redis') ?? undefined;
  for (const name of ['schema', 'search_path', 'redis']) params.delete(name);
  const rest = params.toString();
  const base = url.slice(0, queryStart) + (rest ? `?${rest}` : '');
  return { url: base, ...(schema !== undefined && { schema }), ...(redis !== undefined && { redis }) };
}

/** The notification channel of a schema; hashed when the name would be too long for PostgreSQL. */
export function changeChannel(schema: string): string {
  const channel = `tessera_changes:${schema}`;
  if (Buffer.byteLength(channel) <= MAX_IDENTIFIER_BYTES) return channel;
  return `tessera_changes:${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/**
 * Applies the pending migrations in one transaction. A transaction-scoped advisory lock, keyed by
 * the schema, makes instances migrating at once run one after the other; the later ones find
 * nothing left to do. Resolves the versions applied.
 */
async function applyMigrations(sql: Sql, schema: string): Promise<number[]> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`tessera.migrate:${schema}`}, 0))`;
    // Existence is checked first, so that a role without CREATE privileges can start once the
    // schema is up to date (CREATE … IF NOT EXISTS checks the privilege even when nothing is missing).
    const [schemaFound] = await tx`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`;
    if (!schemaFound) await tx`CREATE SCHEMA ${tx(schema)}`;
    await tx.unsafe(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    const [{ tracked } = { tracked: false }] = await tx<{ tracked: boolean }[]>`
      SELECT to_regclass('schema_migrations') IS NOT NULL AS tracked`;
    if (!tracked) {
      await tx`CREATE TABLE schema_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`;
    }
    const applied = new Set((await tx<{ version: number }[]>`SELECT version FROM schema_migrations`).map((row) => row.version));
    const versions: number[] = [];
    for (const migration of postgresMigrations()) {
      if (applied.has(migration.version)) continue;
      await tx.unsafe(migration.sql);
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${migration.version}, ${migration.name})`;
      versions.push(migration.version);
    }
    return versions;
  });
}

/** A record as a jsonb parameter. */
const jsonb = (sql: Sql, record: ClientRecord | SigningKeyRecord) => sql.json(record as unknown as postgres.JSONValue);

type DataRow<T> = { data: T };

function postgresClients(sql: Sql, run: Run, extras: ReturnType<typeof postgresAdminStores>['clientExtras']): ClientStore {
  return {
    async get(realm, clientId) {
      const [row] = await run(() => sql<DataRow<ClientRecord>[]>`SELECT data FROM clients WHERE realm = ${realm} AND client_id = ${clientId}`);
      return row?.data;
    },
    async list(realm, options = {}) {
      checkLimit(options.limit);
      const limit = options.limit ?? null; // LIMIT NULL: no limit
      const rows = await run(() =>
        options.after === undefined
          ? sql<DataRow<ClientRecord>[]>`SELECT data FROM clients WHERE realm = ${realm} ORDER BY client_id LIMIT ${limit}`
          : sql<DataRow<ClientRecord>[]>`SELECT data FROM clients WHERE realm = ${realm} AND client_id > ${options.after}
              ORDER BY client_id LIMIT ${limit}`,
      );
      return rows.map((row) => row.data);
    },
    async create(client) {
      const result = await run(() => sql`INSERT INTO clients (realm, client_id, data, created_at, updated_at)
        VALUES (${client.realm}, ${client.clientId}, ${jsonb(sql, client)}, ${client.createdAt}, ${client.updatedAt})
        ON CONFLICT DO NOTHING`);
      return result.count === 1;
    },
    async put(client) {
      await run(() => sql`INSERT INTO clients (realm, client_id, data, created_at, updated_at)
        VALUES (${client.realm}, ${client.clientId}, ${jsonb(sql, client)}, ${client.createdAt}, ${client.updatedAt})
        ON CONFLICT (realm, client_id) DO UPDATE SET
          data = EXCLUDED.data, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at`);
    },
    update: (client, expectedUpdatedAt) => extras.update(client, expectedUpdatedAt),
    delete: (realm, clientId) => extras.delete(realm, clientId),
    deletedAt: (realm, clientId) => extras.deletedAt(realm, clientId),
    async count(realm) {
      const [row] = await run(() => sql<{ n: number }[]>`SELECT count(*)::integer AS n FROM clients WHERE realm = ${realm}`);
      return row?.n ?? 0;
    },
  };
}

function postgresKeys(sql: Sql, run: Run): SigningKeyStore {
  return {
    async list(realm) {
      const rows = await run(() =>
        sql<DataRow<SigningKeyRecord>[]>`SELECT data FROM signing_keys WHERE realm = ${realm} ORDER BY activates_at, kid`,
      );
      return rows.map((row) => row.data);
    },
    async put(key) {
      await run(() => sql`INSERT INTO signing_keys (realm, kid, data, activates_at)
        VALUES (${key.realm}, ${key.kid}, ${jsonb(sql, key)}, ${key.activatesAt})
        ON CONFLICT (realm, kid) DO UPDATE SET data = EXCLUDED.data, activates_at = EXCLUDED.activates_at`);
    },
    async delete(realm, kid) {
      const result = await run(() => sql`DELETE FROM signing_keys WHERE realm = ${realm} AND kid = ${kid}`);
      return result.count === 1;
    },
    // NOT EXISTS alone can race under READ COMMITTED: a transaction-scoped advisory lock per realm
    // makes concurrent first inserts run one after the other.
    async createFirst(key) {
      const inserted = await run(() =>
        sql.begin(async (tx) => {
          await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`tessera.first-key:${key.realm}`}, 0))`;
          return tx`INSERT INTO signing_keys (realm, kid, data, activates_at)
            SELECT ${key.realm}, ${key.kid}, ${jsonb(tx as unknown as Sql, key)}, ${key.activatesAt}
            WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE realm = ${key.realm})`;
        }),
      );
      return inserted.count === 1;
    },
  };
}

function postgresRevocations(sql: Sql, run: Run): RevocationStore {
  return {
    // Kept until the latest expiresAt given; an earlier one never shortens the entry.
    async revoke(realm, jti, expiresAt) {
      await run(() => sql`INSERT INTO revocations (realm, jti, expires_at) VALUES (${realm}, ${jti}, ${expiresAt})
        ON CONFLICT (realm, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
        WHERE EXCLUDED.expires_at > revocations.expires_at`);
    },
    async isRevoked(realm, jti) {
      const rows = await run(() => sql`SELECT 1 FROM revocations WHERE realm = ${realm} AND jti = ${jti}`);
      return rows.length > 0;
    },
    async list(realm) {
      const rows = await run(() => sql`SELECT jti, expires_at FROM revocations WHERE realm = ${realm} ORDER BY jti`);
      return rows.map((r) => ({ jti: r.jti as string, expiresAt: Number(r.expires_at) }));
    },
    async purgeExpired(now) {
      return (await run(() => sql`DELETE FROM revocations WHERE expires_at < ${now}`)).count;
    },
  };
}

interface ReplayUse {
  realm: string;
  clientId: string;
  jti: string;
  expiresAt: number;
}

/**
 * Consumes made in the same turn of the event loop (and those arriving while the previous write
 * runs) go to PostgreSQL as one statement, hence one commit (WriteBatcher). The statement is
 * atomic: each row inserts, or takes over an expired record, or changes nothing; RETURNING names
 * the rows that were first uses. Rows are sent sorted, so that two instances writing overlapping
 * batches take their row locks in the same order and cannot deadlock.
 */
function postgresReplay(sql: Sql, run: Run): ReplayStore {
  const batcher = new WriteBatcher<ReplayUse, boolean>(async (uses) => {
    // ON CONFLICT cannot touch one row twice in a statement: a repeat within the batch is a reuse.
    const keys = uses.map((use) => replayKey(use.realm, use.clientId, use.jti));
    const firstOf = new Map<string, number>();
    keys.forEach((key, i) => {
      if (!firstOf.has(key)) firstOf.set(key, i);
    });
    // Sorted by key, i.e. by (realm, client id, jti): NUL separates the parts and sorts first.
    const rows = [...firstOf].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, i]) => uses[i]!);
    const batch = JSON.stringify(rows.map((r) => ({ realm: r.realm, client_id: r.clientId, jti: r.jti, expires_at: Math.trunc(r.expiresAt) })));
    const written = await run(() => sql`INSERT INTO replay (realm, client_id, jti, expires_at)
      SELECT realm, client_id, jti, expires_at FROM json_to_recordset(${batch}::text::json) AS b(realm text, client_id text, jti text, expires_at bigint)
      ON CONFLICT (realm, client_id, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at
      WHERE replay.expires_at < ${Date.now()}
      RETURNING realm, client_id, jti`);
    const first = new Set(written.map((r) => replayKey(r.realm as string, r.client_id as string, r.jti as string)));
    return keys.map((key, i) => firstOf.get(key) === i && first.has(key));
  });
  return {
    consume(realm, clientId, jti, expiresAt) {
      return batcher.add({ realm: storable(realm), clientId: storable(clientId), jti: storable(jti), expiresAt });
    },
    async purgeExpired(now) {
      return (await run(() => sql`DELETE FROM replay WHERE expires_at < ${now}`)).count;
    },
  };
}

/**
 * PostgreSQL text holds neither NUL nor a lone surrogate, and one such value would fail the whole
 * batch it is in: both become U+FFFD, as the driver's UTF-8 encoding of a single parameter did for
 * surrogates. Two values that differ only there then share a record, which can refuse a first use
 * but never admit a reuse. (assertion.ts refuses such a jti before it gets here.)
 */
function storable(text: string): string {
  return text.replace(/[\0\p{Surrogate}]/gu, '\uFFFD');
}

/** The batch's key of a use; its parts hold no NUL (storable()). */
function replayKey(realm: string, clientId: string, jti: string): string {
  return `${realm}\0${clientId}\0${jti}`;
}

/**
 * The change feed on LISTEN/NOTIFY. publish() tells this instance's listeners directly and skips
 * its own notifications when they come back. Listening starts with the first subscribe() on a
 * dedicated connection, which the driver re-establishes (and re-listens on) after every loss.
 * Events published while it is down are not delivered: once listening again, the feed delivers
 * `{ kind: 'resync' }` to its subscribers, so that they drop whatever they cached meanwhile.
 */
class PostgresChangeFeed implements ChangeFeed {
  readonly #sql: Sql;
  readonly #run: Run;
  readonly #channel: string;
  readonly #origin = randomUUID();
  readonly #listeners = new ListenerSet();
  #listening = false;
  /** Whether LISTEN has succeeded once: every later success is a reconnection. */
  #listenedOnce = false;
  #closed = false;

  constructor(sql: Sql, run: Run, channel: string) {
    this.#sql = sql;
    this.#run = run;
    this.#channel = channel;
  }

  async publish(event: ChangeEvent): Promise<void> {
    await this.#run(() => this.#sql`SELECT pg_notify(${this.#channel}, ${envelope(event, this.#origin)})`);
    this.#listeners.deliver(event);
  }

  subscribe(listener: (event: ChangeEvent) => void): () => void {
    const remove = this.#listeners.add(listener);
    if (!this.#listening && !this.#closed) {
      this.#listening = true;
      // A first attempt failing (server down) is retried by the driver when its connection closes.
      // The driver calls onlisten after each successful LISTEN, the first and every re-listen.
      this.#sql.listen(this.#channel, (payload) => this.#receive(payload), () => this.#listened()).catch(() => {});
    }
    return remove;
  }

  close(): void {
    this.#closed = true;
    this.#listeners.clear();
  }

  #listened(): void {
    if (this.#closed) return;
    if (!this.#listenedOnce) {
      this.#listenedOnce = true;
      return;
    }
    this.#listeners.deliver({ realm: '', kind: 'resync', id: '' });
  }

  #receive(payload: string): void {
    const received = parseEnvelope(payload);
    if (received && received.origin !== this.#origin) this.#listeners.deliver(received);
  }
}

/**
 * Opens a PostgreSQL storage and (unless `migrate: false`) applies pending migrations, creating
 * the schema when missing. Safe to run from several processes at once.
 */
export async function createPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  const parsed = parsePostgresUrl(options.url);
  const schema = options.schema ?? parsed.schema ?? 'public';
  const redisUrl = options.redis ?? parsed.redis;
  const sql = postgres(parsed.url, {
    max: options.max ?? 10,
    prepare: true,
    connect_timeout: CONNECT_TIMEOUT_S,
    idle_timeout: IDLE_TIMEOUT_S,
    // Retry soon after a failure (at most a second later), so that the pool recovers promptly.
    backoff: (attempt) => Math.min(0.05 * 2 ** attempt, 1),
    fetch_types: false,
    connection: { application_name: 'tessera', search_path: quoteIdent(schema) },
    onnotice: () => {},
  });
  const runner = new StatementRunner();
  const { run } = runner;
  const redisPrefix = options.redisPrefix ?? `tessera:${sql.options.database}:${schema}:`;
  const redisReplay = redisUrl ? createRedisReplayStore({ connection: redisUrl, prefix: redisPrefix }) : undefined;
  const redisChanges = redisUrl ? createRedisChangeFeed({ connection: redisUrl, prefix: redisPrefix }) : undefined;
  const pgChanges = redisChanges ? undefined : new PostgresChangeFeed(sql, run, changeChannel(schema));
  // Failed-authentication counts shared by every instance, under the same per-deployment prefix.
  const limiter = redisUrl ? createRedisRateLimiter({ connection: redisUrl, prefix: redisPrefix }) : undefined;

  let closing: Promise<void> | undefined;
  /** Lets the running statements finish, then closes every connection at once. */
  const closePool = async () => {
    await runner.settled();
    await sql.end({ timeout: 0 });
  };
  const admin = postgresAdminStores(sql, run, schema);
  // Migrations run once per storage object (the server's start-up calls migrate() again).
  let migrated: Promise<void> | undefined;
  const storage: Storage = {
    kind: 'postgres',
    clients: postgresClients(sql, run, admin.clientExtras),
    audit: admin.audit,
    failures: admin.failures,
    realms: admin.realms,
    leases: admin.leases,
    consoleSessions: admin.consoleSessions,
    activity: admin.activity,
    keys: postgresKeys(sql, run),
    revocations: postgresRevocations(sql, run),
    replay: redisReplay ?? postgresReplay(sql, run),
    changes: redisChanges ?? pgChanges!,
    ...(limiter ? { limiter } : {}),
    async migrate() {
      migrated ??= runner.track(applyMigrations(sql, schema)).then(
        () => undefined,
        (error: unknown) => {
          migrated = undefined;
          throw error;
        },
      );
      await migrated;
    },
    async ping() {
      await run(() => sql`SELECT 1`);
      await redisReplay?.ping();
    },
    close() {
      pgChanges?.close();
      return (closing ??= Promise.all([closePool(), redisReplay?.close(), redisChanges?.close(), limiter?.close()]).then(() => {}));
    },
  };

  if (options.migrate ?? true) {
    try {
      await storage.migrate();
    } catch (error) {
      await storage.close();
      throw error;
    }
  }
  return storage;
}
