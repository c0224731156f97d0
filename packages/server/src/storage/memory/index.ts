/**
 * In-memory storage: the reference implementation of the storage ports. Nothing survives the
 * process, so it serves tests and single-process development only.
 */
import type {
  ChangeEvent,
  ChangeFeed,
  ClientListOptions,
  ClientRecord,
  ClientStore,
  ReplayStore,
  RevocationStore,
  SigningKeyRecord,
  SigningKeyStore,
  Storage,
} from '../../core/ports/index.ts';
import { memoryActivity, memoryAudit, memoryFailures, memoryConsoleSessions, memoryLeases, memoryRealms } from './admin.ts';

type Listener = (event: ChangeEvent) => void;

/**
 * In-process listeners of a change feed. Delivery is asynchronous (a microtask per listener), so a
 * publisher never runs listener code and a throwing listener affects neither the publisher nor
 * the other listeners. Also used by the SQLite adapter for its own process.
 */
export class ListenerSet {
  readonly #listeners = new Set<Listener>();

  get size(): number {
    return this.#listeners.size;
  }

  /** Adds a listener; the returned function removes it (idempotent). */
  add(listener: Listener): () => void {
    // Wrapped so that one function subscribed twice is two independent subscriptions.
    const entry: Listener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  deliver(event: ChangeEvent): void {
    for (const listener of this.#listeners) {
      queueMicrotask(() => {
        if (!this.#listeners.has(listener)) return; // removed since the event was published
        try {
          listener({ realm: event.realm, kind: event.kind, id: event.id });
        } catch {
          // A listener's failure is its own; the feed carries on.
        }
      });
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

/**
 * Orders ids by Unicode code point, which is the byte order of their UTF-8 form: the order
 * SQLite (BINARY collation), PostgreSQL (COLLATE "C") and Redis use. Plain `<` compares UTF-16
 * code units, which puts characters above U+FFFF before U+E000–U+FFFF.
 */
export function compareIds(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (0xD800–0xDFFF) above 0xE000–0xFFFF, keeping the order within each group. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}

/** Checks a list limit: a non-negative integer, or undefined for no limit. */
export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new RangeError(`list limit must be a non-negative integer, got ${limit}`);
  }
}

/** A two-level map: realm → id → value. */
class RealmMap<V> {
  readonly #realms = new Map<string, Map<string, V>>();

  get(realm: string, id: string): V | undefined {
    return this.#realms.get(realm)?.get(id);
  }

  set(realm: string, id: string, value: V): void {
    let entries = this.#realms.get(realm);
    if (!entries) this.#realms.set(realm, (entries = new Map()));
    entries.set(id, value);
  }

  delete(realm: string, id: string): boolean {
    const entries = this.#realms.get(realm);
    if (!entries?.delete(id)) return false;
    if (entries.size === 0) this.#realms.delete(realm);
    return true;
  }

  /** The entries of one realm, in insertion order. */
  realm(realm: string): ReadonlyMap<string, V> {
    return this.#realms.get(realm) ?? new Map();
  }

  /** Deletes every entry for which `test` holds; returns how many. */
  deleteWhere(test: (value: V) => boolean): number {
    let removed = 0;
    for (const [realm, entries] of this.#realms) {
      for (const [id, value] of entries) {
        if (test(value)) {
          entries.delete(id);
          removed++;
        }
      }
      if (entries.size === 0) this.#realms.delete(realm);
    }
    return removed;
  }
}

function memoryClients(): ClientStore {
  const clients = new RealmMap<ClientRecord>();
  const tombstones = new RealmMap<number>();
  return {
    async get(realm, clientId) {
      const client = clients.get(realm, clientId);
      return client && structuredClone(client);
    },
    async list(realm, options: ClientListOptions = {}) {
      checkLimit(options.limit);
      const { after } = options;
      const sorted = [...clients.realm(realm).values()]
        .filter((client) => after === undefined || compareIds(client.clientId, after) > 0)
        .sort((a, b) => compareIds(a.clientId, b.clientId));
      return sorted.slice(0, options.limit).map((client) => structuredClone(client));
    },
    async create(client) {
      if (clients.get(client.realm, client.clientId)) return false;
      clients.set(client.realm, client.clientId, structuredClone(client));
      return true;
    },
    async put(client) {
      clients.set(client.realm, client.clientId, structuredClone(client));
    },
    async update(client, expectedUpdatedAt) {
      const current = clients.get(client.realm, client.clientId);
      if (!current || current.updatedAt !== expectedUpdatedAt) return false;
      clients.set(client.realm, client.clientId, structuredClone(client));
      return true;
    },
    async delete(realm, clientId) {
      if (!clients.delete(realm, clientId)) return false;
      tombstones.set(realm, clientId, Date.now());
      return true;
    },
    async deletedAt(realm, clientId) {
      return tombstones.get(realm, clientId);
    },
    async count(realm) {
      return clients.realm(realm).size;
    },
  };
}

function memoryKeys(): SigningKeyStore {
  const keys = new RealmMap<SigningKeyRecord>();
  return {
    async list(realm) {
      return [...keys.realm(realm).values()]
        .sort((a, b) => a.activatesAt - b.activatesAt || compareIds(a.kid, b.kid))
        .map((key) => structuredClone(key));
    },
    async put(key) {
      keys.set(key.realm, key.kid, structuredClone(key));
    },
    // No await: the check and the set happen in one synchronous step, hence atomically.
    async createFirst(key) {
      if (keys.realm(key.realm).size > 0) return false;
      keys.set(key.realm, key.kid, structuredClone(key));
      return true;
    },
    async delete(realm, kid) {
      return keys.delete(realm, kid);
    },
  };
}

function memoryRevocations(): RevocationStore {
  const expiries = new RealmMap<number>();
  return {
    async revoke(realm, jti, expiresAt) {
      // Kept at least until the latest expiresAt ever given.
      expiries.set(realm, jti, Math.max(expiresAt, expiries.get(realm, jti) ?? -Infinity));
    },
    async isRevoked(realm, jti) {
      return expiries.get(realm, jti) !== undefined;
    },
    async purgeExpired(now) {
      return expiries.deleteWhere((expiresAt) => expiresAt < now);
    },
    async list(realm) {
      return [...expiries.realm(realm)].map(([jti, expiresAt]) => ({ jti, expiresAt })).sort((a, b) => compareIds(a.jti, b.jti));
    },
  };
}

function memoryReplay(): ReplayStore {
  // Keyed by realm, then by [clientId, jti] as JSON: an encoding no two distinct pairs share.
  const expiries = new RealmMap<number>();
  return {
    // No await: the check and the set happen in one synchronous step, hence atomically.
    async consume(realm, clientId, jti, expiresAt) {
      const key = JSON.stringify([clientId, jti]);
      const current = expiries.get(realm, key);
      if (current !== undefined && current >= Date.now()) return false;
      expiries.set(realm, key, expiresAt);
      return true;
    },
    async purgeExpired(now) {
      return expiries.deleteWhere((expiresAt) => expiresAt < now);
    },
  };
}

function memoryChanges(listeners: ListenerSet): ChangeFeed {
  return {
    async publish(event) {
      listeners.deliver(event);
    },
    subscribe(listener) {
      return listeners.add(listener);
    },
  };
}

/** Creates an empty in-memory storage. */
export function createMemoryStorage(): Storage {
  const listeners = new ListenerSet();
  return {
    kind: 'memory',
    clients: memoryClients(),
    keys: memoryKeys(),
    revocations: memoryRevocations(),
    replay: memoryReplay(),
    changes: memoryChanges(listeners),
    audit: memoryAudit(),
    failures: memoryFailures(),
    realms: memoryRealms(),
    leases: memoryLeases(),
    consoleSessions: memoryConsoleSessions(),
    activity: memoryActivity(),
    async migrate() {},
    async ping() {},
    async close() {
      listeners.clear();
    },
  };
}
