/**
 * Parsed config file → ResolvedConfig: merge with defaults, validate, derive per-realm issuers and
 * endpoint URLs, freeze. Errors are TypeErrors naming the option path.
 */
import { DEFAULTS } from './defaults.ts';
import { AddressPolicy } from '../clients/address-policy.ts';
import { configFileSchema, formatIssues, type ClientMetadataInput, type ConfigFile } from './schema.ts';

export const DEFAULT_REALM = 'default';

export interface AssertionPolicy {
  audience: 'issuer' | 'token_endpoint' | 'either';
  allowArrayAudience: boolean;
  maxLifetimeSeconds: number;
  clockSkewSeconds: number;
  requireTyp: boolean;
}

export interface TokenPolicy {
  signingAlg: 'ES256' | 'RS256' | 'PS256' | 'EdDSA';
  ttlSeconds: number;
  maxTtlSeconds: number;
  defaultAudience: string | undefined;
  reuse: { enabled: boolean; minRemainingFraction: number };
}

export interface RealmConfig {
  name: string;
  issuer: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  revocationEndpoint: string;
  jwksUri: string;
  assertions: AssertionPolicy;
  tokens: TokenPolicy;
  keys: { prePublishSeconds: number };
  clients: ClientMetadataInput[];
}

export interface JwksFetchPolicy {
  timeoutMs: number;
  maxBytes: number;
  minCacheSeconds: number;
  maxCacheSeconds: number;
  cooldownSeconds: number;
  /** Seconds past expiry a cached set is still served while a refresh runs. */
  maxStaleSeconds: number;
  /** First and longest wait after a failed fetch before the URI is fetched again. */
  failureBackoffSeconds: number;
  maxFailureBackoffSeconds: number;
  /** Addresses / CIDR ranges a jwks_uri may connect to though private or loopback, over http too. */
  allow: readonly string[];
}

export interface ResolvedConfig {
  issuer: string;
  listen: { host: string; port: number };
  storageUrl: string;
  /** Redis for the replay store and change feed of a PostgreSQL deployment. */
  redisUrl: string | undefined;
  kekFile: string;
  logLevel: string;
  bodyLimitBytes: number;
  /** false, a hop count, or trusted proxy addresses / CIDR ranges (Fastify's trustProxy). */
  trustProxy: false | number | readonly string[];
  httpLimits: { requestTimeoutMs: number; headersTimeoutMs: number; keepAliveTimeoutMs: number; maxConnectionsPerSource: number; shutdownGraceMs: number };
  demoClient: boolean;
  jwksFetch: JwksFetchPolicy;
  clientCacheSeconds: number;
  throttle: { maxFailures: number; windowSeconds: number; maxFailuresPerSource: number; maxKeys: number };
  kdf: { maxConcurrent: number; maxQueue: number; maxWaitMs: number };
  realms: ReadonlyMap<string, RealmConfig>;
}

function fail(path: string, message: string): never {
  throw new TypeError(`config ${path}: ${message}`);
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** RFC 8414 §2: https, no query, no fragment. Plain http is accepted only for loopback hosts. */
export function normaliseIssuer(value: string, path = 'issuer'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(path, `not a URL: ${value}`);
  }
  if (url.search || url.hash || value.includes('?') || value.includes('#')) fail(path, 'must have no query or fragment');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (LOOPBACK.has(url.hostname) || url.hostname.startsWith('127.')))) {
    fail(path, 'must be https (plain http only for localhost)');
  }
  if (url.username || url.password) fail(path, 'must not carry credentials');
  return url.href.replace(/\/+$/, '');
}

