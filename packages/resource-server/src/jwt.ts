/**
 * JWT mode: local verification of RFC 9068 access tokens against the issuer's JWKS.
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { audienceList, numericClaim, scopeClaim, stringClaim, TokenRejected, type VerifiedAccessToken } from './claims.ts';
import { endpointFrom, fetchMetadata, lazy } from './discovery.ts';
import { VerifierUnavailableError } from './errors.ts';
import type { ResolvedOptions } from './options.ts';

/** `typ` of RFC 9068 §2.1; jose treats `at+jwt` and `application/at+jwt` alike. */
const ACCESS_TOKEN_TYP = 'at+jwt';
const REQUIRED_CLAIMS = ['sub', 'client_id', 'jti', 'iat', 'exp'];

/** Marks a failure to obtain keys, as opposed to a token that matches no key. */
class KeySourceFailed extends Error {}

/**
 * Builds the JWT-mode check. It throws `TokenRejected` for unacceptable tokens and
 * `VerifierUnavailableError` when keys cannot be obtained.
 */
export function createJwtCheck(options: ResolvedOptions): (token: string) => Promise<VerifiedAccessToken> {
  const keySet = lazy(async () => {
    const uri = options.jwks.uri ?? endpointFrom(await fetchMetadata(options.issuer, options.fetch, options.timeoutMs), 'jwks_uri');
    return createRemoteJWKSet(new URL(uri), {
      timeoutDuration: options.jwks.timeoutMs,
      cooldownDuration: options.jwks.cooldownMs,
      cacheMaxAge: options.jwks.cacheMaxAgeMs,
      [customFetch]: options.fetch,
    });
  });

  return async (token) => {
    const jwks = await keySet();
    const getKey: JWTVerifyGetKey = async (header, input) => {
      try {
        return await jwks(header, input);
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
        throw new KeySourceFailed('JWKS unavailable', { cause: error });
      }
    };
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: options.algorithms,
        typ: ACCESS_TOKEN_TYP,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockSkewSeconds,
        requiredClaims: REQUIRED_CLAIMS,
        currentDate: new Date(options.now()),
      }));
    } catch (error) {
      if (error instanceof KeySourceFailed) throw new VerifierUnavailableError('JWKS could not be fetched', { cause: error.cause });
      if (error instanceof errors.JOSEError) throw new TokenRejected(`${error.code}: ${error.message}`);
      throw new TokenRejected(`unverifiable token: ${error instanceof Error ? error.message : String(error)}`);
    }
    return toVerified(payload, options);
  };
}

function toVerified(claims: Record<string, unknown>, options: ResolvedOptions): VerifiedAccessToken {
  const iat = numericClaim(claims, 'iat');
  if (iat > options.now() / 1000 + options.clockSkewSeconds) throw new TokenRejected('iat is in the future');
  return {
    clientId: stringClaim(claims, 'client_id'),
    subject: stringClaim(claims, 'sub'),
    scopes: scopeClaim(claims.scope),
    audience: audienceList(claims.aud),
    issuer: stringClaim(claims, 'iss'),
    expiresAt: numericClaim(claims, 'exp') * 1000,
    jti: stringClaim(claims, 'jti'),
    claims: Object.freeze({ ...claims }),
  };
}
