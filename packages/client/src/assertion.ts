/**
 * JWT client assertions (RFC 7523 §2.2, used by `client_secret_jwt` and `private_key_jwt`).
 * Portable: Web Crypto through jose, no `node:` modules, no `Buffer`.
 */
import { importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK, type KeyObject } from 'jose';
import { pemToPkcs8, pkcs8KeyType } from './pem.ts';

/** Lifetime of every assertion. */
export const ASSERTION_LIFETIME_SECONDS = 60;

export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export type HmacAlg = (typeof HMAC_ALGS)[number];

/** Private key input of `private_key_jwt`: a private JWK, a PKCS#8/PKCS#1/SEC1 PEM, a Node `KeyObject` or a Web Crypto `CryptoKey`. */
export type PrivateKeyInput = JWK | string | KeyObject | CryptoKey;

/** A prepared signing key: validated once, imported on first use, used for every assertion. */
export interface AssertionSigner {
  alg: string;
  kid: string | undefined;
  /** The key in a form jose signs with; imported once, on first use. */
  key: () => Promise<CryptoKey | KeyObject | Uint8Array>;
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
  const bytes = new TextEncoder().encode(clientSecret);
  return { alg, kid: undefined, key: () => Promise.resolve(bytes) };
}

/**
 * Signer for `private_key_jwt`. The key is checked synchronously (a bad key throws TypeError at
 * construction); the algorithm defaults to the JWK's `alg`, else follows the key type (RS256,
 * PS256, ES256/384/512, EdDSA).
 */
export function privateKeySigner(privateKey: PrivateKeyInput, options: { kid?: string; alg?: string } = {}): AssertionSigner {
  const { keyType, load } = inspectPrivateKey(privateKey);
  const jwk = isJwk(privateKey) ? privateKey : undefined;
  const alg = options.alg ?? jwk?.alg ?? defaultAlg(keyType);
  if (typeof alg !== 'string' || alg === 'none' || alg.startsWith('HS')) throw new TypeError(`private_key_jwt cannot use alg ${String(alg)}`);
  let imported: Promise<CryptoKey | KeyObject> | undefined;
  const key = (): Promise<CryptoKey | KeyObject> => {
    imported ??= load(alg).catch((cause: unknown) => {
      imported = undefined;
      throw new TypeError(`privateKey cannot be used with ${alg}`, { cause });
    });
    return imported;
  };
  return { alg, kid: options.kid ?? jwk?.kid, key };
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
    .setJti(globalThis.crypto.randomUUID())
    .sign(await signer.key());
}

/** Key family as far as the default algorithm is concerned. */
type KeyType = 'rsa' | 'rsa-pss' | 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'unknown';

function isJwk(value: unknown): value is JWK {
  return typeof value === 'object' && value !== null && 'kty' in value;
}

function isCryptoKey(value: object): value is CryptoKey {
  return 'algorithm' in value && 'usages' in value && 'type' in value;
}

interface InspectedKey {
  keyType: KeyType;
  load: (alg: string) => Promise<CryptoKey | KeyObject>;
}

function inspectPrivateKey(input: unknown): InspectedKey {
  const unusable = (detail: string): TypeError => new TypeError(`privateKey is not a usable private key: ${detail}`);
  if (typeof input === 'string') {
    let pkcs8: string;
    let keyType: KeyType;
    try {
      const converted = pemToPkcs8(input);
      pkcs8 = converted.pem;
      keyType = pkcs8KeyType(converted.der);
    } catch (cause) {
      throw new TypeError('privateKey is not a usable private key: expected a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) PEM', { cause });
    }
    return { keyType, load: (alg) => importPKCS8(pkcs8, alg) };
  }
  if (isJwk(input)) {
    if (input.kty !== 'RSA' && input.kty !== 'EC' && input.kty !== 'OKP') throw unusable(`JWK kty ${String(input.kty)} is not RSA, EC or OKP`);
    if (typeof input.d !== 'string' || input.d === '') throw unusable('the JWK has no private part (d)');
    const keyType: KeyType =
      input.kty === 'RSA' ? 'rsa' : input.crv === 'P-256' || input.crv === 'P-384' || input.crv === 'P-521' || input.crv === 'Ed25519' ? input.crv : 'unknown';
    return { keyType, load: async (alg) => (await importJWK(input, alg)) as CryptoKey };
  }
  if (typeof input === 'object' && input !== null) {
    if (isCryptoKey(input)) {
      if (input.type !== 'private') throw unusable(`a ${String(input.type)} CryptoKey`);
      return { keyType: cryptoKeyType(input.algorithm as { name: string; namedCurve?: string }), load: () => Promise.resolve(input) };
    }
    const keyObject = input as KeyObject & { asymmetricKeyType?: string; asymmetricKeyDetails?: { namedCurve?: string } };
    if (keyObject.type !== 'private' || typeof keyObject.asymmetricKeyType !== 'string') throw unusable('expected a private KeyObject');
    return { keyType: keyObjectType(keyObject.asymmetricKeyType, keyObject.asymmetricKeyDetails?.namedCurve), load: () => Promise.resolve(keyObject) };
  }
  throw new TypeError('privateKey must be a private JWK, a PEM private key, a private KeyObject or a private CryptoKey');
}

function cryptoKeyType(algorithm: { name: string; namedCurve?: string }): KeyType {
  switch (algorithm.name) {
    case 'RSASSA-PKCS1-v1_5':
      return 'rsa';
    case 'RSA-PSS':
      return 'rsa-pss';
    case 'ECDSA':
      return algorithm.namedCurve === 'P-256' || algorithm.namedCurve === 'P-384' || algorithm.namedCurve === 'P-521' ? algorithm.namedCurve : 'unknown';
    case 'Ed25519':
      return 'Ed25519';
    default:
      return 'unknown';
  }
}

function keyObjectType(type: string, curve: string | undefined): KeyType {
  if (type === 'rsa' || type === 'rsa-pss') return type;
  if (type === 'ed25519') return 'Ed25519';
  if (type === 'ec') return curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : 'unknown';
  return 'unknown';
}

function defaultAlg(keyType: KeyType): string {
  switch (keyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'P-256':
      return 'ES256';
    case 'P-384':
      return 'ES384';
    case 'P-521':
      return 'ES512';
    case 'Ed25519':
      return 'EdDSA';
    default:
      throw new TypeError('unsupported private key type; pass alg explicitly');
  }
}
