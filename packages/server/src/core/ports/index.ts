/**
 * Storage ports: small per-capability interfaces. Adapters (memory, SQLite, PostgreSQL, Redis)
 * implement them and are held to one behavioural contract suite (src/storage/contract).
 *
 * Contract rules common to every port:
 * - every method may reject with StorageUnavailableError when the backend cannot be reached;
 * - a write that resolved is durable (it survives a crash of the process);
 * - records are returned as fresh objects: callers may not mutate what a store keeps.
 */
import type { TokenEndpointAuthMethod } from '../../shared/oauth.ts';

/** A JSON Web Key as registered by a client or published by the server (public members only). */
export type Jwk = {
  kty: string;
  kid?: string;
  use?: string;
  key_ops?: string[];
  alg?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  x5c?: string[];
  x5t?: string;
  'x5t#S256'?: string;
  [member: string]: unknown;
};

export interface JwkSet {
  keys: Jwk[];
}

/**
 * A registered client. Field names are camelCase here; the RFC 7591 names are used on the wire
 * (config file, CLI and admin API) and mapped in core/clients/metadata.ts.
 */
export interface ClientRecord {
  realm: string;
  clientId: string;
  clientName?: string;
  owners: string[];
  disabled: boolean;
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** Pins the JWS alg of client assertions (RFC 7591 token_endpoint_auth_signing_alg). */
  tokenEndpointAuthSigningAlg?: string;
  /** Hash of the client secret (core/clients/secrets.ts), for client_secret_basic/post. */
  secretHash?: string;
  /**
   * The secret itself encrypted with the key-encryption key, only for client_secret_jwt, which
   * needs it as an HMAC key (a hash cannot verify an HMAC).
   */
  secretEncrypted?: string;
  jwks?: JwkSet;
  jwksUri?: string;
  grantTypes: string[];
  /** Scopes the client may be granted. */
  scopes: string[];
  /** Scopes granted when the request names none; falls back to `scopes`. */
  defaultScopes?: string[];
  /** Access-token lifetime in seconds (falls back to the realm's). */
  accessTokenTtl?: number;
  /** Resource indicators (RFC 8707) the client may ask for as token audience. */
  allowedResources?: string[];
  /** Audience used when the request names no resource (falls back to the realm's). */
  defaultResource?: string;
  /** Extra claims added to every access token of this client (never overriding registered ones). */
  extraClaims?: Record<string, unknown>;
  /** May call the introspection endpoint for tokens of any client of its realm. */
  mayIntrospect: boolean;
  /** Compatibility: accept a Basic header together with a client assertion (both must verify). */
  allowBasicWithAssertion: boolean;
  /** Maximum client-assertion lifetime in seconds (falls back to the realm's). */
  maxAssertionLifetime?: number;
  /** Opt-in token reuse (issue 5); off unless set. */
  tokenReuse?: boolean;
  /**
   * Secret overlap after a rotation: the previous secret's hash (and encryption, client_secret_jwt)
   * keep authenticating until previousSecretExpiresAt (ms).
   */
  previousSecretHash?: string;
  previousSecretEncrypted?: string;
  previousSecretExpiresAt?: number;
  /** Per-client not-before (ms): tokens issued before it are inactive at introspection. */
  notBefore?: number;
  /** Set when the configuration file declares this client: what it declared when last applied. */
  declared?: DeclaredClient;
  createdAt: number;
  /** Also the client's version (ETag): strictly increases on every write. */
  updatedAt: number;
}

/** What the configuration file declared for a client, as last applied (start-up config sync). */
export interface DeclaredClient {
  /** The declared metadata without client_secret, as in the file. */
  fields: Record<string, unknown>;
  /** HMAC (keyed from the KEK) of the declared client_secret, when the file names one. */
  secretFingerprint?: string;
  /** The secret was changed at runtime (rotation) after the file's was applied. */
  secretOverridden?: boolean;
}

