/**
 * PostgreSQL and Redis around the PostgreSQL scenario: is the server there, a fresh schema name
 * per run, what Tessera wrote (replay rows, Redis keys), and dropping it all afterwards.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { Redis } from 'ioredis';

export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function freshSchema(): string {
  return `bench_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function client(url: string): postgres.Sql {
  return postgres(url, { max: 1, connect_timeout: 3, idle_timeout: 1, onnotice: () => {}, fetch_types: false });
}

/** Undefined when reachable, else why not. */
export async function pgUnavailable(url: string): Promise<string | undefined> {
  const sql = client(url);
  try {
    await sql`SELECT 1`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

export async function redisUnavailable(url: string): Promise<string | undefined> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    r.disconnect();
  }
}

/** Row counts of Tessera's tables in `schema` (missing tables are left out). */
export async function pgRowCounts(url: string, schema: string): Promise<Record<string, number>> {
  const sql = client(url);
  try {
    const tables = await sql<{ table_name: string }[]>`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY table_name`;
    const out: Record<string, number> = {};
    for (const { table_name } of tables) {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::integer AS n FROM ${sql(schema)}.${sql(table_name)}`;
      out[table_name] = row?.n ?? 0;
    }
    return out;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export async function pgDropSchema(url: string, schema: string): Promise<void> {
  const sql = client(url);
  try {
    await sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Keys under `prefix`; with `drop`, deletes them. */
export async function redisKeys(url: string, prefix: string, drop = false): Promise<number> {
  const r = new Redis(url, { connectTimeout: 2000, maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      n += keys.length;
      if (drop && keys.length) await r.del(...keys);
    } while (cursor !== '0');
    return n;
  } finally {
    r.disconnect();
  }
}

/** Tessera's default Redis key prefix for a PostgreSQL URL and schema (see storage/postgres). */
export function tesseraRedisPrefix(pgUrl: string, schema: string): string {
  const database = new URL(pgUrl).pathname.replace(/^\//, '') || 'postgres';
  return `tessera:${database}:${schema}:`;
}
