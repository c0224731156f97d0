/**
 * JWT mode: local verification of access tokens against each issuer's JWKS, with the RFC 9068
 * profile checks unless relaxed for that issuer. Portable: jose (Web Crypto) and fetch only.
 */
import { decodeJwt, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { audienceList, numericClaim, scopeClaim, stringClaim, TokenRejected, type VerifiedAccessToken } from './claims.ts';
import { endpointFrom, fetchMetadata, lazy } from './discovery.ts';
import { VerifierUnavailableError } from './errors.ts';
import { KeySource } from './keys.ts';
import type { ResolvedIssuer, ResolvedOptions } from './options.ts';

/** `typ` of RFC 9068 §2.1; jose treats `at+jwt` and `application/at+jwt` alike. */
const ACCESS_TOKEN_TYP = 'at+jwt';
const RFC9068_CLAIMS = ['sub', 'client_id', 'jti', 'iat', 'exp'];
const RELAXED_CLAIMS = ['exp'];

/** Marks a failure to obtain keys, as opposed to a token that matches no key. */
class KeySourceFailed extends Error {}

export interface JwtCheck {
  check(token: string): Promise<VerifiedAccessToken>;
  /** Refetches every issuer's keys now. */
  reload(): Promise<void>;
  /** The key source of each issuer. */
  sources: Map<string, KeySource>;
  /** Until when the keys of the issuer are fresh; a cached verification must not outlive them. */
  keysFreshUntil(issuer: string): number;
}

/**
 * Builds the JWT-mode check. It throws `TokenRejected` for unacceptable tokens and
 * `VerifierUnavailableError` when keys cannot be obtained.
 */
export function createJwtCheck(options: ResolvedOptions, onKeysRemoved: () => void): JwtCheck {
  const sources = new Map<string, KeySource>();
  const byIssuer = new Map<string, { settings: ResolvedIssuer; getKey: JWTVerifyGetKey }>();
  for (const settings of options.issuers) {
    const uri = lazy(async () => settings.jwks.uri ?? endpointFrom(await fetchMetadata(settings.issuer, options.fetch, options.timeoutMs), 'jwks_uri'));
    const source = new KeySource({ jwks: settings.jwks, uri, fetch: options.fetch, now: options.now, onKeysRemoved });
    sources.set(settings.issuer, source);
    const getKey: JWTVerifyGetKey = async (header, input) => {
      try {
        return await source.getKey(header, input);
      } catch (error) {
        if (error instanceof errors.JOSEError) throw error;
        throw new KeySourceFailed('JWKS unavailable', { cause: error });
      }
    };
    byIssuer.set(settings.issuer, { settings, getKey });
  }
  const only = options.issuers.length === 1 ? byIssuer.get(options.issuers[0]!.issuer) : undefined;

  async function check(token: string): Promise<VerifiedAccessToken> {
    let entry = only;
    if (!entry) {
      let iss: unknown;
      try {
        iss = decodeJwt(token).iss;
      } catch {
        throw new TokenRejected('not a JWT');
      }
      entry = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
      if (!entry) throw new TokenRejected('iss is not an accepted issuer');
    }
    const { settings, getKey } = entry;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: settings.algorithms,
        ...(settings.rfc9068 ? { typ: ACCESS_TOKEN_TYP } : {}),
        issuer: settings.issuer,
        audience: settings.audiences,
        clockTolerance: options.clockSkewSeconds,
        requiredClaims: settings.rfc9068 ? RFC9068_CLAIMS : RELAXED_CLAIMS,
        currentDate: new Date(options.now()),
      }));
    } catch (error) {
      if (error instanceof KeySourceFailed) {
        const cause = error.cause;
        throw cause instanceof VerifierUnavailableError ? cause : new VerifierUnavailableError('JWKS could not be fetched', { cause });
      }
      if (error instanceof errors.JOSEError) throw new TokenRejected(`${error.code}: ${error.message}`);
      throw new TokenRejected(`unverifiable token: ${error instanceof Error ? error.message : String(error)}`);
    }
    return toVerified(payload, settings, options);
  }

  async function reload(): Promise<void> {
    await Promise.all([...sources.values()].map((source) => source.reload()));
  }

  const keysFreshUntil = (issuer: string) => sources.get(issuer)?.freshUntil ?? 0;
  return { check, reload, sources, keysFreshUntil };
}

function toVerified(claims: Record<string, unknown>, settings: ResolvedIssuer, options: ResolvedOptions): VerifiedAccessToken {
  if (claims.iat !== undefined || settings.rfc9068) {
    const iat = numericClaim(claims, 'iat');
    if (iat > options.now() / 1000 + options.clockSkewSeconds) throw new TokenRejected('iat is in the future');
  }
  const clientId = settings.rfc9068 ? stringClaim(claims, 'client_id') : firstString(claims, ['client_id', 'azp', 'sub']);
  return {
    clientId,
    subject: settings.rfc9068 ? stringClaim(claims, 'sub') : (optionalString(claims, 'sub') ?? clientId),
    scopes: scopeClaim(claims.scope),
    audience: audienceList(claims.aud),
    issuer: stringClaim(claims, 'iss'),
    expiresAt: numericClaim(claims, 'exp') * 1000,
    jti: settings.rfc9068 ? stringClaim(claims, 'jti') : optionalString(claims, 'jti'),
    claims: Object.freeze({ ...claims }),
  };
}

function optionalString(claims: Record<string, unknown>, name: string): string | undefined {
  if (claims[name] === undefined) return undefined;
  return stringClaim(claims, name);
}

function firstString(claims: Record<string, unknown>, names: string[]): string {
  for (const name of names) {
    const value = optionalString(claims, name);
    if (value !== undefined) return value;
  }
  throw new TokenRejected(`no client identifier (${names.join(', ')})`);
}
