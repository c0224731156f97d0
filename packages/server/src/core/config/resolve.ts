/**
 * Parsed config file → ResolvedConfig: merge with defaults, validate, derive per-realm issuers and
 * endpoint URLs, freeze. Errors are TypeErrors naming the option path.
 */
import { DEFAULTS } from './defaults.ts';
import { AddressPolicy } from '../clients/address-policy.ts';
import { configFileSchema, formatIssues, runtimeRealmSchema, type ClientMetadataInput, type ConfigFile } from './schema.ts';
import { PROFILE_DEFAULTS, type ProfileName } from './profiles.ts';
import { isAsymmetricAlg, isHmacAlg } from '../crypto/jws.ts';
import { parseScope, type TokenEndpointAuthMethod } from '../../shared/oauth.ts';

export const DEFAULT_REALM = 'default';

export interface AssertionPolicy {
  audience: 'issuer' | 'token_endpoint' | 'either';
  allowArrayAudience: boolean;
  /** Use window (seconds from iat, or from now for exp without iat). */
  maxAgeSeconds: number;
  /** Opt-in cap on exp - iat; undefined: no cap. */
  maxLifetimeSeconds: number | undefined;
  clockSkewSeconds: number;
  requireTyp: boolean;
  requireJti: boolean;
  /** Accepted assertion algs; undefined: every supported alg. */
  signingAlgs: readonly string[] | undefined;
  /** Oracle's extra claims are checked when present (prn = sub, id_type ClientID). */
  oracleClaims: boolean;
  /** Further accepted `aud` values meaning the token endpoint (AM-style alias URLs). */
  tokenEndpointAliases: readonly string[];
}

export interface ScopeEntry {
  name: string;
  description?: string | undefined;
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
  profile: ProfileName;
  issuer: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  revocationEndpoint: string;
  jwksUri: string;
  assertions: AssertionPolicy;
  tokens: TokenPolicy;
  /** rotateEverySeconds: scheduled rotation (undefined = off). */
  keys: { prePublishSeconds: number; rotateEverySeconds?: number | undefined };
  clients: ClientMetadataInput[];
  /** The realm's scope catalogue (empty: none declared, any scope may be registered). */
  scopes: readonly ScopeEntry[];
  /** Client authentication methods accepted; undefined: all. */
  authMethods: readonly TokenEndpointAuthMethod[] | undefined;
  /** Path prefixes of AM-style aliases (forgerock-identity-cloud), e.g. /oauth2/realms/root/realms/alpha. */
  amAliasPrefixes: readonly string[];
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
  /** Seconds an unreachable database is retried at start-up before giving up. */
  storageWaitAtStartSeconds: number;
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
  /** The file's top-level realm settings, which runtime realms fall back on as declared ones do. */
  realmDefaults: RealmDefaults;
  /** The admin API: its realm (always among `realms`) and, when set, a listener of its own. */
  admin: { realm: string; listen: { host: string; port: number } | undefined };
  /** The web console: session timeouts (seconds) and single sign-on, when configured. */
  console: { idleTimeoutSeconds: number; absoluteTimeoutSeconds: number; sso: ConsoleSsoConfig | undefined };
  /** Management listener (/metrics, /healthz, /readyz); undefined when turned off. */
  management: { listen: { host: string; port: number } | undefined };
  metrics: { enabled: boolean; perClient: boolean; gcDurations: boolean };
  audit: { retentionDays: number };
}

export interface ConsoleSsoConfig {
  issuer: string;
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string;
  scope: string;
  allowedSubjects: readonly string[];
  allowedGroups: readonly string[];
  groupsClaim: string;
  adminScope: string;
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

  const makeRealm = realmFactory(issuer, file);
  const realms = new Map<string, RealmConfig>();
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

