/**
 * SQLite administration stores (migration 002): audit trail, recorded failures, runtime realms,
 * leases, client compare-and-set and tombstones; console sessions (migration 004). better-sqlite3 is synchronous, so a transaction
 * taken with BEGIN IMMEDIATE serialises writers across processes sharing the file.
 */
import type Database from 'better-sqlite3';
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
  RealmRecord,
  RealmStore,
} from '../../core/ports/index.ts';
import { GENESIS_HASH, failureKey, mergeFailure } from '../memory/admin.ts';

/** Runs an operation on the database, translating backend failures (the adapter's guard). */
export type DbRun = <T>(operation: (db: Database.Database) => T) => T;

type AuditRow = { seq: number; at: number; type: string; realm: string | null; client_id: string | null; data: string; prev_hash: string; hash: string };

function auditFromRow(r: AuditRow): AuditEventRecord {
  const body = JSON.parse(r.data) as { actor: AuditEventRecord['actor']; data: Record<string, unknown> };
  return { seq: r.seq, at: r.at, type: r.type, realm: r.realm, clientId: r.client_id, actor: body.actor, data: body.data, prevHash: r.prev_hash, hash: r.hash };
}

export function sqliteAdminStores(run: DbRun) {
  const audit: AuditStore = {
    async append(inputs, hash) {
      return run((db) =>
        db
          .transaction(() => {
            const last = db.prepare('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
            const anchor = db.prepare('SELECT seq, hash FROM audit_anchor WHERE id = 1').get() as { seq: number; hash: string } | undefined;
            let seq = last?.seq ?? anchor?.seq ?? 0;
            let prevHash = last?.hash ?? anchor?.hash ?? GENESIS_HASH;
            const insert = db.prepare('INSERT INTO audit_events (seq, at, type, realm, client_id, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
            return inputs.map((input) => {
              seq += 1;
              const partial = { ...input, seq, prevHash };
              const record: AuditEventRecord = { ...partial, hash: hash(partial) };
              insert.run(seq, record.at, record.type, record.realm, record.clientId, JSON.stringify({ actor: record.actor, data: record.data }), prevHash, record.hash);
              prevHash = record.hash;
              return record;
            });
          })
          .immediate(),
      );
    },
    async list(o = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (o.after !== undefined) (where.push('seq > ?'), args.push(o.after));
      if (o.since !== undefined) (where.push('at >= ?'), args.push(o.since));
      if (o.until !== undefined) (where.push('at < ?'), args.push(o.until));
      if (o.realm !== undefined) (where.push('realm = ?'), args.push(o.realm));
      if (o.clientId !== undefined) (where.push('client_id = ?'), args.push(o.clientId));
      if (o.type !== undefined) {
        if (o.type.endsWith('.*')) (where.push('substr(type, 1, ?) = ?'), args.push(o.type.length - 1, o.type.slice(0, -1)));
        else (where.push('type = ?'), args.push(o.type));
      }
      const sql = `SELECT * FROM audit_events${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?`;
      args.push(o.limit ?? -1);
      return run((db) => (db.prepare(sql).all(...args) as AuditRow[]).map(auditFromRow));
    },
    async anchor() {
      const row = run((db) => db.prepare('SELECT seq, hash FROM audit_anchor WHERE id = 1').get() as { seq: number; hash: string } | undefined);
      return row && { seq: row.seq, hash: row.hash };
    },
    async prune(before) {
      return run((db) =>
        db
          .transaction(() => {
            const last = db.prepare('SELECT seq, hash FROM audit_events WHERE at < ? ORDER BY seq DESC LIMIT 1').get(before) as { seq: number; hash: string } | undefined;
            if (!last) return 0;
            db.prepare('INSERT INTO audit_anchor (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash').run(last.seq, last.hash);
            return db.prepare('DELETE FROM audit_events WHERE seq <= ?').run(last.seq).changes;
          })
          .immediate(),
      );
    },
  };

  type FailureRow = { data: string; count: number; first_seen: number; last_seen: number };
  const failureFromRow = (r: FailureRow): AuthFailureRecord => ({ ...(JSON.parse(r.data) as AuthFailureRecord), count: r.count, firstSeen: r.first_seen, lastSeen: r.last_seen });
  const failures: FailureStore = {
    async record(batch, limits) {
      run((db) =>
        db
          .transaction(() => {
            const get = db.prepare('SELECT data, count, first_seen, last_seen FROM auth_failures WHERE key = ?');
            const put = db.prepare(
              `INSERT INTO auth_failures (key, realm, client_id, data, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (key) DO UPDATE SET data = excluded.data, count = excluded.count, first_seen = excluded.first_seen, last_seen = excluded.last_seen`,
            );
            const realms = new Set<string>();
            const clients = new Set<string>();
            for (const f of batch) {
              const key = failureKey(f);
              const row = get.get(key) as FailureRow | undefined;
              const merged = row ? mergeFailure(failureFromRow(row), f) : f;
              put.run(key, merged.realm, merged.clientId, JSON.stringify(merged), merged.count, merged.firstSeen, merged.lastSeen);
              realms.add(f.realm);
              clients.add(JSON.stringify([f.realm, f.clientId]));
            }
            for (const c of clients) {
              const [realm, clientId] = JSON.parse(c) as [string, string | null];
              db.prepare(
                `DELETE FROM auth_failures WHERE key IN (SELECT key FROM auth_failures WHERE realm = ? AND client_id IS ? ORDER BY last_seen DESC, key LIMIT -1 OFFSET ?)`,
              ).run(realm, clientId, limits.perClient);
            }
            for (const realm of realms) {
              db.prepare(`DELETE FROM auth_failures WHERE key IN (SELECT key FROM auth_failures WHERE realm = ? ORDER BY last_seen DESC, key LIMIT -1 OFFSET ?)`).run(realm, limits.perRealm);
            }
          })
          .immediate(),
      );
    },
    async list(realm, options = {}) {
      const rows = run((db) =>
        options.clientId === undefined
          ? db.prepare('SELECT data, count, first_seen, last_seen FROM auth_failures WHERE realm = ? ORDER BY last_seen DESC, key LIMIT ?').all(realm, options.limit ?? -1)
          : db.prepare('SELECT data, count, first_seen, last_seen FROM auth_failures WHERE realm = ? AND client_id = ? ORDER BY last_seen DESC, key LIMIT ?').all(realm, options.clientId, options.limit ?? -1),
      ) as FailureRow[];
      return rows.map(failureFromRow);
    },
  };

  const realms: RealmStore = {
    async list() {
      const rows = run((db) => db.prepare('SELECT name, data, created_at FROM realms ORDER BY name').all()) as Array<{ name: string; data: string; created_at: number }>;
      return rows.map((r): RealmRecord => ({ name: r.name, settings: JSON.parse(r.data) as Record<string, unknown>, createdAt: r.created_at }));
    },
    async get(name) {
      const r = run((db) => db.prepare('SELECT name, data, created_at FROM realms WHERE name = ?').get(name)) as { name: string; data: string; created_at: number } | undefined;
      return r && { name: r.name, settings: JSON.parse(r.data) as Record<string, unknown>, createdAt: r.created_at };
    },
    async create(realm) {
      return run((db) => db.prepare('INSERT INTO realms (name, data, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(realm.name, JSON.stringify(realm.settings), realm.createdAt).changes === 1);
    },
    async delete(name) {
      return run((db) => db.prepare('DELETE FROM realms WHERE name = ?').run(name).changes === 1);
    },
  };

  const leases: LeaseStore = {
    async acquire(name, holder, ttlMs, now) {
      return run(
        (db) =>
          db
            .prepare(
              `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
               ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
               WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
            )
            .run(name, holder, now + ttlMs, now).changes === 1,
      );
    },
  };

  const clientExtras = {
    update(client: ClientRecord, expectedUpdatedAt: number): boolean {
      return run(
        (db) =>
          db
            .prepare('UPDATE clients SET data = ?, created_at = ?, updated_at = ? WHERE realm = ? AND client_id = ? AND updated_at = ?')
            .run(JSON.stringify(client), client.createdAt, client.updatedAt, client.realm, client.clientId, expectedUpdatedAt).changes === 1,
      );
    },
    delete(realm: string, clientId: string): boolean {
      return run((db) =>
        db.transaction(() => {
          const deleted = db.prepare('DELETE FROM clients WHERE realm = ? AND client_id = ?').run(realm, clientId).changes === 1;
          if (deleted) {
            db.prepare(
              'INSERT INTO client_tombstones (realm, client_id, deleted_at) VALUES (?, ?, ?) ON CONFLICT (realm, client_id) DO UPDATE SET deleted_at = excluded.deleted_at',
            ).run(realm, clientId, Date.now());
          }
          return deleted;
        })(),
      );
    },
    deletedAt(realm: string, clientId: string): number | undefined {
      return run((db) => db.prepare('SELECT deleted_at FROM client_tombstones WHERE realm = ? AND client_id = ?').pluck().get(realm, clientId) as number | undefined);
    },
  };

  type SessionRow = { id_hash: string; subject: string; scope: string; created_at: number; last_seen: number; expires_at: number };
  const sessionFromRow = (r: SessionRow): ConsoleSessionRecord => ({ idHash: r.id_hash, subject: r.subject, scope: r.scope, createdAt: r.created_at, lastSeen: r.last_seen, expiresAt: r.expires_at });
  const consoleSessions: ConsoleSessionStore = {
    async create(s) {
      run((db) =>
        db
          .prepare('INSERT INTO console_sessions (id_hash, subject, scope, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(s.idHash, s.subject, s.scope, s.createdAt, s.lastSeen, s.expiresAt),
      );
    },
    async touch(idHash, now, idleMs) {
      // One statement: the check and the update are atomic across processes sharing the file.
      const row = run((db) =>
        db
          .prepare('UPDATE console_sessions SET last_seen = MAX(last_seen, ?) WHERE id_hash = ? AND ? < expires_at AND ? - last_seen <= ? RETURNING *')
          .get(now, idHash, now, now, idleMs),
      ) as SessionRow | undefined;
      if (row) return sessionFromRow(row);
      run((db) => db.prepare('DELETE FROM console_sessions WHERE id_hash = ?').run(idHash));
      return undefined;
    },
    async delete(idHash) {
      return run((db) => db.prepare('DELETE FROM console_sessions WHERE id_hash = ?').run(idHash).changes === 1);
    },
    async purgeExpired(now, idleBefore) {
      return run((db) => db.prepare('DELETE FROM console_sessions WHERE expires_at < ? OR last_seen < ?').run(now, idleBefore ?? -1).changes);
    },
  };

  const activity: ActivityStore = {
    async add(deltas) {
      if (deltas.length === 0) return;
      run((db) => {
        const up = db.prepare(
          `INSERT INTO activity (realm, client_id, minute, issued, failed) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (realm, client_id, minute) DO UPDATE SET issued = issued + excluded.issued, failed = failed + excluded.failed`,
        );
        db.transaction(() => {
          for (const d of deltas) up.run(d.realm, d.clientId ?? '', d.minute, d.issued, d.failed);
        })();
      });
    },
    async range(realm, clientId, fromMinute, toMinute) {
      return run((db) =>
        db.prepare('SELECT minute, issued, failed FROM activity WHERE realm = ? AND client_id = ? AND minute BETWEEN ? AND ? ORDER BY minute').all(realm, clientId ?? '', fromMinute, toMinute),
      ) as Array<{ minute: number; issued: number; failed: number }>;
    },
    async purge(beforeMinute) {
      return run((db) => db.prepare('DELETE FROM activity WHERE minute < ?').run(beforeMinute).changes);
    },
  };

  return { audit, failures, realms, leases, clientExtras, consoleSessions, activity };
}
