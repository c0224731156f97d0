/**
 * `TokenClient`: obtains, caches and renews client-credentials access tokens (RFC 6749 §4.4).
 *
 * Lifecycle of a cached token (per scope/resource): served from memory until `renewAt`; from then
 * on still served while one renewal runs in the background (callers never wait for it); when that
 * renewal fails, still served until `usableUntil` while renewals are retried with backoff. Only a
 * caller without a usable token waits, and every wait honours the caller's `AbortSignal` and the
 * connect, per-request and total timeouts.
 */
import { parseScope } from '../../server/src/shared/oauth.ts';
import { applyClientAuth, prepareAuth, type ClientAuth, type PreparedAuth } from './auth.ts';
import { renewalTime, usableUntil, type AccessToken, type CachedToken, type TokenCacheStore } from './cache.ts';
import { discover } from './discovery.ts';
import { TransportError } from './errors.ts';
import { Flight } from './flight.ts';
import { backoffDelay, defaultSleep, fetchWithTimeout, withRetry, type RetryPolicy } from './retry.ts';
import { anySignal, checkSignal } from './signals.ts';
import { ClientTelemetry } from './telemetry.ts';
import { readTokenResponse } from './token-response.ts';

/** What a token request is for; passed to every hook. */
export interface TokenEventContext {
  /** Normalized scope (sorted, space-delimited; empty for none). */
  scope: string;
  /** Resource indicators, sorted. */
  resources: string[];
  /** True for a renewal started in the background while the cached token was still served. */
  background: boolean;
}

/** Before each HTTP attempt at the token endpoint (retries included). */
export interface TokenRequestEvent extends TokenEventContext {
  endpoint: string;
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
}

/** After each HTTP response from the token endpoint (any status). */
export interface TokenResponseEvent extends TokenRequestEvent {
  status: number;
  durationMs: number;
}

/** A failed token request (after retries), discovery or token cache operation. */
export interface TokenErrorEvent extends TokenEventContext {
  error: unknown;
  phase: 'discovery' | 'token' | 'cache';
  /** True when callers keep being served the cached, still valid token despite this failure. */
  servedCachedToken: boolean;
}

/** Observation hooks; they run synchronously, and an exception thrown by a hook is ignored. */
export interface TokenClientHooks {
  onTokenRequest?: (event: TokenRequestEvent) => void;
  onTokenResponse?: (event: TokenResponseEvent) => void;
  onError?: (event: TokenErrorEvent) => void;
}

