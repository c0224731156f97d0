/**
 * Compact JWS signing and verification on node:crypto with cached KeyObjects — the measured hot
 * path of the token endpoint (see docs/architecture.md for why this is not jose here). Only the
 * algorithms below exist; anything else, `none` included, is refused before any key is touched.
 */
import { createHmac, createPublicKey, constants, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import type { Jwk } from '../ports/index.ts';

/** `Ed25519` is the fully-specified name (RFC 9864) for EdDSA with an Ed25519 key; both are accepted. */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'Ed25519'] as const;
export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
export type AsymmetricAlg = (typeof ASYMMETRIC_ALGS)[number];
export type HmacAlg = (typeof HMAC_ALGS)[number];
export type JwsAlg = AsymmetricAlg | HmacAlg;

export function isAsymmetricAlg(alg: unknown): alg is AsymmetricAlg {
  return typeof alg === 'string' && (ASYMMETRIC_ALGS as readonly string[]).includes(alg);
}
export function isHmacAlg(alg: unknown): alg is HmacAlg {
  return typeof alg === 'string' && (HMAC_ALGS as readonly string[]).includes(alg);
}

const HASH: Record<JwsAlg, string | null> = {
  RS256: 'sha256', RS384: 'sha384', RS512: 'sha512',
  PS256: 'sha256', PS384: 'sha384', PS512: 'sha512',
  ES256: 'sha256', ES384: 'sha384',
  EdDSA: null,
  Ed25519: null,
  HS256: 'sha256', HS384: 'sha384', HS512: 'sha512',
};
const PSS_SALT: Partial<Record<JwsAlg, number>> = { PS256: 32, PS384: 48, PS512: 64 };
const EC_SIG_LEN: Partial<Record<JwsAlg, number>> = { ES256: 64, ES384: 96 };
const HMAC_MIN_KEY: Record<HmacAlg, number> = { HS256: 32, HS384: 48, HS512: 64 };

/** Minimum HMAC key length in bytes for an alg (RFC 7518 §3.2: at least the hash output size). */
export function hmacMinKeyBytes(alg: HmacAlg): number {
  return HMAC_MIN_KEY[alg];
}

function keyOptions(alg: AsymmetricAlg, key: KeyObject) {
  if (alg.startsWith('PS')) {
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT[alg]! };
  }
  if (alg.startsWith('ES')) return { key, dsaEncoding: 'ieee-p1363' as const };
  return key;
}

/** Whether a key object can be used with an alg (type, curve and size). */
export function keyFitsAlg(key: KeyObject, alg: JwsAlg): boolean {
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails;
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    return (t === 'rsa' || (t === 'rsa-pss' && alg.startsWith('PS'))) && (d?.modulusLength ?? 0) >= 2048;
  }
  if (alg === 'ES256') return t === 'ec' && d?.namedCurve === 'prime256v1';
  if (alg === 'ES384') return t === 'ec' && d?.namedCurve === 'secp384r1';
  if (alg === 'EdDSA' || alg === 'Ed25519') return t === 'ed25519';
  return false;
}

/** Whether a JWK (before import) could serve an alg: kty/crv match and no contrary alg/use/key_ops. */
export function jwkFitsAlg(jwk: Jwk, alg: JwsAlg): boolean {
  const ed = alg === 'EdDSA' || alg === 'Ed25519';
  if (jwk.alg !== undefined && jwk.alg !== alg && !(ed && (jwk.alg === 'EdDSA' || jwk.alg === 'Ed25519'))) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return false;
  if (alg.startsWith('RS') || alg.startsWith('PS')) return jwk.kty === 'RSA';
  if (alg === 'ES256') return jwk.kty === 'EC' && jwk.crv === 'P-256';
  if (alg === 'ES384') return jwk.kty === 'EC' && jwk.crv === 'P-384';
  if (ed) return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
  return false;
}

/** Imports the public part of a JWK; throws on private members or malformed keys. */
export function importPublicJwk(jwk: Jwk): KeyObject {
  if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw new TypeError('a registered key must be public');
  const members: Record<string, unknown> = { kty: jwk.kty };
  for (const m of ['crv', 'x', 'y', 'n', 'e'] as const) if (jwk[m] !== undefined) members[m] = jwk[m];
  return createPublicKey({ key: members as never, format: 'jwk' });
}

export function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * Signs `signingInput` (the "header.payload" string) and resolves the base64url signature. The
 * work runs on libuv's thread pool (node:crypto's callback form), so the event loop keeps serving
 * HTTP while another core signs — measured in docs/performance.md.
 */
export function signAsymmetric(alg: AsymmetricAlg, key: KeyObject, signingInput: string): Promise<string> {
  return new Promise((resolve, reject) => {
    sign(HASH[alg], Buffer.from(signingInput, 'utf8'), keyOptions(alg, key) as never, (err, sig) => (err ? reject(err) : resolve(sig.toString('base64url'))));
  });
}

/** Verifies a signature on the thread pool; resolves false for any failure. */
export function verifyAsymmetric(alg: AsymmetricAlg, key: KeyObject, signingInput: string, signature: Buffer): Promise<boolean> {
  const ecLen = EC_SIG_LEN[alg];
  if (ecLen !== undefined && signature.length !== ecLen) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(HASH[alg], Buffer.from(signingInput, 'utf8'), keyOptions(alg, key) as never, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

export function verifyHmac(alg: HmacAlg, secret: Buffer, signingInput: string, signature: Buffer): boolean {
  const expected = createHmac(HASH[alg]!, secret).update(signingInput, 'utf8').digest();
  return expected.length === signature.length && timingSafeEqual(expected, signature);
}

/** A compact JWS split into its parts; header and payload parsed as JSON objects. */
export interface DecodedJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Decodes a compact JWS without verifying it. Returns a reason string instead of throwing when the
 * input is not a well-formed compact JWS with JSON-object header and payload.
 */
export function decodeCompactJws(token: string): DecodedJws | string {
  const parts = token.split('.');
  if (parts.length === 5) return 'encrypted (JWE) tokens are not accepted';
  if (parts.length !== 3) return 'not a compact JWS (three base64url parts)';
  const [h, p, s] = parts as [string, string, string];
  if (!h || !p || !s || !B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) return 'malformed base64url in JWS';
  const header = parseJsonObject(h);
  if (!header) return 'JWS header is not a JSON object';
  const payload = parseJsonObject(p);
  if (!payload) return 'JWS payload is not a JSON object';
  return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

function parseJsonObject(b64: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