export function resolveConfig(input: unknown): ResolvedConfig {
  const parsed = configFileSchema.safeParse(input ?? {});
  if (!parsed.success) throw new TypeError(`invalid configuration:\n${formatIssues(parsed.error.issues)}`);
  const file: ConfigFile = parsed.data;
  // Without an issuer, the local one: http://localhost on the port the server listens on.
  const issuer = normaliseIssuer(file.issuer ?? (file.listen?.port !== undefined ? `http://localhost:${file.listen.port}` : DEFAULTS.issuer));

  const baseAssertions: AssertionPolicy = {
    audience: file.assertions?.audience ?? DEFAULTS.assertions.audience,
    allowArrayAudience: file.assertions?.allow_array_audience ?? DEFAULTS.assertions.allowArrayAudience,
    maxLifetimeSeconds: file.assertions?.max_lifetime ?? DEFAULTS.assertions.maxLifetimeSeconds,
    clockSkewSeconds: file.assertions?.clock_skew ?? DEFAULTS.assertions.clockSkewSeconds,
    requireTyp: file.assertions?.require_typ ?? DEFAULTS.assertions.requireTyp,
  };
  const baseTokens: TokenPolicy = tokenPolicy(file.tokens, {
    signingAlg: DEFAULTS.tokens.signingAlg,
    ttlSeconds: DEFAULTS.tokens.ttlSeconds,
    maxTtlSeconds: DEFAULTS.tokens.maxTtlSeconds,
    defaultAudience: DEFAULTS.tokens.defaultAudience,
    reuse: DEFAULTS.tokens.reuse,
  }, 'tokens');
  const baseKeys = { prePublishSeconds: file.keys?.pre_publish ?? DEFAULTS.keys.prePublishSeconds };

  const realms = new Map<string, RealmConfig>();
  const makeRealm = (name: string, realmIssuer: string, r: NonNullable<ConfigFile['realms']>[number] | undefined, clients: ClientMetadataInput[], path: string): RealmConfig => ({
    name,
    issuer: realmIssuer,
    tokenEndpoint: `${realmIssuer}/oauth2/token`,
    introspectionEndpoint: `${realmIssuer}/oauth2/introspect`,
    revocationEndpoint: `${realmIssuer}/oauth2/revoke`,
    jwksUri: `${realmIssuer}/jwks`,
    assertions: {
      audience: r?.assertions?.audience ?? baseAssertions.audience,
      allowArrayAudience: r?.assertions?.allow_array_audience ?? baseAssertions.allowArrayAudience,
      maxLifetimeSeconds: r?.assertions?.max_lifetime ?? baseAssertions.maxLifetimeSeconds,
      clockSkewSeconds: r?.assertions?.clock_skew ?? baseAssertions.clockSkewSeconds,
      requireTyp: r?.assertions?.require_typ ?? baseAssertions.requireTyp,
    },
    tokens: tokenPolicy(r?.tokens, baseTokens, `${path}.tokens`),
    keys: { prePublishSeconds: r?.keys?.pre_publish ?? baseKeys.prePublishSeconds },
    clients: checkClientIds(clients, `${path}.clients`),
  });

  realms.set(DEFAULT_REALM, makeRealm(DEFAULT_REALM, issuer, undefined, file.clients ?? [], 'clients'));
  (file.realms ?? []).forEach((r, i) => {
    const path = `realms.${i}`;
    if (r.name === DEFAULT_REALM) {
      if (file.clients?.length && r.clients?.length) fail(`${path}.clients`, 'default realm clients given twice (top-level clients and realms.default)');
      realms.set(DEFAULT_REALM, makeRealm(DEFAULT_REALM, issuer, r, r.clients ?? file.clients ?? [], path));
      return;
    }
    if (realms.has(r.name)) fail(`${path}.name`, `duplicate realm ${r.name}`);
    realms.set(r.name, makeRealm(r.name, `${issuer}/realms/${r.name}`, r, r.clients ?? [], path));
  });

  const jf = file.jwks_fetch ?? {};
  const config: ResolvedConfig = {
    issuer,
    listen: { host: file.listen?.host ?? DEFAULTS.listen.host, port: file.listen?.port ?? DEFAULTS.listen.port },
    storageUrl: file.storage?.url ?? DEFAULTS.storageUrl,
    redisUrl: file.storage?.redis,
    kekFile: file.kek?.file ?? DEFAULTS.kekFile,
    logLevel: file.log?.level ?? DEFAULTS.logLevel,
    bodyLimitBytes: file.http?.body_limit ?? DEFAULTS.bodyLimitBytes,
    trustProxy: trustProxy(file.http?.trust_proxy),
    httpLimits: {
      requestTimeoutMs: file.http?.request_timeout_ms ?? DEFAULTS.httpLimits.requestTimeoutMs,
      headersTimeoutMs: file.http?.headers_timeout_ms ?? DEFAULTS.httpLimits.headersTimeoutMs,
      keepAliveTimeoutMs: file.http?.keep_alive_timeout_ms ?? DEFAULTS.httpLimits.keepAliveTimeoutMs,
      maxConnectionsPerSource: file.http?.max_connections_per_source ?? DEFAULTS.httpLimits.maxConnectionsPerSource,
      shutdownGraceMs: file.http?.shutdown_grace_ms ?? DEFAULTS.httpLimits.shutdownGraceMs,
    },
    demoClient: file.demo_client ?? DEFAULTS.demoClient,
    jwksFetch: {
      timeoutMs: jf.timeout_ms ?? DEFAULTS.jwksFetch.timeoutMs,
      maxBytes: jf.max_bytes ?? DEFAULTS.jwksFetch.maxBytes,
      minCacheSeconds: jf.min_cache ?? DEFAULTS.jwksFetch.minCacheSeconds,
      maxCacheSeconds: jf.max_cache ?? DEFAULTS.jwksFetch.maxCacheSeconds,
      cooldownSeconds: jf.cooldown ?? DEFAULTS.jwksFetch.cooldownSeconds,
      maxStaleSeconds: jf.max_stale ?? DEFAULTS.jwksFetch.maxStaleSeconds,
      failureBackoffSeconds: jf.failure_backoff ?? DEFAULTS.jwksFetch.failureBackoffSeconds,
      maxFailureBackoffSeconds: jf.max_failure_backoff ?? DEFAULTS.jwksFetch.maxFailureBackoffSeconds,
      allow: checkAllowList(jf.allow ?? DEFAULTS.jwksFetch.allow),
    },
    clientCacheSeconds: DEFAULTS.clientCacheSeconds,
    throttle: {
      maxFailures: file.throttle?.max_failures ?? DEFAULTS.throttle.maxFailures,
      windowSeconds: file.throttle?.window ?? DEFAULTS.throttle.windowSeconds,
      maxFailuresPerSource: file.throttle?.max_failures_per_source ?? DEFAULTS.throttle.maxFailuresPerSource,
      maxKeys: file.throttle?.max_keys ?? DEFAULTS.throttle.maxKeys,
    },
    kdf: {
      maxConcurrent: file.kdf?.max_concurrent ?? DEFAULTS.kdf.maxConcurrent,
      maxQueue: file.kdf?.max_queue ?? DEFAULTS.kdf.maxQueue,
      maxWaitMs: file.kdf?.max_wait_ms ?? DEFAULTS.kdf.maxWaitMs,
    },
    realms,
  };
  if (config.httpLimits.headersTimeoutMs > config.httpLimits.requestTimeoutMs) fail('http.headers_timeout_ms', 'must not exceed request_timeout_ms');
  if (config.jwksFetch.minCacheSeconds > config.jwksFetch.maxCacheSeconds) fail('jwks_fetch.min_cache', 'must not exceed max_cache');
  if (config.jwksFetch.failureBackoffSeconds > config.jwksFetch.maxFailureBackoffSeconds) fail('jwks_fetch.failure_backoff', 'must not exceed max_failure_backoff');
  for (const realm of realms.values()) deepFreeze(realm);
  return Object.freeze(config);
}

