/**
 * Verifier options and their eager validation. Portable: no Node built-ins.
 */
import { isScopeToken } from '../../server/src/shared/oauth.ts';
import type { VerifiedAccessToken } from './claims.ts';
import type { BearerErrorCode } from './errors.ts';

/** Minimal logger; `pino`, `console` and most loggers fit. Only ever receives one string. */
export interface VerifierLogger {
  warn(message: string): void;
}

export interface JwksOptions {
  /** JWKS URL; discovered from the issuer's metadata (`jwks_uri`) when omitted. */
  uri?: string;
  /** Timeout of a JWKS fetch; default 5000. */
  timeoutMs?: number;
  /**
   * An unknown `kid` refetches the JWKS at once, but at most once per this many ms (so random kids
   * cannot make the verifier hammer the issuer); also the wait after a failed fetch. Default 10000.
   */
  cooldownMs?: number;
  /** Lifetime of the keys when the JWKS response has no `Cache-Control: max-age`; default 300000. */
  cacheMaxAgeMs?: number;
  /** Lower bound applied to the JWKS `max-age` (also used for `no-store`/`no-cache`); default 30000. */
  minCacheMs?: number;
  /** Upper bound applied to the JWKS `max-age`; default 600000. */
  maxCacheMs?: number;
}

export interface IntrospectionOptions {
  /** Introspection endpoint; discovered (`introspection_endpoint`) when omitted. */
  endpoint?: string;
  /** The resource server's own credentials, sent with client_secret_basic. */
  clientId: string;
  clientSecret: string;
  /** Upper bound for caching an active result (never beyond the token's `exp`); default 60. */
  cacheMaxSeconds?: number;
  /** How long an inactive or rejected result is cached; default 10. */
  inactiveCacheSeconds?: number;
  /** Most cached results kept; default 10000. */
  maxEntries?: number;
}

/** One accepted issuer; unset members fall back to the verifier-level ones. */
export interface IssuerOptions {
  /** Expected `iss`, compared exactly. Also the base of metadata discovery. */
  issuer: string;
  jwks?: JwksOptions;
  /** Introspection mode for this issuer (only when it is the only issuer). */
  introspection?: IntrospectionOptions;
  algorithms?: readonly string[];
  /** Audiences accepted for this issuer's tokens; default the verifier's `audience`. */
  audience?: string | readonly string[];
  /**
   * RFC 9068 profile checks (`typ: at+jwt`; `sub`, `client_id`, `jti`, `iat`, `exp` required); default
   * true. With false, only `exp` is required besides `iss`/`aud`, `typ` is not checked, and the client
   * is read from `client_id`, else `azp`, else `sub`.
   */
  rfc9068?: boolean;
}

/** What a refusal hook receives. `reason` is for logs only; it never contains the token. */
export interface VerifyFailureEvent {
  status: 400 | 401 | 403 | 503;
  /** RFC 6750 error code; undefined for a request without a token, or for 503. */
  error: BearerErrorCode | undefined;
  reason: string;
  /** The client, when the token was valid but lacked a scope. */
  clientId?: string;
}

export interface VerifySuccessEvent {
  token: VerifiedAccessToken;
  /** True when the verified-token cache answered. */
  cached: boolean;
}

export interface TokenCacheOptions {
  /** How long a verified token is remembered; never beyond its `exp`. Default 60000. */
  ttlMs?: number;
  /** Most tokens remembered; default 10000. */
  maxEntries?: number;
}

/**
 * A custom check on a token that passed signature and profile checks. Return `true` or nothing to
 * accept; `false` or a string (the reason, for the log) to refuse with 401 invalid_token. Throwing
 * refuses too. Runs before the verified-token cache stores the token, so it must depend on the token
 * only.
 */
export type ClaimsCheck = (token: VerifiedAccessToken) => boolean | string | void | Promise<boolean | string | void>;