  const adminRealm = file.admin?.realm ?? DEFAULTS.adminRealm;
  if (adminRealm === DEFAULT_REALM) fail('admin.realm', 'must not be the default realm');
  // The implicit admin realm follows the standard profile whatever the file's top-level profile (a
  // jack-henry or fapi2 default must not restrict how the admin clients authenticate).
  if (!realms.has(adminRealm)) realms.set(adminRealm, makeRealm(adminRealm, `${issuer}/realms/${adminRealm}`, { name: adminRealm, profile: DEFAULTS.profile }, [], 'admin'));
  const ml = file.management?.listen;

  const jf = file.jwks_fetch ?? {};
  const config: ResolvedConfig = {
    issuer,
    listen: { host: file.listen?.host ?? DEFAULTS.listen.host, port: file.listen?.port ?? DEFAULTS.listen.port },
    storageUrl: file.storage?.url ?? DEFAULTS.storageUrl,
    redisUrl: file.storage?.redis,
    storageWaitAtStartSeconds: file.storage?.wait_at_start ?? DEFAULTS.storageWaitAtStartSeconds,
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
    realmDefaults: realmDefaultsOf(file),
    admin: { realm: adminRealm, listen: file.admin?.listen ? { host: file.admin.listen.host ?? DEFAULTS.listen.host, port: file.admin.listen.port } : undefined },
    console: {
      idleTimeoutSeconds: file.console?.idle_timeout ?? 30 * 60,
      absoluteTimeoutSeconds: file.console?.absolute_timeout ?? 8 * 3600,
      sso: consoleSso(file.console?.sso),
    },
    management: { listen: ml === false ? undefined : { host: ml?.host ?? DEFAULTS.managementListen.host, port: ml?.port ?? DEFAULTS.managementListen.port } },
    metrics: {
      enabled: file.metrics?.enabled ?? DEFAULTS.metrics.enabled,
      perClient: file.metrics?.per_client ?? DEFAULTS.metrics.perClient,
      gcDurations: file.metrics?.gc_durations ?? DEFAULTS.metrics.gcDurations,
    },
    audit: { retentionDays: file.audit?.retention_days ?? DEFAULTS.audit.retentionDays },
  };
  if (config.httpLimits.headersTimeoutMs > config.httpLimits.requestTimeoutMs) fail('http.headers_timeout_ms', 'must not exceed request_timeout_ms');
  if (config.jwksFetch.minCacheSeconds > config.jwksFetch.maxCacheSeconds) fail('jwks_fetch.min_cache', 'must not exceed max_cache');
  if (config.jwksFetch.failureBackoffSeconds > config.jwksFetch.maxFailureBackoffSeconds) fail('jwks_fetch.failure_backoff', 'must not exceed max_failure_backoff');
  for (const realm of realms.values()) deepFreeze(realm);
  return Object.freeze(config);
}

/** The top-level settings a realm falls back on (kept in ResolvedConfig, so that a runtime realm resolves as a declared one would). */
export type RealmDefaults = Pick<ConfigFile, 'profile' | 'scopes' | 'assertions' | 'tokens' | 'keys'>;

type RealmFile = NonNullable<ConfigFile['realms']>[number];

function realmDefaultsOf(file: ConfigFile): RealmDefaults {
  const d: RealmDefaults = {};
  if (file.profile !== undefined) d.profile = file.profile;
  if (file.scopes !== undefined) d.scopes = structuredClone(file.scopes);
  if (file.assertions !== undefined) d.assertions = structuredClone(file.assertions);
  if (file.tokens !== undefined) d.tokens = structuredClone(file.tokens);
  if (file.keys !== undefined) d.keys = structuredClone(file.keys);
  return deepFreeze(d);
}

