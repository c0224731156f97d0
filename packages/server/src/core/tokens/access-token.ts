/**
 * RFC 9068 JWT access tokens: minted with the realm's active key on node:crypto, and checked
 * (for introspection and revocation) against the realm's published keys. Tokens are not stored.
 */
import { randomBytes } from 'node:crypto';
import type { AccessTokenClaims } from '../../shared/oauth.ts';
import { decodeCompactJws, signAsymmetric, verifyAsymmetric } from '../crypto/jws.ts';
import type { KeyManager } from '../keys/key-manager.ts';

export interface MintInput {
  issuer: string;
  clientId: string;
  audience: string | string[];
  scope: string;
  ttlSeconds: number;
  /** Seconds since the epoch. */
  now: number;
  extraClaims?: Record<string, unknown> | undefined;
}

export interface MintedToken {
  token: string;
  claims: AccessTokenClaims;
}

/**
 * 128-bit random jti values, cut from a pooled buffer: one randomBytes call per 256 tokens instead
 * of one per token (the per-call cost showed up in the token endpoint's profile).
 */
const JTI_BYTES = 16;
let jtiPool = Buffer.alloc(0);
let jtiOffset = 0;
function newJti(): string {
  if (jtiOffset + JTI_BYTES > jtiPool.length) {
    jtiPool = randomBytes(JTI_BYTES * 256);
    jtiOffset = 0;
  }
  const jti = jtiPool.toString('base64url', jtiOffset, jtiOffset + JTI_BYTES);
  jtiOffset += JTI_BYTES;
  return jti;
}

export async function mintAccessToken(keys: KeyManager, realm: string, input: MintInput): Promise<MintedToken> {
  const key = keys.signingKey(realm);
  // Extra claims go first so that no registered claim can be overridden by them.
  const claims: AccessTokenClaims = {
    ...input.extraClaims,
    iss: input.issuer,
    sub: input.clientId,
    client_id: input.clientId,
    aud: input.audience,
    scope: input.scope,
    iat: input.now,
    exp: input.now + input.ttlSeconds,
    jti: newJti(),
  };
  const signingInput = `${key.headerB64}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
  return { token: `${signingInput}.${await signAsymmetric(key.alg, key.key, signingInput)}`, claims };
}

/** Longest token we bother parsing; anything longer is not ours. */
const MAX_TOKEN_LENGTH = 8 * 1024;

/**
 * Verifies a token as this realm's: signature by a published key, typ at+jwt, iss, and the
 * required claims. Does not check expiry or revocation (callers decide what those mean).
 * Resolves undefined for anything that is not a valid token of this realm.
 */
export async function verifyOwnAccessToken(keys: KeyManager, realm: string, issuer: string, token: string): Promise<AccessTokenClaims | undefined> {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const jws = decodeCompactJws(token);
  if (typeof jws === 'string') return undefined;
  const { header, payload } = jws;
  if (header.typ !== 'at+jwt' || typeof header.kid !== 'string' || header.crit !== undefined) return undefined;
  const k = keys.verificationKey(realm, header.kid);
  if (!k || header.alg !== k.alg) return undefined;
  if (!(await verifyAsymmetric(k.alg, k.key, jws.signingInput, jws.signature))) return undefined;
  if (payload.iss !== issuer) return undefined;
  for (const c of ['sub', 'client_id', 'jti', 'scope'] as const) if (typeof payload[c] !== 'string') return undefined;
  if (!Number.isInteger(payload.exp) || !Number.isInteger(payload.iat)) return undefined;
  if (typeof payload.aud !== 'string' && !Array.isArray(payload.aud)) return undefined;
  return payload as AccessTokenClaims;
}
