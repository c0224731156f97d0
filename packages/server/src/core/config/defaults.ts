/**
 * Every default in one documented place. docs/configuration.md describes the same values.
 */
export const DEFAULTS = {
  /** Base issuer URL of the default realm; other realms are `${issuer}/realms/{name}`. With no issuer but a port set, `http://localhost:{port}`. */
  issuer: 'http://localhost:8080',
  listen: { host: '127.0.0.1', port: 8080 },
  /** Embedded SQLite file. `memory:` keeps everything in process; `postgres://…` for PostgreSQL. */
  storageUrl: 'sqlite:./data/tessera.db',
  /** Generated on first start with mode 0600 unless TESSERA_KEK is set. */
  kekFile: './data/kek.key',
  logLevel: 'info',
  /** Largest accepted request body; token requests are small. Larger gives 413. */
  bodyLimitBytes: 16 * 1024,
  trustProxy: false,
  demoClient: true,
  assertions: {
    audience: 'either' as 'issuer' | 'token_endpoint' | 'either',
    allowArrayAudience: false,
    maxLifetimeSeconds: 300,
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
  },
  /** Failed client authentications allowed per client id and source address per window (0: off). */
  throttle: { maxFailures: 20, windowSeconds: 60 },
  /** The admin API accepts tokens of this realm; it is added (with no clients) when the file does not declare it. */
  adminRealm: 'admin',
  /** Management listener (/metrics, /healthz, /readyz), loopback only by default. */
  managementListen: { host: '127.0.0.1', port: 9464 },
  metrics: { enabled: true, perClient: false },
  /** Safety-net lifetime of cached clients; changes also arrive through the change feed. */
  clientCacheSeconds: 60,
};
