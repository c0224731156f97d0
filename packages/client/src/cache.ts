/**
 * In-memory token cache with single-flight: concurrent callers for the same key share one fetch.
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

interface Entry {
  token: AccessToken;
  /** From this instant (epoch ms) the token is renewed rather than served. */
  renewAt: number;
}

/** Share of a token's lifetime that must remain for it to be served from cache. */
export const MIN_REMAINING_LIFE_RATIO = 0.1;

/**
 * When to stop serving a token received at `receivedAt`: `marginMs` before expiry (capped at half
 * the lifetime, so short-lived tokens are still reused), but never later than when 10% of its
 * lifetime remains.
 */
export function renewalTime(receivedAt: number, expiresAt: number, marginMs: number): number {
  const life = Math.max(0, expiresAt - receivedAt);
  const lead = Math.max(Math.min(marginMs, life / 2), life * MIN_REMAINING_LIFE_RATIO);
  return expiresAt - lead;
}

export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<AccessToken>>();

  /** The cached token for `key` if it is still before its renewal time. */
  get(key: string, now: number): AccessToken | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now < entry.renewAt) return entry.token;
    this.#entries.delete(key);
    return undefined;
  }

  /**
   * Returns the cached token or runs `fetcher` once for all concurrent callers of `key`. The result
   * is cached until `renewAt` as computed by `schedule`.
   */
  async getOrFetch(
    key: string,
    now: () => number,
    fetcher: () => Promise<{ token: AccessToken; renewAt: number }>,
  ): Promise<AccessToken> {
    const cached = this.get(key, now());
    if (cached) return cached;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = fetcher()
        .then(({ token, renewAt }) => {
          Object.freeze(token);
          this.#entries.set(key, { token, renewAt });
          return token;
        })
        .finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  /** Drops the token cached under `key`; with `accessToken`, only if it is that token. */
  delete(key: string, accessToken?: string): void {
    const entry = this.#entries.get(key);
    if (entry && (accessToken === undefined || entry.token.accessToken === accessToken)) this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}