export interface TokenClientOptions extends TokenClientHooks {
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
  /** Start renewing this long before expiry (capped at half the token's lifetime); default 30. */
  refreshMarginSeconds?: number;
  /** A token is served until this long before its expiry (at most 10% of its lifetime); default 5. */
  expirySkewSeconds?: number;
  /** Lifetime assumed when a token response has no `expires_in`; default 60. 0 disables caching such tokens. */
  defaultExpiresInSeconds?: number;
  /** Retries of transient failures (network, 408, 429, 5xx) within one token request; default 3. */
  maxRetries?: number;
  /** First backoff delay, doubled per retry and jittered; default 250. */
  baseDelayMs?: number;
  /** Cap of a computed backoff delay; default 5000. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this ends retrying; default 60. */
  maxRetryAfterSeconds?: number;
  /** First wait before retrying a failed background renewal, doubled per failure and jittered; default 1000. */
  renewalRetryDelayMs?: number;
  /** Cap of that wait; default 30000. It is also never more than half the cached token's remaining use. */
  maxRenewalRetryDelayMs?: number;
  /** Timeout of each HTTP request, response body included; default 10000. */
  timeoutMs?: number;
  /** Timeout until the response headers of each HTTP request arrive (connection set-up included); default 5000. */
  connectTimeoutMs?: number;
  /** Timeout of a whole token request: discovery, every attempt and every backoff; default 15000. */
  totalTimeoutMs?: number;
  /** A store shared beyond this client (e.g. `RedisTokenCache`); the client's own in-memory cache is always used too. */
  cache?: TokenCacheStore;
  /** OpenTelemetry spans and metrics when `@opentelemetry/api` is installed; default true. */
  telemetry?: boolean;
  /** fetch implementation; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
  /** Wait used between retries; default a timer. Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Parameters of a token request; each distinct (scope, resource) pair is cached separately. */
export interface TokenRequest {
  /** Space-delimited string or list of scope tokens. */
  scope?: string | string[];
  /** Resource indicator(s) (RFC 8707): absolute URIs without fragment. */
  resource?: string | string[];
  /** Cancels this caller's wait (and the request itself when no other caller waits for it). */
  signal?: AbortSignal;
}

interface NormalizedRequest {
  scope: string;
  resources: string[];
  key: string;
}

/** Per (scope, resource): the cached token, the request in flight and the renewal backoff state. */
interface Slot {
  entry: CachedToken | undefined;
  flight: Flight<CachedToken> | undefined;
  /** Consecutive failed background renewals. */
  failures: number;
  /** No background renewal is started before this instant. */
  retryAt: number;
  /** The last token dropped (invalidate, 401 invalid_token): never adopted again from the shared cache. */
  dropped: string | undefined;
}

export class TokenClient {
  readonly #issuer: string;
  readonly #clientId: string;
  readonly #auth: PreparedAuth;
  readonly #configuredEndpoint: string | undefined;
  readonly #assertionAudience: 'issuer' | 'token_endpoint';
  readonly #assertionTyp: string;
  readonly #marginMs: number;
  readonly #skewMs: number;
  readonly #defaultLifetimeSeconds: number;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #totalTimeoutMs: number;
  readonly #renewalRetry: { baseDelayMs: number; maxDelayMs: number; random: () => number };
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #retry: RetryPolicy;
  readonly #store: TokenCacheStore | undefined;
  readonly #hooks: TokenClientHooks;
  readonly #telemetry: ClientTelemetry;
  readonly #slots = new Map<string, Slot>();
  #discovery: Flight<string> | undefined;
  #discovered: string | undefined;

  /** Validates all options eagerly; throws TypeError on bad input. */
  constructor(options: TokenClientOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options are required');
    this.#issuer = checkIssuer(options.issuer);
    this.#clientId = options.clientId;
    this.#auth = prepareAuth(options.clientId, options.auth);
    if (options.tokenEndpoint !== undefined && !URL.canParse(options.tokenEndpoint)) throw new TypeError('tokenEndpoint must be an absolute URL');
    this.#configuredEndpoint = options.tokenEndpoint;
    this.#assertionAudience = options.assertionAudience ?? 'issuer';
    if (!['issuer', 'token_endpoint'].includes(this.#assertionAudience)) throw new TypeError("assertionAudience must be 'issuer' or 'token_endpoint'");
    this.#assertionTyp = options.assertionTyp ?? 'JWT';
    if (typeof this.#assertionTyp !== 'string' || this.#assertionTyp === '') throw new TypeError('assertionTyp must be a non-empty string');
    this.#marginMs = nonNegative('refreshMarginSeconds', options.refreshMarginSeconds, 30) * 1000;
    this.#skewMs = nonNegative('expirySkewSeconds', options.expirySkewSeconds, 5) * 1000;
    this.#defaultLifetimeSeconds = nonNegative('defaultExpiresInSeconds', options.defaultExpiresInSeconds, 60);
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, 10_000);
    this.#connectTimeoutMs = positiveInteger('connectTimeoutMs', options.connectTimeoutMs, 5_000);
    this.#totalTimeoutMs = positiveInteger('totalTimeoutMs', options.totalTimeoutMs, 15_000);
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
    this.#renewalRetry = {
      baseDelayMs: nonNegative('renewalRetryDelayMs', options.renewalRetryDelayMs, 1_000),
      maxDelayMs: nonNegative('maxRenewalRetryDelayMs', options.maxRenewalRetryDelayMs, 30_000),
      random: Math.random,
    };
    if (options.cache !== undefined) {
      const c = options.cache as Partial<TokenCacheStore> | null;
      if (typeof c !== 'object' || c === null || typeof c.get !== 'function' || typeof c.set !== 'function' || typeof c.delete !== 'function') {
        throw new TypeError('cache must implement get, set and delete');
      }
    }
    this.#store = options.cache;
    for (const hook of ['onTokenRequest', 'onTokenResponse', 'onError'] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== 'function') throw new TypeError(`${hook} must be a function`);
    }
    this.#hooks = { onTokenRequest: options.onTokenRequest, onTokenResponse: options.onTokenResponse, onError: options.onError };
    if (options.telemetry !== undefined && typeof options.telemetry !== 'boolean') throw new TypeError('telemetry must be a boolean');
    this.#telemetry = new ClientTelemetry(options.telemetry ?? true);
  }

