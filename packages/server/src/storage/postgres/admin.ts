/**
 * PostgreSQL administration stores (migration 002): audit trail, recorded failures, runtime
 * realms, leases, client compare-and-set and tombstones; console sessions (migration 004). Audit appends take a transaction-scoped
 * advisory lock, so concurrent writers on every instance extend one chain.
 */
import type postgres from 'postgres';
import type {
  AuditEventRecord,
  AuditStore,
  AuthFailureRecord,
  ClientRecord,
  ActivityStore,
  ConsoleSessionRecord,
  ConsoleSessionStore,
  FailureStore,
  LeaseStore,
  RealmStore,
} from '../../core/ports/index.ts';
import { GENESIS_HASH, failureKey, mergeFailure } from '../memory/admin.ts';

type Sql = postgres.Sql;
/**
 * Runs a statement made by the given function (index.ts StatementRunner.run). A function, not the
 * query itself (a query of the `postgres` package runs when awaited, once): so that the runner can
 * make it again when its first try was never sent.
 */
export type Run = <T>(statement: () => PromiseLike<T>) => Promise<T>;

type AuditRow = { seq: string | number; at: string | number; type: string; realm: string | null; client_id: string | null; data: string; prev_hash: string; hash: string };

function auditFromRow(r: AuditRow): AuditEventRecord {
  const body = JSON.parse(r.data) as { actor: AuditEventRecord['actor']; data: Record<string, unknown> };
  return { seq: Number(r.seq), at: Number(r.at), type: r.type, realm: r.realm, clientId: r.client_id, actor: body.actor, data: body.data, prevHash: r.prev_hash, hash: r.hash };
}

