/**
 * In-memory twins of the administration stores (audit trail, recorded failures, runtime realms,
 * leases, client tombstones, console sessions): the reference behaviour the contract suite holds every adapter to.
 */
import type {
  AuditEventRecord,
  AuditListOptions,
  AuditStore,
  AuthFailureRecord,
  ActivityStore,
  ConsoleSessionRecord,
  ConsoleSessionStore,
  FailureStore,
  LeaseStore,
  RealmRecord,
  RealmStore,
} from '../../core/ports/index.ts';

import { AUDIT_GENESIS_HASH as GENESIS_HASH } from '../../core/ports/index.ts';
export { GENESIS_HASH };

/** Does an event match a list query (shared by adapters that filter in memory). */
export function auditMatches(e: AuditEventRecord, o: AuditListOptions): boolean {
  if (o.after !== undefined && e.seq <= o.after) return false;
  if (o.since !== undefined && e.at < o.since) return false;
  if (o.until !== undefined && e.at >= o.until) return false;
  if (o.realm !== undefined && e.realm !== o.realm) return false;
  if (o.clientId !== undefined && e.clientId !== o.clientId) return false;
  if (o.type !== undefined) {
    if (o.type.endsWith('.*') ? !e.type.startsWith(o.type.slice(0, -1)) : e.type !== o.type) return false;
  }
  return true;
}

export function memoryAudit(): AuditStore {
  const events: AuditEventRecord[] = [];
  let anchor: { seq: number; hash: string } | undefined;
  return {
    async append(inputs, hash) {
      const out: AuditEventRecord[] = [];
      for (const input of inputs) {
        const last = events.at(-1);
        const seq = (last?.seq ?? anchor?.seq ?? 0) + 1;
        const prevHash = last?.hash ?? anchor?.hash ?? GENESIS_HASH;
        const partial = { ...structuredClone(input), seq, prevHash };
        const record: AuditEventRecord = { ...partial, hash: hash(partial) };
        events.push(record);
        out.push(structuredClone(record));
      }
      return out;
    },
    async list(options = {}) {
      const matched = events.filter((e) => auditMatches(e, options));
      return structuredClone(options.limit === undefined ? matched : matched.slice(0, options.limit));
    },
    async anchor() {
      return anchor && { ...anchor };
    },
    async prune(before) {
      let n = 0;
      while (events.length > 0 && events[0]!.at < before) {
        const e = events.shift()!;
        anchor = { seq: e.seq, hash: e.hash };
        n++;
      }
      return n;
    },
  };
}

/** The aggregate key of a failure. */
export function failureKey(f: AuthFailureRecord): string {
  return JSON.stringify([f.realm, f.clientId, f.endpoint, f.source, f.error, f.reason]);
}

/** Merges `b` into `a` (same key). */
export function mergeFailure(a: AuthFailureRecord, b: AuthFailureRecord): AuthFailureRecord {
  const newer = b.lastSeen >= a.lastSeen ? b : a;
  return {
    ...a,
    method: newer.method,
    facts: newer.facts,
    count: a.count + b.count,
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen: Math.max(a.lastSeen, b.lastSeen),
  };
}

export function memoryFailures(): FailureStore {
  const byKey = new Map<string, AuthFailureRecord>();
  const newestFirst = (a: AuthFailureRecord, b: AuthFailureRecord) => b.lastSeen - a.lastSeen;
  return {
    async record(batch, limits) {
      const realms = new Set<string>();
      for (const f of batch) {
        const key = failureKey(f);
        const current = byKey.get(key);
        byKey.set(key, current ? mergeFailure(current, f) : structuredClone(f));
        realms.add(f.realm);
      }
      for (const realm of realms) {
        const all = [...byKey.entries()].filter(([, f]) => f.realm === realm).sort(([, a], [, b]) => newestFirst(a, b));
        const perClient = new Map<string, number>();
        let kept = 0;
        for (const [key, f] of all) {
          const c = JSON.stringify(f.clientId);
          const n = (perClient.get(c) ?? 0) + 1;
          perClient.set(c, n);
          if (n > limits.perClient || kept >= limits.perRealm) byKey.delete(key);
          else kept++;
        }
      }
    },
    async list(realm, options = {}) {
      const all = [...byKey.values()]
        .filter((f) => f.realm === realm && (options.clientId === undefined || f.clientId === options.clientId))
        .sort(newestFirst);
      return structuredClone(options.limit === undefined ? all : all.slice(0, options.limit));
    },
  };
}

export function memoryRealms(): RealmStore {
  const realms = new Map<string, RealmRecord>();
  return {
    async list() {
      return [...realms.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((r) => structuredClone(r));
    },
    async get(name) {
      const r = realms.get(name);
      return r && structuredClone(r);
    },
    async create(realm) {
      if (realms.has(realm.name)) return false;
      realms.set(realm.name, structuredClone(realm));
      return true;
    },
    async delete(name) {
      return realms.delete(name);
    },
  };
}

export function memoryLeases(): LeaseStore {
  const leases = new Map<string, { holder: string; expiresAt: number }>();
  return {
    async acquire(name, holder, ttlMs, now) {
      const current = leases.get(name);
      if (current && current.holder !== holder && current.expiresAt > now) return false;
      leases.set(name, { holder, expiresAt: now + ttlMs });
      return true;
    },
  };
}

/** Is a stored console session still usable at `now` (shared by the adapters that check in memory). */
export function consoleSessionLive(s: ConsoleSessionRecord, now: number, idleMs: number): boolean {
  return now < s.expiresAt && now - s.lastSeen <= idleMs;
}

export function memoryConsoleSessions(): ConsoleSessionStore {
  const sessions = new Map<string, ConsoleSessionRecord>();
  return {
    async create(session) {
      sessions.set(session.idHash, structuredClone(session));
    },
    // No await: the check and the update happen in one synchronous step, hence atomically.
    async touch(idHash, now, idleMs) {
      const s = sessions.get(idHash);
      if (!s) return undefined;
      if (!consoleSessionLive(s, now, idleMs)) {
        sessions.delete(idHash);
        return undefined;
      }
      s.lastSeen = Math.max(s.lastSeen, now);
      return structuredClone(s);
    },
    async delete(idHash) {
      return sessions.delete(idHash);
    },
    async purgeExpired(now, idleBefore) {
      let n = 0;
      for (const [id, s] of sessions) {
        if (s.expiresAt < now || (idleBefore !== undefined && s.lastSeen < idleBefore)) {
          sessions.delete(id);
          n++;
        }
      }
      return n;
    },
  };
}

export function memoryActivity(): ActivityStore {
  const rows = new Map<string, { realm: string; client: string; minute: number; issued: number; failed: number }>();
  return {
    async add(deltas) {
      for (const d of deltas) {
        const client = d.clientId ?? '';
        const key = `${d.realm}\0${client}\0${d.minute}`;
        const row = rows.get(key) ?? { realm: d.realm, client, minute: d.minute, issued: 0, failed: 0 };
        row.issued += d.issued;
        row.failed += d.failed;
        rows.set(key, row);
      }
    },
    async range(realm, clientId, fromMinute, toMinute) {
      const client = clientId ?? '';
      return [...rows.values()]
        .filter((r) => r.realm === realm && r.client === client && r.minute >= fromMinute && r.minute <= toMinute)
        .sort((a, b) => a.minute - b.minute)
        .map((r) => ({ minute: r.minute, issued: r.issued, failed: r.failed }));
    },
    async purge(beforeMinute) {
      let n = 0;
      for (const [key, r] of rows) if (r.minute < beforeMinute && rows.delete(key)) n++;
      return n;
    },
  };
}
