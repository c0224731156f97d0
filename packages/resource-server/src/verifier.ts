/**
 * The framework-free verifier: `createVerifier` once per API, `verify` per request. Portable: it
 * uses Web Crypto (through jose) and `fetch` only, so it runs on Node, Deno, Bun, Workers and in browsers.
 */
import { missingScopes, TokenRejected, type VerifiedAccessToken } from './claims.ts';
import { BearerError, VerifierUnavailableError } from './errors.ts';
import { extractBearerToken } from './extract.ts';
import { createIntrospectionCheck } from './introspection.ts';
import { createJwtCheck } from './jwt.ts';
import { resolveOptions, scopeList, type ResolvedOptions, type VerifierOptions, type VerifyFailureEvent } from './options.ts';
import { Telemetry } from './telemetry.ts';

export interface VerifyCallOptions {
  /** Scopes this call requires, all of them, on top of the verifier's `scopes`. */
  scopes?: readonly string[];
  /** Scopes of which this call requires at least one. */
  anyScopes?: readonly string[];
}

export interface AuthenticateOptions extends VerifyCallOptions {
  /** A request without a token passes (`authenticate` resolves to undefined); a bad token is still refused. */
  optional?: boolean;
}

/** What a request carried, for `authenticate`. */
export interface BearerRequest {
  /** The Authorization header value(s). */
  authorization: string | readonly string[] | null | undefined;
  /** True when the request also carries a token elsewhere (query or form body). */
  tokenElsewhere?: boolean;
}

export interface Verifier {
  /** The realm used in challenges. */
  readonly realm: string;
  /**
   * Verifies a bare token string. Throws `BearerError` (401 invalid_token, 403 insufficient_scope)
   * or `VerifierUnavailableError` (503).
   */
  verify(token: string, options?: VerifyCallOptions): Promise<VerifiedAccessToken>;
  /**
   * Extracts the token from the Authorization header, then verifies it. Additionally throws 401
   * without error code when no token is present (unless `optional`) and 400 invalid_request when
   * the header is malformed or a token also came another way.
   */
  authenticate(request: BearerRequest, options: AuthenticateOptions & { optional: true }): Promise<VerifiedAccessToken | undefined>;
  authenticate(request: BearerRequest, options?: AuthenticateOptions): Promise<VerifiedAccessToken>;
  /** Checks the scopes of an already verified token: throws (and reports) 403 insufficient_scope. */
  authorize(token: VerifiedAccessToken, options: VerifyCallOptions): void;
  /** Reports a refusal decided outside the verifier (logger and hooks), then returns it. */
  refuse<E extends BearerError | VerifierUnavailableError>(error: E): E;
  /**
   * Refetches the keys of every issuer now, and forgets every verified or introspected token.
   * Rejects with VerifierUnavailableError when keys cannot be fetched (the caches are cleared anyway).
   */
  reload(): Promise<void>;
}

interface CachedToken {
  token: VerifiedAccessToken;
  /** Epoch ms after which the entry is not used. */
  until: number;
}

