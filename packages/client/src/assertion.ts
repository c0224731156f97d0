/**
 * JWT client assertions (RFC 7523 §2.2, used by `client_secret_jwt` and `private_key_jwt`).
 */
import { createPrivateKey, createSecretKey, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';

/** Lifetime of every assertion. */
export const ASSERTION_LIFETIME_SECONDS = 60;

export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export type HmacAlg = (typeof HMAC_ALGS)[number];

/** A prepared signing key: resolved once, used for every assertion. */
export interface AssertionSigner {
  key: KeyObject;
  alg: string;
  kid: string | undefined;
}

export interface AssertionClaims {
  clientId: string;
  audience: string;
  /** `typ` header value. */
  typ: string;
  /** Current time in milliseconds. */
  now: number;
}

/** Signer for `client_secret_jwt`: the secret's UTF-8 bytes as an HMAC key. */
export function secretSigner(clientSecret: string, alg: HmacAlg = 'HS256'): AssertionSigner {
  if (!HMAC_ALGS.includes(alg)) throw new TypeError(`client_secret_jwt alg must be one of ${HMAC_ALGS.join(', ')}`);
  if (typeof clientSecret !== 'string' || clientSecret === '') throw new TypeError('clientSecret must be a non-empty string');
  return { key: createSecretKey(Buffer.from(clientSecret, 'utf8')), alg, kid: undefined };
}

/**
 * Signer for `private_key_jwt`. Accepts a private JWK, a PEM string or a private `KeyObject`; the
 * algorithm defaults to the JWK's `alg`, else follows the key type (RS256, PS256, ES256/384/512, EdDSA).
 */
export function privateKeySigner(privateKey: JWK | string | KeyObject, options: { kid?: string; alg?: string } = {}): AssertionSigner {
  const key = toPrivateKey(privateKey);
  const jwk = isJwk(privateKey) ? privateKey : undefined;
  const alg = options.alg ?? jwk?.alg ?? defaultAlg(key);
  if (alg === 'none' || alg.startsWith('HS')) throw new TypeError(`private_key_jwt cannot use alg ${alg}`);
  return { key, alg, kid: options.kid ?? jwk?.kid };
}

/** Signs a fresh assertion: iss = sub = client id, the given aud, iat, exp = iat + 60 s and a random jti. */
export async function createClientAssertion(signer: AssertionSigner, claims: AssertionClaims): Promise<string> {
  const iat = Math.floor(claims.now / 1000);
  const header = signer.kid === undefined ? { alg: signer.alg, typ: claims.typ } : { alg: signer.alg, typ: claims.typ, kid: signer.kid };
  return new SignJWT({})
    .setProtectedHeader(header)
    .setIssuer(claims.clientId)
    .setSubject(claims.clientId)
    .setAudience(claims.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(signer.key);
}

function isJwk(value: unknown): value is JWK {
  return typeof value === 'object' && value !== null && 'kty' in value;
}

function toPrivateKey(input: JWK | string | KeyObject): KeyObject {
  let key: KeyObject;
  try {
    if (typeof input === 'string') key = createPrivateKey(input);
    else if (isJwk(input)) key = createPrivateKey({ key: input as JsonWebKey, format: 'jwk' });
    else key = input;
  } catch (cause) {
    throw new TypeError('privateKey is not a usable private key', { cause });
  }
  if (typeof key !== 'object' || key === null || (key as KeyObject).type !== 'private') {
    throw new TypeError('privateKey must be a private JWK, a PEM private key or a private KeyObject');
  }
  return key;
}

function defaultAlg(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return 'ES256';
      if (curve === 'secp384r1') return 'ES384';
      if (curve === 'secp521r1') return 'ES512';
      throw new TypeError(`unsupported EC curve ${String(curve)}`);
    }
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new TypeError(`unsupported key type ${String(key.asymmetricKeyType)}; pass alg explicitly`);
  }
}