export interface ClientListOptions {
  /** Return clients whose id sorts after this one (keyset pagination). */
  after?: string;
  limit?: number;
}

export interface ClientStore {
  get(realm: string, clientId: string): Promise<ClientRecord | undefined>;
  /** Clients of a realm ordered by clientId. */
  list(realm: string, options?: ClientListOptions): Promise<ClientRecord[]>;
  /** Inserts a new client; resolves false (and writes nothing) when the id is taken in that realm. */
  create(client: ClientRecord): Promise<boolean>;
  /** Inserts or replaces. */
  put(client: ClientRecord): Promise<void>;
  /**
   * Replaces the client only if the stored one still has `expectedUpdatedAt` (compare-and-set, also
   * across processes). Resolves false (and writes nothing) when it changed or is gone.
   */
  update(client: ClientRecord, expectedUpdatedAt: number): Promise<boolean>;
  /** Resolves true when a client was deleted. A deletion leaves a tombstone (see deletedAt). */
  delete(realm: string, clientId: string): Promise<boolean>;
  /** When a client of this id was last deleted (ms), so that a re-created id never revives old tokens. */
  deletedAt(realm: string, clientId: string): Promise<number | undefined>;
  count(realm: string): Promise<number>;
}

/** A signing key of a realm. The private key is only ever stored encrypted. */
export interface SigningKeyRecord {
  realm: string;
  kid: string;
  alg: string;
  /** Public JWK (kid, alg, use set). */
  publicJwk: Jwk;
  /** Private key (PKCS#8 DER) encrypted with the key-encryption key; see core/crypto/kek.ts. */
  privateKeyEncrypted: string;
  createdAt: number;
  /** From this instant the key may sign; before it, it is only published. */
  activatesAt: number;
  /** Set when an operator withdrew the key (compromise): neither published nor used again. */
  revokedAt?: number;
}

export interface SigningKeyStore {
  /** All keys of a realm, in any state, ordered by activatesAt then kid. */
  list(realm: string): Promise<SigningKeyRecord[]>;
  /** Inserts or replaces (by realm + kid). */
  put(key: SigningKeyRecord): Promise<void>;
  /**
   * Inserts the key only if its realm has no key at all — atomically, also across processes, so
   * instances starting together on a fresh backend agree on one first key. Resolves whether it did.
   */
  createFirst(key: SigningKeyRecord): Promise<boolean>;
  delete(realm: string, kid: string): Promise<boolean>;
}

export interface RevocationStore {
  /** Records that the token with this jti is revoked; kept at least until expiresAt (ms). Idempotent. */
  revoke(realm: string, jti: string, expiresAt: number): Promise<void>;
  isRevoked(realm: string, jti: string): Promise<boolean>;
  /** Every entry of a realm ordered by jti (for export). */
  list(realm: string): Promise<Array<{ jti: string; expiresAt: number }>>;
  /** Removes entries whose expiresAt is before `now`; resolves the number removed. */
  purgeExpired(now: number): Promise<number>;
}

export interface ReplayStore {
  /**
   * Atomically records a use of (realm, clientId, jti) until expiresAt (ms). Resolves true for the
   * first use and false for every later use while the record lives — also across processes
   * sharing the backend, and also for concurrent calls (exactly one of them gets true).
   */
  consume(realm: string, clientId: string, jti: string, expiresAt: number): Promise<boolean>;
  purgeExpired(now: number): Promise<number>;
}

/** An event of the audit trail as given to the store (the store assigns seq and the chain hashes). */
export interface AuditEventInput {
  /** ms since the epoch. */
  at: number;
  type: string;
  realm: string | null;
  clientId: string | null;
  actor: { id: string; source?: string | undefined; requestId?: string | undefined };
  data: Record<string, unknown>;
}

export interface AuditEventRecord extends AuditEventInput {
  /** 1, 2, 3… in chain order, never reused. */
  seq: number;
  /** The previous event's hash (the anchor's after pruning; 64 zeros for the first event). */
  prevHash: string;
  hash: string;
}

