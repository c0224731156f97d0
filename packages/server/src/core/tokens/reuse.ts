/**
 * Opt-in token reuse: a client asking again for the same scope and audience while its last token
 * still has more than a configured fraction of its life left gets that token back (with the
 * remaining expires_in) instead of a new signature. A revoked token is never handed out again.
 * Per process and in memory only: tokens are never stored.
 */
import type { AccessTokenClaims } from '../../shared/oauth.ts';
import type { RevocationStore } from '../ports/index.ts';

interface Kept {
  token: string;
  jti: string;
  exp: number;
  iat: number;
  /** Reuse only until this instant (seconds): after it a fresh token is minted. */
  reuseUntil: number;
}

export class TokenReuseCache {
  readonly #entries = new Map<string, Kept>();
  readonly #maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = maxEntries;
  }

  static #key(realm: string, clientId: string, scope: string, audience: string | string[]): string {
    return JSON.stringify([realm, clientId, scope, audience]);
  }

  keep(realm: string, clientId: string, scope: string, audience: string | string[], token: string, claims: AccessTokenClaims, minRemainingFraction: number): void {
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    const life = claims.exp - claims.iat;
    this.#entries.set(TokenReuseCache.#key(realm, clientId, scope, audience), {
      token,
      jti: claims.jti,
      exp: claims.exp,
      iat: claims.iat,
      reuseUntil: claims.exp - Math.ceil(life * minRemainingFraction),
    });
  }

  async take(realm: string, clientId: string, scope: string, audience: string | string[], now: number, revocations: RevocationStore): Promise<Kept | undefined> {
    const key = TokenReuseCache.#key(realm, clientId, scope, audience);
    const kept = this.#entries.get(key);
    if (!kept) return undefined;
    if (now >= kept.reuseUntil || (await revocations.isRevoked(realm, kept.jti))) {
      this.#entries.delete(key);
      return undefined;
    }
    return kept;
  }

  /** Forgets every token of a realm (a runtime realm was deleted: its tokens must never be handed out again). */
  forgetRealm(realm: string): void {
    const prefix = `${JSON.stringify([realm]).slice(0, -1)},`;
    for (const k of this.#entries.keys()) if (k.startsWith(prefix)) this.#entries.delete(k);
  }

  /** Forgets a revoked token at once. */
  forgetJti(jti: string): void {
    for (const [k, v] of this.#entries) if (v.jti === jti) this.#entries.delete(k);
  }
}