export interface VerifierOptions {
  /** The issuer, when there is one. Exactly one of `issuer` and `issuers` is required. */
  issuer?: string;
  /** Several accepted issuers, each with its own JWKS/discovery; strings take the shared settings. */
  issuers?: ReadonlyArray<string | IssuerOptions>;
  /** This API's identifier(s); the token's `aud` must contain one of them. */
  audience: string | readonly string[];
  /** Scopes every token must carry, in addition to per-call ones. */
  scopes?: readonly string[];
  /** `realm` of challenges; default the first audience. */
  realm?: string;
  /** Tolerance for exp/nbf/iat; default 30. */
  clockSkewSeconds?: number;
  /** Accepted JWS algorithms; default ES256, RS256, PS256, EdDSA. `none` and HS* are refused. */
  algorithms?: readonly string[];
  /** RFC 9068 profile checks, default true (see `IssuerOptions.rfc9068`). */
  rfc9068?: boolean;
  /** JWT mode settings (the default mode). */
  jwks?: JwksOptions;
  /** Switches to introspection mode (RFC 7662). Cannot be combined with `jwks` nor with several issuers. */
  introspection?: IntrospectionOptions;
  /** Custom claim check, for every issuer. */
  validateClaims?: ClaimsCheck;
  /** Remember verified tokens for a short while (never past `exp`; cleared by `reload()`); off by default. */
  tokenCache?: boolean | TokenCacheOptions;
  /** Timeout for discovery and introspection requests; default 5000. */
  timeoutMs?: number;
  /** fetch implementation for discovery, JWKS and introspection; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** Receives the reason of each refusal (401, 403, 400 and 503). */
  logger?: VerifierLogger;
  /** Called for each refusal, with its reason. Errors it throws are ignored. */
  onVerifyFailure?: (event: VerifyFailureEvent) => void;
  /** Called for each accepted token. Errors it throws are ignored. */
  onVerifySuccess?: (event: VerifySuccessEvent) => void;
  /** OpenTelemetry spans and metrics when `@opentelemetry/api` can be loaded; default true. */
  telemetry?: boolean;
}

export const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;

/** Asymmetric JWS algorithms a resource server may accept. */
const ASYMMETRIC_ALGORITHMS = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

export type ResolvedJwks = Required<Omit<JwksOptions, 'uri'>> & { uri: string | undefined };
export type ResolvedIntrospection = Required<Omit<IntrospectionOptions, 'endpoint'>> & { endpoint: string | undefined };

export interface ResolvedIssuer {
  issuer: string;
  audiences: string[];
  algorithms: string[];
  rfc9068: boolean;
  mode: 'jwt' | 'introspection';
  jwks: ResolvedJwks;
  introspection: ResolvedIntrospection | undefined;
}

export interface ResolvedOptions {
  issuers: ResolvedIssuer[];
  audiences: string[];
  scopes: readonly string[];
  realm: string;
  clockSkewSeconds: number;
  mode: 'jwt' | 'introspection';
  validateClaims: ClaimsCheck | undefined;
  tokenCache: Required<TokenCacheOptions> | undefined;
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => number;
  logger: VerifierLogger | undefined;
  onVerifyFailure: ((event: VerifyFailureEvent) => void) | undefined;
  onVerifySuccess: ((event: VerifySuccessEvent) => void) | undefined;
  telemetry: boolean;
}

/** Checks every option and fills defaults. Throws TypeError naming the first bad option. */
export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('verifier options are required');
  const audiences = audienceOption('audience', options.audience);
  const scopes = scopeList('scopes', options.scopes);
  const realm = options.realm ?? audiences[0]!;
  if (typeof realm !== 'string' || !/^[\x20-\x7E]*$/.test(realm)) throw new TypeError('realm must be printable ASCII');
  if (options.jwks !== undefined && options.introspection !== undefined) {
    throw new TypeError('jwks and introspection are exclusive: choose JWT or introspection mode');
  }
  if ((options.issuer === undefined) === (options.issuers === undefined)) throw new TypeError('give exactly one of issuer and issuers');
  const list = options.issuers ?? [options.issuer as string];
  if (!Array.isArray(list) || list.length === 0) throw new TypeError('issuers must be a non-empty array');
  const issuers = list.map((entry, i) => resolveIssuer(i, typeof entry === 'string' ? { issuer: entry } : entry, options, audiences));
  if (new Set(issuers.map((i) => i.issuer)).size !== issuers.length) throw new TypeError('issuers must be distinct');
  if (issuers.length > 1 && issuers.some((i) => i.mode === 'introspection')) throw new TypeError('introspection mode supports a single issuer');
  for (const name of ['fetch', 'now', 'validateClaims', 'onVerifyFailure', 'onVerifySuccess'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new TypeError(`${name} must be a function`);
  }
  if (options.logger !== undefined && typeof options.logger?.warn !== 'function') throw new TypeError('logger must have a warn method');
  if (options.telemetry !== undefined && typeof options.telemetry !== 'boolean') throw new TypeError('telemetry must be a boolean');
  return {
    issuers,
    audiences,
    scopes,
    realm,
    clockSkewSeconds: nonNegative('clockSkewSeconds', options.clockSkewSeconds, 30),
    mode: issuers[0]!.mode,
    validateClaims: options.validateClaims,
    tokenCache: resolveTokenCache(options.tokenCache),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 5_000),
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    now: options.now ?? Date.now,
    logger: options.logger,
    onVerifyFailure: options.onVerifyFailure,
    onVerifySuccess: options.onVerifySuccess,
    telemetry: options.telemetry ?? true,
  };
}