  /**
   * An access token for `scope`/`resource`: from cache while usable (renewed in the background
   * once due), otherwise requested once for all concurrent callers. Throws `TokenError` for OAuth
   * error responses, `TransportError` when no usable answer arrived after retries or within
   * `totalTimeoutMs`, `DiscoveryError` when metadata is unusable, and `request.signal.reason`
   * when the caller aborts.
   */
  async getToken(request: TokenRequest = {}): Promise<AccessToken> {
    const normalized = normalizeRequest(request);
    const signal = checkSignal(request.signal);
    signal?.throwIfAborted();
    let slot = this.#slots.get(normalized.key);
    if (slot === undefined) {
      slot = { entry: undefined, flight: undefined, failures: 0, retryAt: 0, dropped: undefined };
      this.#slots.set(normalized.key, slot);
    }
    const now = this.#now();
    const entry = slot.entry;
    if (entry !== undefined && now < entry.renewAt) {
      this.#telemetry.cacheResult('hit');
      return entry.token;
    }
    if (entry !== undefined && now < entry.usableUntil) {
      this.#telemetry.cacheResult('stale');
      if (slot.flight === undefined && now >= slot.retryAt) this.#startFlight(normalized, slot, true);
      return entry.token;
    }
    this.#telemetry.cacheResult('miss');
    slot.entry = undefined;
    const flight = slot.flight !== undefined && !slot.flight.abandoned ? slot.flight : this.#startFlight(normalized, slot, false);
    return (await flight.join(signal)).token;
  }

  /** Drops the cached token for `scope`/`resource` (here and in the shared cache) so the next `getToken` requests a new one. */
  invalidate(scope?: string | string[], resource?: string | string[]): void {
    this.#drop(normalizeRequest({ scope, resource }).key);
  }

  /**
   * `fetch` with `Authorization: Bearer`. When the resource server answers 401 with
   * `error="invalid_token"`, the token is dropped, renewed once and the request retried once.
   * The signal of `request`, else of `init`, else of a `Request` input, also bounds the token request.
   */
  async fetch(input: string | URL | Request, init?: RequestInit, request: TokenRequest = {}): Promise<Response> {
    const normalized = normalizeRequest(request);
    const template = new Request(input, init);
    const tokenRequest: TokenRequest = { ...request, signal: request.signal ?? init?.signal ?? template.signal };
    const first = await this.getToken(tokenRequest);
    const response = await this.#fetch(withBearer(template.clone(), first.accessToken));
    if (response.status !== 401 || !isInvalidTokenChallenge(response.headers.get('www-authenticate'))) return response;
    await response.body?.cancel().catch(() => undefined);
    this.#drop(normalized.key, first.accessToken);
    const second = await this.getToken(tokenRequest);
    return this.#fetch(withBearer(template, second.accessToken));
  }