/** Builds a verifier; validates options eagerly (TypeError). Reuse it: it holds the key and token caches. */
export function createVerifier(options: VerifierOptions): Verifier {
  const resolved = resolveOptions(options);
  const { realm, logger } = resolved;
  const tokens = new Map<string, CachedToken>();
  const clearTokens = () => tokens.clear();
  let check: (token: string) => Promise<VerifiedAccessToken>;
  let reloadKeys: () => Promise<void>;
  let keysFreshUntil: (issuer: string) => number = () => Infinity;
  if (resolved.mode === 'jwt') {
    const jwt = createJwtCheck(resolved, clearTokens);
    check = jwt.check;
    reloadKeys = jwt.reload;
    keysFreshUntil = jwt.keysFreshUntil;
  } else {
    const introspection = createIntrospectionCheck(resolved);
    check = introspection.check;
    reloadKeys = async () => introspection.clear();
  }
  const telemetry = new Telemetry(resolved.telemetry);

  function refuse<E extends BearerError | VerifierUnavailableError>(error: E): E {
    const event: VerifyFailureEvent = error instanceof BearerError
      ? { status: error.status, error: error.error, reason: error.reason }
      : { status: 503, error: undefined, reason: error.message };
    if (error instanceof BearerError && error.clientId !== undefined) event.clientId = error.clientId;
    logger?.warn(`bearer token rejected (${event.status}): ${event.reason}`);
    if (resolved.onVerifyFailure) {
      try {
        resolved.onVerifyFailure(event);
      } catch {
        // a hook must not change the answer
      }
    }
    return error;
  }

  function requiredScopes(call: VerifyCallOptions): { all: string[]; any: readonly string[] } {
    return { all: [...new Set([...resolved.scopes, ...scopeList('scopes', call.scopes)])], any: scopeList('anyScopes', call.anyScopes) };
  }

  function scopeFailure(token: VerifiedAccessToken, all: readonly string[], any: readonly string[]): BearerError | undefined {
    const missing = missingScopes(token.scopes, all);
    if (missing.length > 0) {
      return new BearerError(realm, 'insufficient_scope', `missing scope ${missing.join(' ')} (client ${token.clientId})`, [...all, ...any], token.clientId);
    }
    if (any.length > 0 && !any.some((scope) => token.scopes.includes(scope))) {
      return new BearerError(realm, 'insufficient_scope', `none of the scopes ${any.join(' ')} (client ${token.clientId})`, [...all, ...any], token.clientId);
    }
    return undefined;
  }

  function authorize(token: VerifiedAccessToken, call: VerifyCallOptions): void {
    const { all, any } = requiredScopes(call);
    const failure = scopeFailure(token, all, any);
    if (failure) throw refuse(failure);
  }

  function fromCache(token: string): VerifiedAccessToken | undefined {
    const entry = tokens.get(token);
    if (!entry) return undefined;
    if (resolved.now() < entry.until) return entry.token;
    tokens.delete(token);
    return undefined;
  }

  function remember(token: string, verified: VerifiedAccessToken, settings: NonNullable<ResolvedOptions['tokenCache']>): void {
    const now = resolved.now();
    // Never past exp, nor past the freshness of the keys that verified it (a revoked key's tokens
    // must stop when the keys are refetched).
    const until = Math.min(now + settings.ttlMs, verified.expiresAt, keysFreshUntil(verified.issuer));
    if (until <= now) return;
    if (tokens.size >= settings.maxEntries) {
      for (const [key, entry] of tokens) if (entry.until <= now) tokens.delete(key);
      for (const key of tokens.keys()) {
        if (tokens.size < settings.maxEntries) break;
        tokens.delete(key);
      }
    }
    tokens.set(token, { token: verified, until });
  }

  async function validate(verified: VerifiedAccessToken): Promise<void> {
    let verdict: boolean | string | void;
    try {
      verdict = await resolved.validateClaims!(verified);
    } catch (error) {
      throw new TokenRejected(`claims check threw: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (verdict === false) throw new TokenRejected('claims check refused the token');
    if (typeof verdict === 'string') throw new TokenRejected(`claims check: ${verdict}`);
  }

  async function verify(token: string, call: VerifyCallOptions = {}): Promise<VerifiedAccessToken> {
    const { all, any } = requiredScopes(call);
    if (!telemetry.settled) await telemetry.ready;
    const done = telemetry.start();
    let verified: VerifiedAccessToken | undefined;
    let cached = false;
    try {
      if (typeof token !== 'string' || token === '') throw new BearerError(realm, 'invalid_token', 'empty token');
      verified = resolved.tokenCache ? fromCache(token) : undefined;
      cached = verified !== undefined;
      if (!verified) {
        try {
          verified = await check(token);
          if (resolved.validateClaims) await validate(verified);
        } catch (error) {
          if (error instanceof TokenRejected) throw new BearerError(realm, 'invalid_token', error.message);
          throw error;
        }
        if (resolved.tokenCache) remember(token, verified, resolved.tokenCache);
      }
      const failure = scopeFailure(verified, all, any);
      if (failure) throw failure;
    } catch (error) {
      if (error instanceof BearerError || error instanceof VerifierUnavailableError) {
        refuse(error);
        done?.({ outcome: error instanceof BearerError ? (error.error ?? 'no_token') : 'unavailable', cached, ...(verified ? { issuer: verified.issuer } : {}) });
      }
      throw error;
    }
    done?.({ outcome: 'success', cached, issuer: verified.issuer });
    if (resolved.onVerifySuccess) {
      try {
        resolved.onVerifySuccess({ token: verified, cached });
      } catch {
        // a hook must not change the answer
      }
    }
    return verified;
  }

  async function authenticate(request: BearerRequest, call: AuthenticateOptions = {}): Promise<VerifiedAccessToken | undefined> {
    const extraction = extractBearerToken(request.authorization ?? undefined);
    if (extraction.kind === 'malformed') throw refuse(new BearerError(realm, 'invalid_request', extraction.reason));
    if (extraction.kind === 'missing') {
      if (request.tokenElsewhere) throw refuse(new BearerError(realm, 'invalid_request', 'token only outside the Authorization header'));
      if (call.optional) return undefined;
      throw refuse(new BearerError(realm, undefined, 'no bearer token'));
    }
    if (request.tokenElsewhere) throw refuse(new BearerError(realm, 'invalid_request', 'token sent by more than one method'));
    return verify(extraction.token, call);
  }

  async function reload(): Promise<void> {
    tokens.clear();
    await reloadKeys();
    tokens.clear();
  }

  return { realm, verify, authenticate: authenticate as Verifier['authenticate'], authorize, refuse, reload };
}

/** Verifiers of `verifyAccessToken`, by the value of their options; the most recently used last. */
const verifiers = new Map<string, Verifier>();
const MAX_VERIFIERS = 32;
const identities = new WeakMap<object, number>();
/** The key of an options object already seen (reused objects skip the serialization). */
const keys = new WeakMap<VerifierOptions, string>();
let nextIdentity = 0;

/**
 * A key equal for options of equal value: plain objects and arrays by their content, functions
 * (fetch, now, hooks) and other objects by identity.
 */
function optionsKey(options: VerifierOptions): string {
  return JSON.stringify(options, function (this: unknown, _key, value: unknown) {
    if (typeof value === 'function' || (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)) {
      let id = identities.get(value);
      if (id === undefined) identities.set(value, (id = ++nextIdentity));
      return `\u0000object#${id}`;
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return value;
  });
}

/**
 * One-shot verification. The verifier (and its caches) is remembered by the value of `options`
 * (functions in it by identity), so inline options are fine; `createVerifier` is the explicit way.
 */
export async function verifyAccessToken(token: string, options: VerifierOptions, call?: VerifyCallOptions): Promise<VerifiedAccessToken> {
  let key = keys.get(options);
  if (key === undefined) keys.set(options, (key = optionsKey(options)));
  let verifier = verifiers.get(key);
  if (verifier) {
    verifiers.delete(key);
  } else {
    verifier = createVerifier(options);
    if (verifiers.size >= MAX_VERIFIERS) verifiers.delete(verifiers.keys().next().value!);
  }
  verifiers.set(key, verifier);
  return verifier.verify(token, call);
}
