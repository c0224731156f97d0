/**
 * Verifier options and their eager validation.
 */
import { isScopeToken } from '../../server/src/shared/oauth.ts';

/** Minimal logger; `pino`, `console` and most loggers fit. Only ever receives one string. */
export interface VerifierLogger {
  warn(message: string): void;
}

export interface JwksOptions {
  /** JWKS URL; discovered from the issuer's metadata (`jwks_uri`) when omitted. */
  uri?: string;
  /** Timeout of a JWKS fetch; default 5000. */
  timeoutMs?: number;
  /** After a fetch, an unknown `kid` triggers another fetch only once this has elapsed; default 30000. */
  cooldownMs?: number;
  /** Keys are refetched when older than this; default 600000. */
  cacheMaxAgeMs?: number;
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

export interface VerifierOptions {
  /** Expected `iss`, compared exactly. Also the base of metadata discovery. */
  issuer: string;
  /** This API's identifier; the token's `aud` must contain it. */
  audience: string;
  /** Scopes every token must carry, in addition to per-call ones. */
  scopes?: readonly string[];
  /** `realm` of challenges; default the audience. */
  realm?: string;
  /** Tolerance for exp/nbf/iat; default 30. */
  clockSkewSeconds?: number;
  /** Accepted JWS algorithms; default ES256, RS256, PS256, EdDSA. `none` and HS* are refused. */
  algorithms?: readonly string[];
  /** JWT mode settings (the default mode). */
  jwks?: JwksOptions;
  /** Switches to introspection mode (RFC 7662). Cannot be combined with `jwks`. */
  introspection?: IntrospectionOptions;
  /** Timeout for discovery and introspection requests; default 5000. */
  timeoutMs?: number;
  /** fetch implementation for discovery, JWKS and introspection; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** Receives the reason of each refusal. */
  logger?: VerifierLogger;
}

export const DEFAULT_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;

/** Asymmetric JWS algorithms a resource server may accept. */
const ASYMMETRIC_ALGORITHMS = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

export interface ResolvedOptions {
  issuer: string;
  audience: string;
  scopes: readonly string[];
  realm: string;
  clockSkewSeconds: number;
  algorithms: string[];
  mode: 'jwt' | 'introspection';
  jwks: Required<Omit<JwksOptions, 'uri'>> & { uri: string | undefined };
  introspection: (Required<Omit<IntrospectionOptions, 'endpoint'>> & { endpoint: string | undefined }) | undefined;
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => number;
  logger: VerifierLogger | undefined;
}

/** Checks every option and fills defaults. Throws TypeError naming the first bad option. */
export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('verifier options are required');
  const issuer = absoluteUrl('issuer', options.issuer);
  if (new URL(issuer).search !== '' || issuer.includes('#')) throw new TypeError('issuer must not have a query or fragment');
  if (typeof options.audience !== 'string' || options.audience === '') throw new TypeError('audience must be a non-empty string');
  const scopes = scopeList('scopes', options.scopes);
  const realm = options.realm ?? options.audience;
  if (typeof realm !== 'string' || !/^[\x20-\x7E]*$/.test(realm)) throw new TypeError('realm must be printable ASCII');
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty');
  for (const alg of algorithms) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) throw new TypeError(`algorithm ${String(alg)} is not allowed; use asymmetric algorithms only`);
  }
  if (options.jwks !== undefined && options.introspection !== undefined) {
    throw new TypeError('jwks and introspection are exclusive: choose JWT or introspection mode');
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('fetch must be a function');
  if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('now must be a function');
  if (options.logger !== undefined && typeof options.logger?.warn !== 'function') throw new TypeError('logger must have a warn method');
  const jwks = options.jwks ?? {};
  return {
    issuer,
    audience: options.audience,
    scopes,
    realm,
    clockSkewSeconds: nonNegative('clockSkewSeconds', options.clockSkewSeconds, 30),
    algorithms,
    mode: options.introspection ? 'introspection' : 'jwt',
    jwks: {
      uri: jwks.uri === undefined ? undefined : absoluteUrl('jwks.uri', jwks.uri),
      timeoutMs: integer('jwks.timeoutMs', jwks.timeoutMs, 5_000),
      cooldownMs: nonNegative('jwks.cooldownMs', jwks.cooldownMs, 30_000),
      cacheMaxAgeMs: nonNegative('jwks.cacheMaxAgeMs', jwks.cacheMaxAgeMs, 600_000),
    },
    introspection: options.introspection ? resolveIntrospection(options.introspection) : undefined,
    timeoutMs: integer('timeoutMs', options.timeoutMs, 5_000),
    fetch: options.fetch ?? globalThis.fetch,
    now: options.now ?? Date.now,
    logger: options.logger,
  };
}

function resolveIntrospection(options: IntrospectionOptions): NonNullable<ResolvedOptions['introspection']> {
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
