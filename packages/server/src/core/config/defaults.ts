/**
 * Every default in one documented place. docs/configuration.md describes the same values.
 */
export const DEFAULTS = {
  /** Base issuer URL of the default realm; other realms are `${issuer}/realms/{name}`. With no issuer but a port set, `http://localhost:{port}`. */
  issuer: 'http://localhost:8080',
  listen: { host: '127.0.0.1', port: 8080 },
  /** Embedded SQLite file. `memory` keeps everything in process; `postgres://…` for PostgreSQL. */
  storageUrl: 'sqlite:./data/tessera.db',
  /** Seconds an unreachable PostgreSQL is retried at start-up (backoff up to 2 s) before exiting. */
  storageWaitAtStartSeconds: 30,
  /** Generated on first start with mode 0600 unless TESSERA_KEK is set. */
  kekFile: './data/kek.key',
  logLevel: 'info',
  /** Largest accepted request body; token requests are small. Larger gives 413. */
  bodyLimitBytes: 16 * 1024,
  /** Believe no X-Forwarded-For unless told how many proxies (or which) are in front. */
  trustProxy: false as false | number | readonly string[],
  /** Slow or idle peers cannot hold connections: timeouts, a per-source cap, a short shutdown grace. */
  httpLimits: {
    requestTimeoutMs: 10_000,
    headersTimeoutMs: 5_000,
    /** Longer than a load balancer's idle timeout (60 s for most), so it never reuses a closed one. */
    keepAliveTimeoutMs: 72_000,
    maxConnectionsPerSource: 128,
    shutdownGraceMs: 3_000,
  },
  demoClient: true,
  profile: 'standard' as const,
  assertions: {
    audience: 'either' as 'issuer' | 'token_endpoint' | 'either',
    allowArrayAudience: false,
    /** Use window: accepted only within max_age seconds of iat (or, without iat, with exp at most max_age away). */
    maxAgeSeconds: 300,
    /** Cap on exp - iat: off unless configured (or set by a profile: jack-henry 300). */
    maxLifetimeSeconds: undefined as number | undefined,
    requireJti: true,
    /** Every supported alg unless configured (or restricted by a profile). */
    signingAlgs: undefined as readonly string[] | undefined,
    clockSkewSeconds: 30,
    requireTyp: false,
  },
  tokens: {
    signingAlg: 'ES256' as 'ES256' | 'RS256' | 'PS256' | 'EdDSA',
    ttlSeconds: 3600,
    maxTtlSeconds: 86400,
    defaultAudience: undefined as string | undefined,
    reuse: { enabled: false, minRemainingFraction: 0.5 },
  },
  keys: { prePublishSeconds: 600 },
  jwksFetch: {
    timeoutMs: 3000,
    maxBytes: 256 * 1024,
    minCacheSeconds: 60,
    maxCacheSeconds: 86400,
    /** At most one re-fetch per client per cooldown when an assertion names an unknown kid. */
    cooldownSeconds: 30,
    /** A cached set is served up to this long past its expiry while one background refresh runs. */
    maxStaleSeconds: 3600,
    /** After a failed fetch, no new fetch of that URI for 5 s, doubling per failure up to 300 s. */
    failureBackoffSeconds: 5,
    maxFailureBackoffSeconds: 300,
    /** Addresses / CIDR ranges exempt from the SSRF rules (private, loopback, plain http). None. */
    allow: [] as string[],
  },
  /**
   * Failed client authentications allowed per client id and source address per window (0: off),
   * and per source address whatever the client id; at most maxKeys counters kept in memory.
   */
  throttle: { maxFailures: 20, windowSeconds: 60, maxFailuresPerSource: 100, maxKeys: 100_000 },
  /** Concurrent scrypt verifications at most, waiters at most and their longest wait; beyond: 503. */
  kdf: { maxConcurrent: 1, maxQueue: 8, maxWaitMs: 5000 },
  /** The admin API accepts tokens of this realm; it is added (with no clients) when the file does not declare it. */
  adminRealm: 'admin',
  /** Management listener (/metrics, /healthz, /readyz), loopback only by default. */
  managementListen: { host: '127.0.0.1', port: 9464 },
  metrics: { enabled: true, perClient: false, gcDurations: false },
  audit: { retentionDays: 90 },
  /** Safety-net lifetime of cached clients; changes also arrive through the change feed. */
  clientCacheSeconds: 60,
};