  #drop(key: string, accessToken?: string): void {
    const slot = this.#slots.get(key);
    if (slot) slot.dropped = accessToken ?? slot.entry?.token.accessToken;
    if (slot?.entry && (accessToken === undefined || slot.entry.token.accessToken === accessToken)) slot.entry = undefined;
    if (this.#store) {
      const context = { ...contextOf(key), background: false };
      void Promise.resolve()
        .then(() => this.#store!.delete(this.#storeKey(key), accessToken))
        .catch((error: unknown) => this.#emitError({ ...context, error, phase: 'cache', servedCachedToken: false }));
    }
  }

  #startFlight(request: NormalizedRequest, slot: Slot, background: boolean): Flight<CachedToken> {
    const flight = new Flight<CachedToken>((signal) => this.#obtain(request, slot, background, signal));
    if (background) flight.pin();
    slot.flight = flight;
    flight.promise.then(
      (entry) => {
        if (slot.flight === flight) slot.flight = undefined;
        slot.failures = 0;
        slot.retryAt = 0;
        if (this.#now() < entry.usableUntil) slot.entry = entry;
      },
      () => {
        if (slot.flight === flight) slot.flight = undefined;
        if (flight.abandoned) return;
        const now = this.#now();
        const remaining = slot.entry === undefined ? 0 : slot.entry.usableUntil - now;
        slot.retryAt = now + Math.min(backoffDelay(slot.failures, this.#renewalRetry), Math.max(0, remaining / 2));
        slot.failures++;
      },
    );
    return flight;
  }

  /** One token request: shared cache, discovery, the HTTP attempts; bounded by `totalTimeoutMs`. */
  async #obtain(request: NormalizedRequest, slot: Slot, background: boolean, flightSignal: AbortSignal): Promise<CachedToken> {
    await this.#telemetry.ready();
    const context: TokenEventContext = { scope: request.scope, resources: request.resources, background };
    const span = this.#telemetry.start(
      'tessera.client.token',
      { 'oauth.client_id': this.#clientId, 'oauth.scope': request.scope, 'tessera.background': background },
      true,
    );
    const total = AbortSignal.timeout(this.#totalTimeoutMs);
    const signal = anySignal([flightSignal, total]);
    let phase: TokenErrorEvent['phase'] = 'cache';
    try {
      if (this.#store) {
        const shared = await this.#storeGet(request.key, context);
        if (shared !== undefined && this.#now() < shared.renewAt && shared.token.accessToken !== slot.dropped) {
          span.set('tessera.cache.shared_hit', true);
          span.ok();
          return shared;
        }
      }
      phase = 'discovery';
      const endpoint = await this.#tokenEndpoint(signal);
      phase = 'token';
      const token = await this.#requestToken(request, endpoint, context, signal);
      const receivedAt = this.#now();
      const entry: CachedToken = {
        token: Object.freeze(token),
        renewAt: renewalTime(receivedAt, token.expiresAt, this.#marginMs),
        usableUntil: usableUntil(receivedAt, token.expiresAt, this.#skewMs),
      };
      if (this.#store && entry.usableUntil > receivedAt) await this.#storeSet(request.key, entry, context);
      span.ok();
      return entry;
    } catch (caught) {
      if (flightSignal.aborted) {
        span.fail(flightSignal.reason);
        throw flightSignal.reason; // every caller left: nobody to tell
      }
      const error = total.aborted ? new TransportError(`no token within totalTimeoutMs (${this.#totalTimeoutMs} ms)`, { cause: caught }) : caught;
      span.fail(error);
      const now = this.#now();
      const servedCachedToken = background && slot.entry !== undefined && now < slot.entry.usableUntil;
      this.#emitError({ ...context, error, phase, servedCachedToken });
      throw error;
    }
  }

  async #requestToken(request: NormalizedRequest, endpoint: string, context: TokenEventContext, signal: AbortSignal): Promise<AccessToken> {
    const audience = this.#assertionAudience === 'issuer' ? this.#issuer : endpoint;
    let sentAt = this.#now();
    let attempt = 0;
    const response = await withRetry(
      async () => {
        attempt++;
        const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
        const body = new URLSearchParams({ grant_type: 'client_credentials' });
        if (request.scope) body.set('scope', request.scope);
        for (const resource of request.resources) body.append('resource', resource);
        sentAt = this.#now();
        await applyClientAuth(this.#auth, { headers, body }, { audience, typ: this.#assertionTyp, now: sentAt });
        const event: TokenRequestEvent = { ...context, endpoint, attempt };
        this.#emit('onTokenRequest', event);
        const started = performance.now();
        const response = await fetchWithTimeout(
          this.#fetch,
          endpoint,
          { method: 'POST', headers, body, redirect: 'error' },
          { timeoutMs: this.#timeoutMs, connectTimeoutMs: this.#connectTimeoutMs, signal },
        );
        this.#emit('onTokenResponse', { ...event, status: response.status, durationMs: performance.now() - started });
        return response;
      },
      this.#retry,
      signal,
    );
    return readTokenResponse(response, sentAt, request.scope, this.#defaultLifetimeSeconds);
  }

  /** The token endpoint: configured, or discovered once (shared by concurrent requests, retried after a failure). */
  #tokenEndpoint(signal: AbortSignal): Promise<string> {
    if (this.#configuredEndpoint !== undefined) return Promise.resolve(this.#configuredEndpoint);
    if (this.#discovered !== undefined) return Promise.resolve(this.#discovered);
    if (this.#discovery === undefined || this.#discovery.abandoned) {
      const flight = new Flight<string>(async (discoverySignal) => {
        const span = this.#telemetry.start('tessera.client.discovery', { 'oauth.issuer': this.#issuer }, false);
        try {
          const limits = { timeoutMs: this.#timeoutMs, connectTimeoutMs: this.#connectTimeoutMs, signal: discoverySignal };
          const metadata = await discover(this.#issuer, { fetch: this.#fetch, limits, retry: this.#retry });
          span.ok();
          return metadata.token_endpoint;
        } catch (error) {
          span.fail(error);
          throw error;
        }
      });
      this.#discovery = flight;
      flight.promise.then(
        (endpoint) => {
          this.#discovered = endpoint;
        },
        () => {
          if (this.#discovery === flight) this.#discovery = undefined;
        },
      );
    }
    return this.#discovery.join(signal);
  }

  /** Key in the shared store: issuer, client id and the (scope, resources) key. */
  #storeKey(key: string): string {
    return JSON.stringify([this.#issuer, this.#clientId, ...(JSON.parse(key) as unknown[])]);
  }

  async #storeGet(key: string, context: TokenEventContext): Promise<CachedToken | undefined> {
    try {
      return (await this.#store!.get(this.#storeKey(key))) ?? undefined;
    } catch (error) {
      this.#emitError({ ...context, error, phase: 'cache', servedCachedToken: false });
      return undefined;
    }
  }

  async #storeSet(key: string, entry: CachedToken, context: TokenEventContext): Promise<void> {
    try {
      await this.#store!.set(this.#storeKey(key), entry);
    } catch (error) {
      this.#emitError({ ...context, error, phase: 'cache', servedCachedToken: false });
    }
  }

  #emit<K extends 'onTokenRequest' | 'onTokenResponse'>(hook: K, event: Parameters<NonNullable<TokenClientHooks[K]>>[0]): void {
    const fn = this.#hooks[hook] as ((event: unknown) => void) | undefined;
    if (fn === undefined) return;
    try {
      fn(event);
    } catch {
      // a hook must not break token acquisition
    }
  }

  #emitError(event: TokenErrorEvent): void {
    if (this.#hooks.onError === undefined) return;
    try {
      this.#hooks.onError(event);
    } catch {
      // a hook must not break token acquisition
    }
  }
}

function contextOf(key: string): { scope: string; resources: string[] } {
  const [scope, resources] = JSON.parse(key) as [string, string[]];
  return { scope, resources };
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
