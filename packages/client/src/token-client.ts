/**
 * `TokenClient`: obtains, caches and renews client-credentials access tokens (RFC 6749 §4.4).
 */
import { parseScope } from '../../server/src/shared/oauth.ts';
import { applyClientAuth, prepareAuth, type ClientAuth, type PreparedAuth } from './auth.ts';
import { renewalTime, TokenCache, type AccessToken } from './cache.ts';
import { discover } from './discovery.ts';
import { defaultSleep, fetchWithTimeout, withRetry, type RetryPolicy } from './retry.ts';
import { readTokenResponse } from './token-response.ts';

export interface TokenClientOptions {
  /** The authorization server's issuer identifier, compared exactly with discovered metadata. */
  issuer: string;
  clientId: string;
  auth: ClientAuth;
  /** Token endpoint URL; when set, discovery is skipped. */
  tokenEndpoint?: string;
  /** `aud` of JWT client assertions: the issuer (default) or the token endpoint URL. */
  assertionAudience?: 'issuer' | 'token_endpoint';
  /** `typ` header of JWT client assertions; default `JWT`. */
  assertionTyp?: string;
  /** Renew this long before expiry (capped at half the token's lifetime); default 30. */
  refreshMarginSeconds?: number;
  /** Retries of transient failures (network, 408, 429, 5xx); default 3. */
  maxRetries?: number;
  /** First backoff delay, doubled per retry and jittered; default 250. */
  baseDelayMs?: number;
  /** Cap of a computed backoff delay; default 5000. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this ends retrying; default 60. */
  maxRetryAfterSeconds?: number;
  /** Timeout of each HTTP request; default 10000. */
  timeoutMs?: number;
  /** fetch implementation; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** Wait used between retries; default a timer. Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** Parameters of a token request; each distinct (scope, resource) pair is cached separately. */
export interface TokenRequest {
  /** Space-delimited string or list of scope tokens. */
  scope?: string | string[];
  /** Resource indicator(s) (RFC 8707): absolute URIs without fragment. */
  resource?: string | string[];
}

interface NormalizedRequest {
  scope: string;
  resources: string[];
  key: string;
}

export class TokenClient {
  readonly #issuer: string;
  readonly #auth: PreparedAuth;
  readonly #configuredEndpoint: string | undefined;
  readonly #assertionAudience: 'issuer' | 'token_endpoint';
  readonly #assertionTyp: string;
  readonly #marginMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #retry: RetryPolicy;
  readonly #cache = new TokenCache();
  #endpoint: Promise<string> | undefined;