function resolveIssuer(index: number, entry: IssuerOptions, shared: VerifierOptions, audiences: string[]): ResolvedIssuer {
  if (typeof entry !== 'object' || entry === null) throw new TypeError(`issuers[${index}] must be a URL or an object`);
  const issuer = absoluteUrl('issuer', entry.issuer);
  if (new URL(issuer).search !== '' || issuer.includes('#')) throw new TypeError('issuer must not have a query or fragment');
  const introspection = entry.introspection ?? (entry.jwks === undefined ? shared.introspection : undefined);
  const jwksOptions = entry.jwks ?? (entry.introspection === undefined ? shared.jwks : undefined) ?? {};
  if (entry.jwks !== undefined && entry.introspection !== undefined) {
    throw new TypeError('jwks and introspection are exclusive: choose JWT or introspection mode');
  }
  const algorithms = [...(entry.algorithms ?? shared.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty');
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) throw new TypeError(`algorithm ${String(alg)} is not allowed; use asymmetric algorithms only`);
  }
  const rfc9068 = entry.rfc9068 ?? shared.rfc9068 ?? true;
  if (typeof rfc9068 !== 'boolean') throw new TypeError('rfc9068 must be a boolean');
  const minCacheMs = nonNegative('jwks.minCacheMs', jwksOptions.minCacheMs, 30_000);
  const maxCacheMs = nonNegative('jwks.maxCacheMs', jwksOptions.maxCacheMs, 600_000);
  if (minCacheMs > maxCacheMs) throw new TypeError('jwks.minCacheMs must not exceed jwks.maxCacheMs');
  return {
    issuer,
    audiences: entry.audience === undefined ? audiences : audienceOption('issuers[].audience', entry.audience),
    algorithms,
    rfc9068,
    mode: introspection ? 'introspection' : 'jwt',
    jwks: {
      uri: jwksOptions.uri === undefined ? undefined : absoluteUrl('jwks.uri', jwksOptions.uri),
      timeoutMs: integer('jwks.timeoutMs', jwksOptions.timeoutMs, 5_000),
      cooldownMs: nonNegative('jwks.cooldownMs', jwksOptions.cooldownMs, 10_000),
      cacheMaxAgeMs: nonNegative('jwks.cacheMaxAgeMs', jwksOptions.cacheMaxAgeMs, 300_000),
      minCacheMs,
      maxCacheMs,
    },
    introspection: introspection ? resolveIntrospection(introspection) : undefined,
  };
}

function resolveTokenCache(option: VerifierOptions['tokenCache']): Required<TokenCacheOptions> | undefined {
  if (option === undefined || option === false) return undefined;
  const settings = option === true ? {} : option;
  if (typeof settings !== 'object' || settings === null) throw new TypeError('tokenCache must be a boolean or an object');
  return {
    ttlMs: integer('tokenCache.ttlMs', settings.ttlMs, 60_000),
    maxEntries: integer('tokenCache.maxEntries', settings.maxEntries, 10_000),
  };
}

function resolveIntrospection(options: IntrospectionOptions): ResolvedIntrospection {
  if (typeof options.clientId !== 'string' || options.clientId === '') throw new TypeError('introspection.clientId must be a non-empty string');
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') throw new TypeError('introspection.clientSecret must be a non-empty string');
  return {
    endpoint: options.endpoint === undefined ? undefined : absoluteUrl('introspection.endpoint', options.endpoint),
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    cacheMaxSeconds: nonNegative('introspection.cacheMaxSeconds', options.cacheMaxSeconds, 60),
    inactiveCacheSeconds: nonNegative('introspection.inactiveCacheSeconds', options.inactiveCacheSeconds, 10),
    maxEntries: integer('introspection.maxEntries', options.maxEntries, 10_000),
  };
}

function audienceOption(name: string, value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string' && a !== '')) {
    throw new TypeError(`${name} must be a non-empty string or a non-empty array of them`);
  }
  return [...new Set(list as string[])];
}

/** Validates a list of required scopes. */
export function scopeList(name: string, scopes: readonly string[] | undefined): readonly string[] {
  if (scopes === undefined) return [];
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && isScopeToken(s))) {
    throw new TypeError(`${name} must be an array of scope tokens`);
  }
  return [...new Set(scopes)];
}

function absoluteUrl(name: string, value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new TypeError(`${name} must be an absolute URL`);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}

function integer(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}