/** Proxy names proxy-addr (Fastify's trustProxy) knows besides addresses and CIDR ranges. */
const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function trustProxy(value: boolean | number | string | string[] | undefined): false | number | readonly string[] {
  if (value === undefined || value === false || value === 0) return DEFAULTS.trustProxy;
  if (value === true) {
    fail('http.trust_proxy', 'true would believe any X-Forwarded-For a client sends (a client could pick its own source address); give the number of proxies in front of Tessera (e.g. 1) or their addresses / CIDR ranges');
  }
  if (typeof value === 'number') return value;
  const list = (typeof value === 'string' ? value.split(',') : value).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) fail('http.trust_proxy', 'an empty list of proxies');
  list.forEach((entry, i) => {
    if (PROXY_NAMES.has(entry)) return;
    try {
      new AddressPolicy([entry]);
    } catch (err) {
      fail(`http.trust_proxy.${i}`, `${(err as Error).message} (or one of loopback, linklocal, uniquelocal)`);
    }
  });
  return Object.freeze(list);
}

function checkAllowList(list: readonly string[]): readonly string[] {
  list.forEach((entry, i) => {
    try {
      new AddressPolicy([entry]);
    } catch (err) {
      fail(`jwks_fetch.allow.${i}`, (err as Error).message);
    }
  });
  return Object.freeze([...list]);
}

function tokenPolicy(t: ConfigFile['tokens'], base: TokenPolicy, path: string): TokenPolicy {
  const policy: TokenPolicy = {
    signingAlg: t?.signing_alg ?? base.signingAlg,
    ttlSeconds: t?.ttl ?? base.ttlSeconds,
    maxTtlSeconds: t?.max_ttl ?? base.maxTtlSeconds,
    defaultAudience: t?.default_audience ?? base.defaultAudience,
    reuse: {
      enabled: t?.reuse?.enabled ?? base.reuse.enabled,
      minRemainingFraction: t?.reuse?.min_remaining_fraction ?? base.reuse.minRemainingFraction,
    },
  };
  if (policy.ttlSeconds > policy.maxTtlSeconds) fail(`${path}.ttl`, `must not exceed max_ttl (${policy.maxTtlSeconds})`);
  if (policy.defaultAudience !== undefined && !isAbsoluteUri(policy.defaultAudience)) fail(`${path}.default_audience`, 'must be an absolute URI');
  return policy;
}

function checkClientIds(clients: ClientMetadataInput[], path: string): ClientMetadataInput[] {
  const seen = new Set<string>();
  clients.forEach((c, i) => {
    if (seen.has(c.client_id)) fail(`${path}.${i}.client_id`, `duplicate client_id ${c.client_id}`);
    seen.add(c.client_id);
  });
  return clients;
}

/** An absolute URI without fragment (RFC 8707 §2 resource indicator). */
export function isAbsoluteUri(value: string): boolean {
  if (value.includes('#')) return false;
  try {
    const u = new URL(value);
    return u.protocol.length > 1 && value.startsWith(u.protocol);
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
