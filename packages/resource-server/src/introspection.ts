/**
 * Introspection mode (RFC 7662): the issuer decides whether a token is active; results are cached
 * by the token's SHA-256, never beyond the token's `exp`. Portable: Web Crypto and fetch only.
 */
import type { IntrospectionResponse } from '../../server/src/shared/oauth.ts';
import { audienceList, numericClaim, scopeClaim, stringClaim, TokenRejected, type VerifiedAccessToken } from './claims.ts';
import { endpointFrom, fetchMetadata, lazy } from './discovery.ts';
import { VerifierUnavailableError } from './errors.ts';
import type { ResolvedIssuer, ResolvedOptions } from './options.ts';

type Outcome = { ok: true; token: VerifiedAccessToken } | { ok: false; reason: string };

interface CacheEntry {
  outcome: Outcome;
  /** Epoch ms after which the entry must not be used. */
  until: number;
}

/**
 * Builds the introspection-mode check. It throws `TokenRejected` for inactive or unacceptable
 * tokens and `VerifierUnavailableError` when the endpoint gives no usable answer (not cached).
 */
export function createIntrospectionCheck(options: ResolvedOptions): { check: (token: string) => Promise<VerifiedAccessToken>; clear: () => void } {
  const issuer = options.issuers[0]!;
  const settings = issuer.introspection!;
  const endpoint = lazy(async () =>
    settings.endpoint ?? endpointFrom(await fetchMetadata(issuer.issuer, options.fetch, options.timeoutMs), 'introspection_endpoint'),
  );
  const authorization = basicAuthorization(settings.clientId, settings.clientSecret);
  const cache = new Map<string, CacheEntry>();
  const inflight = new Map<string, Promise<Outcome>>();

  async function introspect(token: string): Promise<Outcome> {
    const url = await endpoint();
    let response: Response;
    let body: unknown;
    try {
      response = await options.fetch(url, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new VerifierUnavailableError(`introspection endpoint answered ${response.status}`);
      }
      body = await response.json();
    } catch (error) {
      if (error instanceof VerifierUnavailableError) throw error;
      throw new VerifierUnavailableError('introspection request failed', { cause: error });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new VerifierUnavailableError('introspection response is not a JSON object');
    }
    return evaluate(body as IntrospectionResponse & Record<string, unknown>, issuer, options);
  }

  function remember(key: string, outcome: Outcome): void {
    const now = options.now();
    const until = outcome.ok
      ? Math.min(outcome.token.expiresAt, now + settings.cacheMaxSeconds * 1000)
      : now + settings.inactiveCacheSeconds * 1000;
    if (until <= now) return;
    if (cache.size >= settings.maxEntries) evict(cache, now, settings.maxEntries);
    cache.set(key, { outcome, until });
  }

  const check = async (token: string): Promise<VerifiedAccessToken> => {
    const key = await sha256(token);
    const cached = cache.get(key);
    let outcome: Outcome;
    if (cached && options.now() < cached.until) {
      outcome = cached.outcome;
    } else {
      if (cached) cache.delete(key);
      let pending = inflight.get(key);
      if (!pending) {
        pending = introspect(token)
          .then((result) => {
            remember(key, result);
            return result;
          })
          .finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      outcome = await pending;
    }
    if (!outcome.ok) throw new TokenRejected(outcome.reason);
    return outcome.token;
  };
  return { check, clear: () => cache.clear() };
}

/** base64url of the SHA-256 of a string, with Web Crypto. */
async function sha256(value: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value)));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Applies the JWT-mode checks to an introspection response. */
function evaluate(response: IntrospectionResponse & Record<string, unknown>, settings: ResolvedIssuer, options: ResolvedOptions): Outcome {
  if (response.active !== true) return { ok: false, reason: 'token is not active' };
  try {
    const nowSeconds = options.now() / 1000;
    const issuer = response.iss ?? settings.issuer;
    if (issuer !== settings.issuer) throw new TokenRejected('iss mismatch');
    const audience = audienceList(response.aud);
    if (!audience.some((aud) => settings.audiences.includes(aud))) throw new TokenRejected('aud does not contain this API');
    const exp = numericClaim(response, 'exp');
    if (exp <= nowSeconds - options.clockSkewSeconds) throw new TokenRejected('token expired');
    if (typeof response.nbf === 'number' && response.nbf > nowSeconds + options.clockSkewSeconds) throw new TokenRejected('nbf is in the future');
    const clientId = stringClaim(response, 'client_id');
    return {
      ok: true,
      token: {
        clientId,
        subject: typeof response.sub === 'string' && response.sub !== '' ? response.sub : clientId,
        scopes: scopeClaim(response.scope),
        audience,
        issuer,
        expiresAt: exp * 1000,
        jti: typeof response.jti === 'string' ? response.jti : undefined,
        claims: Object.freeze({ ...response }),
      },
    };
  } catch (error) {
    if (error instanceof TokenRejected) return { ok: false, reason: error.message };
    throw error;
  }
}

/** Drops expired entries; if still full, the oldest ones. */
function evict(cache: Map<string, CacheEntry>, now: number, maxEntries: number): void {
  for (const [key, entry] of cache) if (entry.until <= now) cache.delete(key);
  for (const key of cache.keys()) {
    if (cache.size < maxEntries) break;
    cache.delete(key);
  }
}

/** client_secret_basic with RFC 6749 §2.3.1 form-encoding of id and secret. */
function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);
  // Form encoding leaves only ASCII, which btoa takes as is.
  return `Basic ${btoa(`${encode(clientId)}:${encode(clientSecret)}`)}`;
}