  /** Validates all options eagerly; throws TypeError on bad input. */
  constructor(options: TokenClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options are required');
    this.#issuer = checkIssuer(options.issuer);
    this.#auth = prepareAuth(options.clientId, options.auth);
    if (options.tokenEndpoint !== undefined && !URL.canParse(options.tokenEndpoint)) throw new TypeError('tokenEndpoint must be an absolute URL');
    this.#configuredEndpoint = options.tokenEndpoint;
    this.#assertionAudience = options.assertionAudience ?? 'issuer';
    if (!['issuer', 'token_endpoint'].includes(this.#assertionAudience)) throw new TypeError("assertionAudience must be 'issuer' or 'token_endpoint'");
    this.#assertionTyp = options.assertionTyp ?? 'JWT';
    if (typeof this.#assertionTyp !== 'string' || this.#assertionTyp === '') throw new TypeError('assertionTyp must be a non-empty string');
    this.#marginMs = nonNegative('refreshMarginSeconds', options.refreshMarginSeconds, 30) * 1000;
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, 10_000);
    this.#fetch = options.fetch ?? globalThis.fetch;
    if (typeof this.#fetch !== 'function') throw new TypeError('fetch must be a function');
    this.#now = options.now ?? Date.now;
    const maxRetries = nonNegative('maxRetries', options.maxRetries, 3);
    if (!Number.isInteger(maxRetries)) throw new TypeError('maxRetries must be an integer');
    this.#retry = {
      maxRetries,
      baseDelayMs: nonNegative('baseDelayMs', options.baseDelayMs, 250),
      maxDelayMs: nonNegative('maxDelayMs', options.maxDelayMs, 5_000),
      maxRetryAfterMs: nonNegative('maxRetryAfterSeconds', options.maxRetryAfterSeconds, 60) * 1000,
      sleep: options.sleep ?? defaultSleep,
      random: Math.random,
      now: this.#now,
    };
  }

  /**
   * An access token for `scope`/`resource`: from cache while fresh, otherwise requested once for
   * all concurrent callers. Throws `TokenError` for OAuth error responses, `TransportError` when
   * no usable answer arrived after retries, `DiscoveryError` when metadata is unusable.
   */
  async getToken(request: TokenRequest = {}): Promise<AccessToken> {
    const normalized = normalizeRequest(request);
    return this.#cache.getOrFetch(normalized.key, this.#now, async () => {
      const token = await this.#requestToken(normalized);
      return { token, renewAt: renewalTime(this.#now(), token.expiresAt, this.#marginMs) };
    });
  }

  /** Drops the cached token for `scope`/`resource` so the next `getToken` requests a new one. */
  invalidate(scope?: string | string[], resource?: string | string[]): void {
    this.#cache.delete(normalizeRequest({ scope, resource }).key);
  }

  /**
   * `fetch` with `Authorization: Bearer`. When the resource server answers 401 with
   * `error="invalid_token"`, the token is dropped, renewed once and the request retried once.
   */
  async fetch(input: string | URL | Request, init?: RequestInit, request: TokenRequest = {}): Promise<Response> {
    const normalized = normalizeRequest(request);
    const template = new Request(input, init);
    const first = await this.getToken(request);
    const response = await this.#fetch(withBearer(template.clone(), first.accessToken));
    if (response.status !== 401 || !isInvalidTokenChallenge(response.headers.get('www-authenticate'))) return response;
    await response.body?.cancel().catch(() => undefined);
    this.#cache.delete(normalized.key, first.accessToken);
    const second = await this.getToken(request);
    return this.#fetch(withBearer(template, second.accessToken));
  }

  async #requestToken(request: NormalizedRequest): Promise<AccessToken> {
    const endpoint = await this.#tokenEndpoint();
    const audience = this.#assertionAudience === 'issuer' ? this.#issuer : endpoint;
    let sentAt = this.#now();
    const response = await withRetry(async () => {
      const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      if (request.scope) body.set('scope', request.scope);
      for (const resource of request.resources) body.append('resource', resource);
      sentAt = this.#now();
      await applyClientAuth(this.#auth, { headers, body }, { audience, typ: this.#assertionTyp, now: sentAt });
      return fetchWithTimeout(this.#fetch, endpoint, { method: 'POST', headers, body, redirect: 'error' }, this.#timeoutMs);
    }, this.#retry);
    return readTokenResponse(response, sentAt, request.scope);
  }

  #tokenEndpoint(): Promise<string> {
    if (this.#configuredEndpoint !== undefined) return Promise.resolve(this.#configuredEndpoint);
    this.#endpoint ??= discover(this.#issuer, { fetch: this.#fetch, timeoutMs: this.#timeoutMs, retry: this.#retry }).then(
      (metadata) => metadata.token_endpoint,
      (error: unknown) => {
        this.#endpoint = undefined;
        throw error;
      },
    );
    return this.#endpoint;
  }
}

function normalizeRequest(request: TokenRequest): NormalizedRequest {
  const scopes = normalizeScope(request.scope);
  const resources = [...new Set(toList(request.resource))].sort();
  for (const resource of resources) {
    if (!URL.canParse(resource) || resource.includes('#')) {
      throw new TypeError(`resource must be an absolute URI without fragment: ${resource}`);
    }
  }
  const scope = scopes.join(' ');
  return { scope, resources, key: JSON.stringify([scope, resources]) };
}

function normalizeScope(scope: string | string[] | undefined): string[] {
  if (scope === undefined) return [];
  const parsed = Array.isArray(scope) ? parseScope(scope.join(' ')) : typeof scope === 'string' ? parseScope(scope) : undefined;
  if (parsed === undefined) throw new TypeError('scope must be a space-delimited list of scope tokens');
  return [...parsed].sort();
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function withBearer(request: Request, accessToken: string): Request {
  request.headers.set('authorization', `Bearer ${accessToken}`);
  return request;
}

/** True when a WWW-Authenticate value carries a Bearer challenge with `error="invalid_token"`. */
export function isInvalidTokenChallenge(header: string | null): boolean {
  if (header === null) return false;
  return /(^|[\s,])bearer(\s|,|$)/i.test(header) && /\berror\s*=\s*("invalid_token"|invalid_token\b)/i.test(header);
}

function checkIssuer(issuer: unknown): string {
  if (typeof issuer !== 'string' || !URL.canParse(issuer)) throw new TypeError('issuer must be an absolute URL');
  const url = new URL(issuer);
  if (url.search !== '' || url.hash !== '' || issuer.includes('#') || issuer.includes('?')) {
    throw new TypeError('issuer must not have a query or fragment');
  }
  return issuer;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}