/** Builds a realm's RealmConfig from its part of the file and the file's top-level settings. Throws TypeErrors naming the option path. */
function realmFactory(issuer: string, file: RealmDefaults): (name: string, realmIssuer: string, r: RealmFile | undefined, clients: ClientMetadataInput[], path: string) => RealmConfig {
  type AssertionFile = NonNullable<ConfigFile['assertions']>;
  const top: AssertionFile = file.assertions ?? {};
  const assertionPolicy = (own: AssertionFile | undefined, profile: ProfileName, path: string, aliases: string[]): AssertionPolicy => {
    const p = PROFILE_DEFAULTS[profile].assertions ?? {};
    const algs = own?.signing_algs ?? p.signingAlgs ?? top.signing_algs ?? DEFAULTS.assertions.signingAlgs;
    for (const a of algs ?? []) if (!isAsymmetricAlg(a) && !isHmacAlg(a)) fail(`${path}.signing_algs`, `unsupported alg ${a}`);
    return {
      audience: own?.audience ?? p.audience ?? top.audience ?? DEFAULTS.assertions.audience,
      allowArrayAudience: own?.allow_array_audience ?? p.allowArrayAudience ?? top.allow_array_audience ?? DEFAULTS.assertions.allowArrayAudience,
      maxAgeSeconds: own?.max_age ?? p.maxAgeSeconds ?? top.max_age ?? DEFAULTS.assertions.maxAgeSeconds,
      maxLifetimeSeconds: own?.max_lifetime ?? p.maxLifetimeSeconds ?? top.max_lifetime ?? DEFAULTS.assertions.maxLifetimeSeconds,
      clockSkewSeconds: own?.clock_skew ?? top.clock_skew ?? DEFAULTS.assertions.clockSkewSeconds,
      requireTyp: own?.require_typ ?? p.requireTyp ?? top.require_typ ?? DEFAULTS.assertions.requireTyp,
      requireJti: own?.require_jti ?? p.requireJti ?? top.require_jti ?? DEFAULTS.assertions.requireJti,
      signingAlgs: algs,
      oracleClaims: p.oracleClaims ?? false,
      tokenEndpointAliases: aliases,
    };
  };
  const baseTokens: TokenPolicy = tokenPolicy(file.tokens, {
    signingAlg: DEFAULTS.tokens.signingAlg,
    ttlSeconds: DEFAULTS.tokens.ttlSeconds,
    maxTtlSeconds: DEFAULTS.tokens.maxTtlSeconds,
    defaultAudience: DEFAULTS.tokens.defaultAudience,
    reuse: DEFAULTS.tokens.reuse,
  }, 'tokens');
  const baseKeys = { prePublishSeconds: file.keys?.pre_publish ?? DEFAULTS.keys.prePublishSeconds, rotateEverySeconds: durationSeconds(file.keys?.rotate_every) };

  return (name: string, realmIssuer: string, r: RealmFile | undefined, clients: ClientMetadataInput[], path: string): RealmConfig => {
    const isDefault = name === DEFAULT_REALM;
    const profile: ProfileName = r?.profile ?? file.profile ?? DEFAULTS.profile;
    const pd = PROFILE_DEFAULTS[profile];
    const tokenEndpoint = `${realmIssuer}/oauth2/token`;
    // AM-style paths: /oauth2/realms/root/realms/{realm} (and the same under /am); the default realm is AM's root realm.
    const amAliasPrefixes = pd.amPaths ? (isDefault ? ['/oauth2/realms/root', '/am/oauth2/realms/root'] : [`/oauth2/realms/root/realms/${name}`, `/am/oauth2/realms/root/realms/${name}`]) : [];
    const aliases = amAliasPrefixes.map((p) => `${issuer}${p}/access_token`);
    const ownAssertions = r?.assertions ?? (isDefault ? file.assertions : undefined);
    const ownTokens = r?.tokens ?? (isDefault ? file.tokens : undefined);
    const profileTokens: TokenPolicy = { ...baseTokens, ttlSeconds: pd.tokens?.ttlSeconds ?? baseTokens.ttlSeconds };
    const scopes = r?.scopes ?? (isDefault ? file.scopes : undefined) ?? [];
    const catalogue = new Set<string>();
    scopes.forEach((s, i) => {
      if (catalogue.has(s.name)) fail(`${path}.scopes.${i}.name`, `duplicate scope ${s.name}`);
      catalogue.add(s.name);
    });
    if (catalogue.size) {
      clients.forEach((c, i) => {
        const list = c.scope === undefined ? [] : parseScope((Array.isArray(c.scope) ? c.scope.join(' ') : c.scope).trim().replace(/ +/g, ' ')) ?? [];
        for (const s of list) if (!catalogue.has(s)) fail(`${path === 'clients' ? 'clients' : `${path}.clients`}.${i}.scope`, `scope ${s} is not in the realm's scope catalogue`);
      });
    }
    return {
      name,
      profile,
      issuer: realmIssuer,
      tokenEndpoint,
      introspectionEndpoint: `${realmIssuer}/oauth2/introspect`,
      revocationEndpoint: `${realmIssuer}/oauth2/revoke`,
      jwksUri: `${realmIssuer}/jwks`,
      assertions: assertionPolicy(ownAssertions, profile, `${path}.assertions`, aliases),
      tokens: tokenPolicy(ownTokens, profileTokens, `${path}.tokens`),
      keys: { prePublishSeconds: r?.keys?.pre_publish ?? baseKeys.prePublishSeconds, rotateEverySeconds: durationSeconds(r?.keys?.rotate_every) ?? baseKeys.rotateEverySeconds },
      clients: checkClientIds(clients, `${path}.clients`),
      scopes: scopes.map((s) => (s.description === undefined ? { name: s.name } : { name: s.name, description: s.description })),
      authMethods: pd.authMethods,
      amAliasPrefixes,
    };
  };

}

