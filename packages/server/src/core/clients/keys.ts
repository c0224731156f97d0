/**
 * A client's verification keys, imported once: KeyObject plus the identifiers an assertion header
 * may point at (kid, x5t, x5t#S256 — computed from x5c when the JWK carries a certificate).
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { Jwk } from '../ports/index.ts';
import { importPublicJwk, jwkFitsAlg, keyFitsAlg, type AsymmetricAlg } from '../crypto/jws.ts';

export interface ClientKey {
  jwk: Jwk;
  key: KeyObject;
  kid: string | undefined;
  x5t: string | undefined;
  x5tS256: string | undefined;
}

/** Imports every usable key of a JWK Set; unusable ones are skipped (a remote set may hold other kinds). */
export function importClientKeys(keys: readonly Jwk[]): ClientKey[] {
  const out: ClientKey[] = [];
  for (const jwk of keys) {
    if (!jwk || typeof jwk !== 'object' || typeof jwk.kty !== 'string') continue;
    let key: KeyObject;
    try {
      key = importPublicJwk(jwk);
    } catch {
      continue;
    }
    const cert = Array.isArray(jwk.x5c) && typeof jwk.x5c[0] === 'string' ? Buffer.from(jwk.x5c[0], 'base64') : undefined;
    out.push({
      jwk,
      key,
      kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
      x5t: typeof jwk.x5t === 'string' ? jwk.x5t : cert && createHash('sha1').update(cert).digest('base64url'),
      x5tS256: typeof jwk['x5t#S256'] === 'string' ? jwk['x5t#S256'] : cert && createHash('sha256').update(cert).digest('base64url'),
    });
  }
  return out;
}

export type KeySelection = { key: ClientKey } | { reason: 'no_match' | 'ambiguous' | 'duplicate_kid' };

/**
 * Picks the key an assertion header designates: by kid, else by x5t#S256 / x5t, else the single key
 * that fits the alg. Keys named by jku, x5u, jwk or x5c headers are never consulted (the caller
 * refuses such headers before this point).
 */
export function selectClientKey(keys: readonly ClientKey[], alg: AsymmetricAlg, header: Record<string, unknown>): KeySelection {
  const fitting = keys.filter((k) => jwkFitsAlg(k.jwk, alg) && keyFitsAlg(k.key, alg));
  let candidates: ClientKey[];
  if (typeof header.kid === 'string') candidates = fitting.filter((k) => k.kid === header.kid);
  else if (typeof header['x5t#S256'] === 'string') candidates = fitting.filter((k) => k.x5tS256 === header['x5t#S256']);
  else if (typeof header.x5t === 'string') candidates = fitting.filter((k) => k.x5t === header.x5t);
  else if (header.kid !== undefined || header.x5t !== undefined || header['x5t#S256'] !== undefined) return { reason: 'no_match' };
  else candidates = fitting;
  if (candidates.length === 1) return { key: candidates[0]! };
  if (candidates.length > 1 && typeof header.kid === 'string') return { reason: 'duplicate_kid' }; // several keys share the kid named
  return { reason: candidates.length === 0 ? 'no_match' : 'ambiguous' };
}
