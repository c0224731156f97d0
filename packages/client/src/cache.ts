/**
 * Token cache types: what callers get (`AccessToken`), what a cache stores (`CachedToken`) and the
 * pluggable store interface (`TokenCacheStore`) for caches shared between processes.
 */

/** An access token as handed to callers. */
export interface AccessToken {
  accessToken: string;
  /** Token type as sent by the server, e.g. `Bearer`. */
  tokenType: string;
  /** Expiry as epoch milliseconds. */
  expiresAt: number;
  /** Granted scope (space-delimited); the requested scope when the server omitted it. */
  scope: string;
}

/** A cached token with its schedule (epoch milliseconds). */
export interface CachedToken {
  token: AccessToken;
  /** From this instant a renewal is started in the background; the token is still served. */
  renewAt: number;
  /** Until this instant the token is served (its expiry less a small skew allowance). */
  usableUntil: number;
}

/**
 * A token cache shared beyond one `TokenClient`, e.g. by the replicas of a service (see
 * `RedisTokenCache`). Each client always keeps its own in-memory copy too, so the store is read
 * only when that copy is missing or due for renewal, and written with every new token.
 * Keys name the issuer, client id, scope and resources; values hold bearer tokens, so the store
 * must be as private as the tokens' use. Failures of the store are reported to `onError` and
 * otherwise ignored (the client then behaves as if the store were empty).
 */
export interface TokenCacheStore {
  get(key: string): Promise<CachedToken | undefined> | CachedToken | undefined;
  /** Stores `entry`; it may be dropped once `entry.token.expiresAt` has passed. */
  set(key: string, entry: CachedToken): Promise<void> | void;
  /** Drops the entry of `key` when it holds `accessToken` (any entry when omitted). */
  delete(key: string, accessToken?: string): Promise<void> | void;
}

/** Share of a token's lifetime that must remain for it to be served without a renewal starting. */
export const MIN_REMAINING_LIFE_RATIO = 0.1;

/**
 * When to start renewing a token received at `receivedAt`: `marginMs` before expiry (capped at
 * half the lifetime, so short-lived tokens are still reused), but never later than when 10% of
 * its lifetime remains.
 */
export function renewalTime(receivedAt: number, expiresAt: number, marginMs: number): number {
  const life = Math.max(0, expiresAt - receivedAt);
  const lead = Math.max(Math.min(marginMs, life / 2), life * MIN_REMAINING_LIFE_RATIO);
  return expiresAt - lead;
}

/** Until when a token is served: its expiry less `skewMs`, but at most 10% of its lifetime earlier. */
export function usableUntil(receivedAt: number, expiresAt: number, skewMs: number): number {
  const life = Math.max(0, expiresAt - receivedAt);
  return expiresAt - Math.min(skewMs, life * MIN_REMAINING_LIFE_RATIO);
}

/** A plain in-memory `TokenCacheStore`, e.g. to share tokens between several clients of one process. */
export class MemoryTokenCache implements TokenCacheStore {
  readonly #entries = new Map<string, CachedToken>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  get(key: string): CachedToken | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.token.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: CachedToken): void {
    this.#entries.set(key, entry);
  }

  delete(key: string, accessToken?: string): void {
    const entry = this.#entries.get(key);
    if (entry && (accessToken === undefined || entry.token.accessToken === accessToken)) this.#entries.delete(key);
  }
}
