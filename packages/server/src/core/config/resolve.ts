/**
 * Parsed config file → ResolvedConfig: merge with defaults, validate, derive per-realm issuers and
 * endpoint URLs, freeze. Errors are TypeErrors naming the option path.
 */
import { DEFAULTS } from './defaults.ts';
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
  /** rotateEverySeconds: scheduled rotation (undefined = off). */
  keys: { prePublishSeconds: number; rotateEverySeconds?: number | undefined };
  clients: ClientMetadataInput[];
}

export interface JwksFetchPolicy {
  timeoutMs: number;
  maxBytes: number;
  minCacheSeconds: number;
  maxCacheSeconds: number;
  cooldownSeconds: number;
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
  trustProxy: boolean;
  demoClient: boolean;
  jwksFetch: JwksFetchPolicy;
  clientCacheSeconds: number;
  throttle: { maxFailures: number; windowSeconds: number };
  realms: ReadonlyMap<string, RealmConfig>;
  /** The admin API: its realm (always among `realms`) and, when set, a listener of its own. */
  admin: { realm: string; listen: { host: string; port: number } | undefined };
  /** The web console: session timeouts (seconds) and single sign-on, when configured. */
  console: { idleTimeoutSeconds: number; absoluteTimeoutSeconds: number; sso: ConsoleSsoConfig | undefined };
  /** Management listener (/metrics, /healthz, /readyz); undefined when turned off. */
  management: { listen: { host: string; port: number } | undefined };
  metrics: { enabled: boolean; perClient: boolean };
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
  const baseKeys = { prePublishSeconds: file.keys?.pre_publish ?? DEFAULTS.keys.prePublishSeconds, rotateEverySeconds: durationSeconds(file.keys?.rotate_every) };

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
    keys: { prePublishSeconds: r?.keys?.pre_publish ?? baseKeys.prePublishSeconds, rotateEverySeconds: durationSeconds(r?.keys?.rotate_every) ?? baseKeys.rotateEverySeconds },
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

  const adminRealm = file.admin?.realm ?? DEFAULTS.adminRealm;
  if (adminRealm === DEFAULT_REALM) fail('admin.realm', 'must not be the default realm');
  if (!realms.has(adminRealm)) realms.set(adminRealm, makeRealm(adminRealm, `${issuer}/realms/${adminRealm}`, undefined, [], 'admin'));
  const ml = file.management?.listen;

  const jf = file.jwks_fetch ?? {};
  const config: ResolvedConfig = {
    issuer,
    listen: { host: file.listen?.host ?? DEFAULTS.listen.host, port: file.listen?.port ?? DEFAULTS.listen.port },
    storageUrl: file.storage?.url ?? DEFAULTS.storageUrl,
    redisUrl: file.storage?.redis,
    kekFile: file.kek?.file ?? DEFAULTS.kekFile,
    logLevel: file.log?.level ?? DEFAULTS.logLevel,
    bodyLimitBytes: file.http?.body_limit ?? DEFAULTS.bodyLimitBytes,
    trustProxy: file.http?.trust_proxy ?? DEFAULTS.trustProxy,
    demoClient: file.demo_client ?? DEFAULTS.demoClient,
    jwksFetch: {
      timeoutMs: jf.timeout_ms ?? DEFAULTS.jwksFetch.timeoutMs,
      maxBytes: jf.max_bytes ?? DEFAULTS.jwksFetch.maxBytes,
      minCacheSeconds: jf.min_cache ?? DEFAULTS.jwksFetch.minCacheSeconds,
      maxCacheSeconds: jf.max_cache ?? DEFAULTS.jwksFetch.maxCacheSeconds,
      cooldownSeconds: jf.cooldown ?? DEFAULTS.jwksFetch.cooldownSeconds,
    },
    clientCacheSeconds: DEFAULTS.clientCacheSeconds,
    throttle: {
      maxFailures: file.throttle?.max_failures ?? DEFAULTS.throttle.maxFailures,
      windowSeconds: file.throttle?.window ?? DEFAULTS.throttle.windowSeconds,
    },
    realms,
    admin: { realm: adminRealm, listen: file.admin?.listen ? { host: file.admin.listen.host ?? DEFAULTS.listen.host, port: file.admin.listen.port } : undefined },
    console: {
      idleTimeoutSeconds: file.console?.idle_timeout ?? 30 * 60,
      absoluteTimeoutSeconds: file.console?.absolute_timeout ?? 8 * 3600,
      sso: consoleSso(file.console?.sso),
    },
    management: { listen: ml === false ? undefined : { host: ml?.host ?? DEFAULTS.managementListen.host, port: ml?.port ?? DEFAULTS.managementListen.port } },
    metrics: { enabled: file.metrics?.enabled ?? DEFAULTS.metrics.enabled, perClient: file.metrics?.per_client ?? DEFAULTS.metrics.perClient },
  };
  if (config.jwksFetch.minCacheSeconds > config.jwksFetch.maxCacheSeconds) fail('jwks_fetch.min_cache', 'must not exceed max_cache');
  for (const realm of realms.values()) deepFreeze(realm);
  return Object.freeze(config);
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