export function postgresAdminStores(sql: Sql, run: Run, schema: string) {
  const json = (v: unknown) => sql.json(v as postgres.JSONValue);
  const audit: AuditStore = {
    async append(inputs, hash) {
      return run(() =>
        sql.begin(async (tx) => {
          await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`tessera.audit:${schema}`}, 0))`;
          const [last] = await tx<{ seq: string; hash: string }[]>`SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`;
          const [anchor] = last ? [] : await tx<{ seq: string; hash: string }[]>`SELECT seq, hash FROM audit_anchor WHERE id = 1`;
          let seq = Number(last?.seq ?? anchor?.seq ?? 0);
          let prevHash = last?.hash ?? anchor?.hash ?? GENESIS_HASH;
          const out: AuditEventRecord[] = [];
          for (const input of inputs) {
            seq += 1;
            const partial = { ...input, seq, prevHash };
            const record: AuditEventRecord = { ...partial, hash: hash(partial) };
            await tx`INSERT INTO audit_events (seq, at, type, realm, client_id, data, prev_hash, hash)
              VALUES (${seq}, ${record.at}, ${record.type}, ${record.realm}, ${record.clientId},
                      ${JSON.stringify({ actor: record.actor, data: record.data })}, ${prevHash}, ${record.hash})`;
            prevHash = record.hash;
            out.push(record);
          }
          return out;
        }),
      );
    },
    async list(o = {}) {
      const type = o.type;
      const prefix = type?.endsWith('.*') ? type.slice(0, -1) : undefined;
      const rows = await run(() => sql<AuditRow[]>`SELECT * FROM audit_events WHERE true
        ${o.after !== undefined ? sql`AND seq > ${o.after}` : sql``}
        ${o.since !== undefined ? sql`AND at >= ${o.since}` : sql``}
        ${o.until !== undefined ? sql`AND at < ${o.until}` : sql``}
        ${o.realm !== undefined ? sql`AND realm = ${o.realm}` : sql``}
        ${o.clientId !== undefined ? sql`AND client_id = ${o.clientId}` : sql``}
        ${prefix !== undefined ? sql`AND starts_with(type, ${prefix})` : type !== undefined ? sql`AND type = ${type}` : sql``}
        ORDER BY seq LIMIT ${o.limit ?? null}`);
      return rows.map(auditFromRow);
    },
    async anchor() {
      const [row] = await run(() => sql<{ seq: string; hash: string }[]>`SELECT seq, hash FROM audit_anchor WHERE id = 1`);
      return row && { seq: Number(row.seq), hash: row.hash };
    },
    async prune(before) {
      return run(() =>
        sql.begin(async (tx) => {
          await tx`SELECT pg_advisory_xact_lock(hashtextextended(${`tessera.audit:${schema}`}, 0))`;
          const [last] = await tx<{ seq: string; hash: string }[]>`SELECT seq, hash FROM audit_events WHERE at < ${before} ORDER BY seq DESC LIMIT 1`;
          if (!last) return 0;
          await tx`INSERT INTO audit_anchor (id, seq, hash) VALUES (1, ${last.seq}, ${last.hash})
            ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash`;
          return (await tx`DELETE FROM audit_events WHERE seq <= ${last.seq}`).count;
        }),
      );
    },
  };

  type FailureRow = { data: AuthFailureRecord; count: string; first_seen: string; last_seen: string };
  const failureFromRow = (r: FailureRow): AuthFailureRecord => ({ ...r.data, count: Number(r.count), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen) });
  const failures: FailureStore = {
    async record(batch, limits) {
      // Merge within the batch first, then one upsert per key, in key order (no deadlocks between instances).
      const merged = new Map<string, AuthFailureRecord>();
      for (const f of batch) {
        const k = failureKey(f);
        const cur = merged.get(k);
        merged.set(k, cur ? mergeFailure(cur, f) : f);
      }
      const keys = [...merged.keys()].sort();
      await run(() =>
        sql.begin(async (tx) => {
          const clients = new Set<string>();
          for (const k of keys) {
            const f = merged.get(k)!;
            await tx`INSERT INTO auth_failures (key, realm, client_id, data, count, first_seen, last_seen)
              VALUES (${k}, ${f.realm}, ${f.clientId}, ${json(f)}, ${f.count}, ${f.firstSeen}, ${f.lastSeen})
              ON CONFLICT (key) DO UPDATE SET
                data = CASE WHEN EXCLUDED.last_seen >= auth_failures.last_seen THEN EXCLUDED.data ELSE auth_failures.data END,
                count = auth_failures.count + EXCLUDED.count,
                first_seen = least(auth_failures.first_seen, EXCLUDED.first_seen),
                last_seen = greatest(auth_failures.last_seen, EXCLUDED.last_seen)`;
            clients.add(JSON.stringify([f.realm, f.clientId]));
          }
          const realms = new Set<string>();
          for (const c of clients) {
            const [realm, clientId] = JSON.parse(c) as [string, string | null];
            realms.add(realm);
            await tx`DELETE FROM auth_failures WHERE key IN (SELECT key FROM auth_failures
              WHERE realm = ${realm} AND client_id IS NOT DISTINCT FROM ${clientId} ORDER BY last_seen DESC, key OFFSET ${limits.perClient})`;
          }
          for (const realm of realms) {
            await tx`DELETE FROM auth_failures WHERE key IN (SELECT key FROM auth_failures
              WHERE realm = ${realm} ORDER BY last_seen DESC, key OFFSET ${limits.perRealm})`;
          }
        }),
      );
    },
    async list(realm, options = {}) {
      const rows = await run(() => sql<FailureRow[]>`SELECT data, count, first_seen, last_seen FROM auth_failures WHERE realm = ${realm}
        ${options.clientId !== undefined ? sql`AND client_id = ${options.clientId}` : sql``}
        ORDER BY last_seen DESC, key LIMIT ${options.limit ?? null}`);
      return rows.map(failureFromRow);
    },
  };

  const realms: RealmStore = {
    async list() {
      const rows = await run(() => sql<{ name: string; data: Record<string, unknown>; created_at: string }[]>`SELECT name, data, created_at FROM realms ORDER BY name`);
      return rows.map((r) => ({ name: r.name, settings: r.data, createdAt: Number(r.created_at) }));
    },
    async get(name) {
      const [r] = await run(() => sql<{ name: string; data: Record<string, unknown>; created_at: string }[]>`SELECT name, data, created_at FROM realms WHERE name = ${name}`);
      return r && { name: r.name, settings: r.data, createdAt: Number(r.created_at) };
    },
    async create(realm) {
      return (await run(() => sql`INSERT INTO realms (name, data, created_at) VALUES (${realm.name}, ${json(realm.settings)}, ${realm.createdAt}) ON CONFLICT DO NOTHING`)).count === 1;
    },
    async delete(name) {
      return (await run(() => sql`DELETE FROM realms WHERE name = ${name}`)).count === 1;
    },
  };

  const leases: LeaseStore = {
    async acquire(name, holder, ttlMs, now) {
      const result = await run(() => sql`INSERT INTO leases (name, holder, expires_at) VALUES (${name}, ${holder}, ${now + ttlMs})
        ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
        WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= ${now}`);
      return result.count === 1;
    },
  };

  const clientExtras = {
    async update(client: ClientRecord, expectedUpdatedAt: number): Promise<boolean> {
      const result = await run(() => sql`UPDATE clients SET data = ${json(client)}, created_at = ${client.createdAt}, updated_at = ${client.updatedAt}
        WHERE realm = ${client.realm} AND client_id = ${client.clientId} AND updated_at = ${expectedUpdatedAt}`);
      return result.count === 1;
    },
    async delete(realm: string, clientId: string): Promise<boolean> {
      return run(() =>
        sql.begin(async (tx) => {
          const deleted = (await tx`DELETE FROM clients WHERE realm = ${realm} AND client_id = ${clientId}`).count === 1;
          if (deleted) {
            await tx`INSERT INTO client_tombstones (realm, client_id, deleted_at) VALUES (${realm}, ${clientId}, ${Date.now()})
              ON CONFLICT (realm, client_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at`;
          }
          return deleted;
        }),
      );
    },
    async deletedAt(realm: string, clientId: string): Promise<number | undefined> {
      const [row] = await run(() => sql<{ deleted_at: string }[]>`SELECT deleted_at FROM client_tombstones WHERE realm = ${realm} AND client_id = ${clientId}`);
      return row === undefined ? undefined : Number(row.deleted_at);
    },
  };

  type SessionRow = { id_hash: string; subject: string; scope: string; created_at: string; last_seen: string; expires_at: string };
  const sessionFromRow = (r: SessionRow): ConsoleSessionRecord => ({
    idHash: r.id_hash,
    subject: r.subject,
    scope: r.scope,
    createdAt: Number(r.created_at),
    lastSeen: Number(r.last_seen),
    expiresAt: Number(r.expires_at),
  });
  const consoleSessions: ConsoleSessionStore = {
    async create(s) {
      await run(() => sql`INSERT INTO console_sessions (id_hash, subject, scope, created_at, last_seen, expires_at)
        VALUES (${s.idHash}, ${s.subject}, ${s.scope}, ${s.createdAt}, ${s.lastSeen}, ${s.expiresAt})`);
    },
    async touch(idHash, now, idleMs) {
      // One statement: the check and the update are atomic across instances.
      const [row] = await run(() => sql<SessionRow[]>`UPDATE console_sessions SET last_seen = GREATEST(last_seen, ${now})
        WHERE id_hash = ${idHash} AND ${now} < expires_at AND ${now} - last_seen <= ${idleMs} RETURNING *`);
      if (row) return sessionFromRow(row);
      await run(() => sql`DELETE FROM console_sessions WHERE id_hash = ${idHash}`);
      return undefined;
    },
    async delete(idHash) {
      return (await run(() => sql`DELETE FROM console_sessions WHERE id_hash = ${idHash}`)).count === 1;
    },
    async purgeExpired(now, idleBefore) {
      return (await run(() => sql`DELETE FROM console_sessions WHERE expires_at < ${now} OR last_seen < ${idleBefore ?? -1}`)).count;
    },
  };

  const activity: ActivityStore = {
    async add(deltas) {
      if (deltas.length === 0) return;
      const rows = deltas.map((d) => ({ realm: d.realm, client_id: d.clientId ?? '', minute: d.minute, issued: d.issued, failed: d.failed }));
      await run(() => sql`INSERT INTO activity ${sql(rows, 'realm', 'client_id', 'minute', 'issued', 'failed')}
        ON CONFLICT (realm, client_id, minute) DO UPDATE SET issued = activity.issued + excluded.issued, failed = activity.failed + excluded.failed`);
    },
    async range(realm, clientId, fromMinute, toMinute) {
      const rows = await run(() => sql<Array<{ minute: string; issued: string; failed: string }>>`SELECT minute, issued, failed FROM activity
        WHERE realm = ${realm} AND client_id = ${clientId ?? ''} AND minute BETWEEN ${fromMinute} AND ${toMinute} ORDER BY minute`);
      return rows.map((r) => ({ minute: Number(r.minute), issued: Number(r.issued), failed: Number(r.failed) }));
    },
    async purge(beforeMinute) {
      return (await run(() => sql`DELETE FROM activity WHERE minute < ${beforeMinute}`)).count;
    },
  };

  return { audit, failures, realms, leases, clientExtras, consoleSessions, activity };
}