export interface AuditListOptions {
  after?: number;
  since?: number;
  until?: number;
  realm?: string;
  clientId?: string;
  /** Exact type, or a prefix when it ends with '.*'. */
  type?: string;
  limit?: number;
}

/** The prevHash of the first event of an audit chain that has no anchor (nothing pruned yet). */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

export interface AuditStore {
  /**
   * Appends events at the end of the one chain: seq = last + 1, prevHash = the last event's hash
   * (the anchor's after pruning, AUDIT_GENESIS_HASH for the very first), hash = hash(record without hash). Serialised across every process sharing the backend, so
   * concurrent writers keep one valid chain.
   */
  append(events: AuditEventInput[], hash: (record: Omit<AuditEventRecord, 'hash'>) => string): Promise<AuditEventRecord[]>;
  /** Events ordered by seq ascending. */
  list(options?: AuditListOptions): Promise<AuditEventRecord[]>;
  /** Where the chain starts after pruning: the last pruned event's seq and hash. */
  anchor(): Promise<{ seq: number; hash: string } | undefined>;
  /** Deletes events with `at` before `before`, moving the anchor to the last one deleted; resolves how many. */
  prune(before: number): Promise<number>;
}

/** One aggregate of refused requests (same realm, client, endpoint, source, error and reason). */
export interface AuthFailureRecord {
  realm: string;
  clientId: string | null;
  endpoint: string;
  method: string | null;
  source: string | null;
  error: string;
  reason: string;
  /** The latest occurrence's facts (never secrets). */
  facts: Record<string, unknown>;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export interface FailureStore {
  /**
   * Merges aggregates into the stored ones (same key: count added, firstSeen min, lastSeen max,
   * facts and method of the latest), then keeps only the newest `limits.perClient` aggregates per
   * (realm, client) and `limits.perRealm` per realm.
   */
  record(batch: AuthFailureRecord[], limits: { perClient: number; perRealm: number }): Promise<void>;
  /** Newest (lastSeen) first. */
  list(realm: string, options?: { clientId?: string; limit?: number }): Promise<AuthFailureRecord[]>;
}

/** A realm created at runtime (config realms are not stored). */
export interface RealmRecord {
  name: string;
  /** Realm settings in the config file's names (profile, scopes, tokens, assertions, keys), without the name. */
  settings: Record<string, unknown>;
  createdAt: number;
}

export interface RealmStore {
  /** Every runtime realm, ordered by name. */
  list(): Promise<RealmRecord[]>;
  get(name: string): Promise<RealmRecord | undefined>;
  /** Inserts a new realm; resolves false (and writes nothing) when the name is taken — atomically, also across processes. */
  create(realm: RealmRecord): Promise<boolean>;
  delete(name: string): Promise<boolean>;
}

/**
 * A signed-in session of the web console. The session id is a bearer credential: only its hash is
 * stored (idHash, SHA-256 of the id), never the id itself.
 */
export interface ConsoleSessionRecord {
  /** SHA-256 of the session id (base64url). */
  idHash: string;
  /** Who signed in (the one-time link's user, or the SSO display name). */
  subject: string;
  /** The admin scopes of the session (space separated). */
  scope: string;
  /** Sign-in (ms). */
  createdAt: number;
  /** Last use (ms); the idle timeout counts from it. */
  lastSeen: number;
  /** createdAt + the absolute timeout (ms): refused from this instant, and purged after it. */
  expiresAt: number;
}

/** Console sessions shared by every instance of a cluster (issue 10): sign-out on one ends the session on all. */
export interface ConsoleSessionStore {
  create(session: ConsoleSessionRecord): Promise<void>;
  /**
   * Atomically (also across processes): when the session exists, `now` is before its expiresAt and
   * `now - lastSeen` is at most `idleMs`, moves lastSeen to now (never back) and resolves the session as updated;
   * otherwise resolves undefined, and deletes it when it exists but has timed out.
   */
  touch(idHash: string, now: number, idleMs: number): Promise<ConsoleSessionRecord | undefined>;
  /** Ends a session; resolves whether one was deleted. */
  delete(idHash: string): Promise<boolean>;
  /** Removes sessions whose expiresAt is before `now` or whose lastSeen is before `idleBefore`; resolves the number removed. */
  purgeExpired(now: number, idleBefore?: number): Promise<number>;
}

/** Counts of one minute of a realm, or of one of its clients (clientId null: the realm's totals). */
export interface ActivityDelta {
  realm: string;
  clientId: string | null;
  /** Minute number: ms since the epoch / 60000, rounded down. */
  minute: number;
  issued: number;
  failed: number;
}

/** Tokens issued and requests refused per minute, summed over every instance (the console's activity chart). */
export interface ActivityStore {
  /** Adds each delta to the stored counts of its (realm, client, minute), creating them as needed. */
  add(deltas: ActivityDelta[]): Promise<void>;
  /** The stored minutes in [fromMinute, toMinute] of a realm (clientId null) or one of its clients, oldest first. */
  range(realm: string, clientId: string | null, fromMinute: number, toMinute: number): Promise<Array<{ minute: number; issued: number; failed: number }>>;
  /** Deletes the minutes before `beforeMinute`; resolves the number of rows removed. */
  purge(beforeMinute: number): Promise<number>;
}

/** Cluster-wide leases, so that a scheduled job runs on one instance. */
export interface LeaseStore {
  /**
   * Takes (or renews) the lease `name` for `holder` until now + ttlMs, if it is free, expired or
   * already the holder's. Atomic across processes. Resolves whether the holder has it.
   */
  acquire(name: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
}

/** What changed, so that instances drop cached copies. */
export interface ChangeEvent {
  realm: string;
  /**
   * 'client': one client changed; 'keys': a realm's signing keys changed; 'realm': a runtime realm
   * was created or deleted (read it again from the realm store); 'resync': events may have
   * been missed (the adapter's notification channel reconnected) — drop every cached copy.
   */
  kind: 'client' | 'keys' | 'realm' | 'resync';
  /** The client id for kind 'client'; empty otherwise. */
  id: string;
}

/**
 * Tells every process sharing the backend what changed. The memory adapter delivers in-process;
 * SQLite polls a change log; PostgreSQL and Redis use their notification channels.
 */
export interface ChangeFeed {
  publish(event: ChangeEvent): Promise<void>;
  /** Registers a listener; returns a function that removes it. */
  subscribe(listener: (event: ChangeEvent) => void): () => void;
}

/** Everything the core needs from a backend. */
export interface Storage {
  readonly kind: string;
  readonly clients: ClientStore;
  readonly keys: SigningKeyStore;
  readonly revocations: RevocationStore;
  readonly replay: ReplayStore;
  readonly changes: ChangeFeed;
  readonly audit: AuditStore;
  readonly failures: FailureStore;
  readonly realms: RealmStore;
  readonly leases: LeaseStore;
  readonly consoleSessions: ConsoleSessionStore;
  readonly activity: ActivityStore;
  /** A RateLimiter shared by every instance, when the backend has one (PostgreSQL with Redis). */
  readonly limiter?: RateLimiter;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  /** Resolves when the backend answers; rejects with StorageUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Counters in fixed windows, for rate limits and throttles. The single-process implementation
 * (memory) counts per instance; the Redis one counts across every instance sharing it.
 */
export interface RateLimiter {
  /**
   * Counts one hit on `key` in its current window of `windowMs` (the window starts at the key's
   * first hit). Resolves the window's count, this hit included, and when the window ends (ms).
   */
  hit(key: string, windowMs: number): Promise<{ count: number; resetAt: number }>;
  close(): Promise<void>;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