/**
 * A runtime realm (created through the admin API): validated by the same schema as a realm of the
 * file (without clients) and resolved with the same rules and the file's top-level fallbacks, its
 * issuer `${issuer}/realms/{name}`. Throws a TypeError naming the setting at fault.
 */
export function resolveRuntimeRealm(config: Pick<ResolvedConfig, 'issuer' | 'realmDefaults'>, input: unknown): RealmConfig {
  const parsed = runtimeRealmSchema.safeParse(input);
  if (!parsed.success) throw new TypeError(formatIssues(parsed.error.issues));
  const r = parsed.data;
  if (r.name === DEFAULT_REALM) fail('name', 'the default realm is always declared');
  return deepFreeze(realmFactory(config.issuer, config.realmDefaults)(r.name, `${config.issuer}/realms/${r.name}`, r, [], 'realm'));
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

function consoleSso(sso: NonNullable<ConfigFile['console']>['sso']): ConsoleSsoConfig | undefined {
  if (!sso) return undefined;
  const ssoIssuer = normaliseIssuer(sso.issuer, 'console.sso.issuer');
  const redirect = new URL(sso.redirect_uri);
  if (redirect.hash) fail('console.sso.redirect_uri', 'must have no fragment');
  if (!redirect.pathname.endsWith('/console/sso/callback')) fail('console.sso.redirect_uri', 'must end with /console/sso/callback');
  if (redirect.protocol !== 'https:' && !(redirect.protocol === 'http:' && (LOOPBACK.has(redirect.hostname) || redirect.hostname.startsWith('127.')))) fail('console.sso.redirect_uri', 'must be https (plain http only for localhost)');
  const scope = sso.scope ?? 'openid email profile';
  if (!scope.split(' ').includes('openid')) fail('console.sso.scope', 'must include openid');
  const adminScope = sso.admin_scope ?? 'tessera:admin';
  return {
    issuer: ssoIssuer,
    clientId: sso.client_id,
    clientSecret: sso.client_secret,
    redirectUri: redirect.href,
    scope,
    allowedSubjects: [...(sso.allowed_subjects ?? [])],
    allowedGroups: [...(sso.allowed_groups ?? [])],
    groupsClaim: sso.groups_claim ?? 'groups',
    adminScope,
  };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `90d` / `12h` / `30m` / `45s` or a number of seconds → seconds. */
export function durationSeconds(value: string | number | undefined): number | undefined {
  if (value === undefined || typeof value === 'number') return value;
  return Number(value.slice(0, -1)) * UNIT_SECONDS[value.slice(-1)]!;
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
