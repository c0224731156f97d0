/**
 * The issuer's signing keys for JWT mode: fetched with `fetch`, kept as long as the JWKS response's
 * `Cache-Control: max-age` says (bounded), refetched at once for an unknown `kid` (at most once per
 * cooldown), and reloadable on demand. Portable: Web Crypto (through jose) and fetch only.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { VerifierUnavailableError } from './errors.ts';
import type { ResolvedJwks } from './options.ts';

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

export interface KeySourceOptions {
  jwks: ResolvedJwks;
  /** Resolves the JWKS URL (configured or discovered). */
  uri: () => Promise<string>;
  fetch: typeof fetch;
  now: () => number;
  /** Called after a fetch that removed keys (kids no longer published). */
  onKeysRemoved?: (kids: string[]) => void;
}

/** Reads `max-age` (minus `Age`) from a response; `no-store`/`no-cache` count as 0; undefined when absent. */
export function maxAgeMs(cacheControl: string | null, age: string | null): number | undefined {
  if (cacheControl === null) return undefined;
  const directives = cacheControl.toLowerCase().split(',').map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  const maxAge = directives.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)).find((m) => m !== null);
  if (!maxAge) return undefined;
  const already = age !== null && /^\d+$/.test(age.trim()) ? Number(age.trim()) : 0;
  return Math.max(0, Number(maxAge[1]) - already) * 1000;
}

export class KeySource {
  readonly #options: KeySourceOptions;
  #keys: LocalKeySet | undefined;
  #kids = new Set<string>();
  /** Epoch ms after which the keys are refetched before use. */
  #freshUntil = 0;
  /** Epoch ms of the last refetch caused by an unknown kid. */
  #lastMissFetch = -Infinity;
  /** Epoch ms before which no fetch is attempted after a failure. */
  #retryAt = 0;
  #lastFailure: unknown;
  #pending: Promise<void> | undefined;
  /** JWKS fetches made (for tests and metrics). */
  fetches = 0;

  /** Until when the current keys are fresh (epoch ms); 0 before the first fetch. */
  get freshUntil(): number {
    return this.#freshUntil;
  }

  constructor(options: KeySourceOptions) {
    this.#options = options;
  }

  /** A jose key resolver over the current keys. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const now = this.#options.now();
    if (!this.#keys || now >= this.#freshUntil) await this.#refresh(this.#keys !== undefined);
    try {
      return await this.#keys!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (this.#pending) {
        // A fetch is under way (another request's unknown kid, or a refresh): its keys may match.
        await this.#refresh(true);
        return await this.#keys!(header, token);
      }
      if (this.#options.now() - this.#lastMissFetch < this.#options.jwks.cooldownMs) throw error;
      this.#lastMissFetch = this.#options.now();
      await this.#refresh(true);
      return await this.#keys!(header, token);
    }
  };

  /** Drops the keys and fetches them again now. Rejects with VerifierUnavailableError when that fails. */
  async reload(): Promise<void> {
    this.#freshUntil = 0;
    this.#retryAt = 0;
    this.#pending = undefined;
    await this.#refresh(false);
  }

  /**
   * Fetches the JWKS, sharing a fetch already under way. With `staleOk`, a failure keeps the
   * current keys (until `maxCacheMs` past their expiry) instead of failing.
   */
  async #refresh(staleOk: boolean): Promise<void> {
    const now = this.#options.now();
    if (now < this.#retryAt) {
      if (staleOk && this.#usableStale(now)) return;
      throw this.#unavailable(this.#lastFailure, now);
    }
    if (!this.#pending) {
      const pending: Promise<void> = this.#fetch().finally(() => {
        if (this.#pending === pending) this.#pending = undefined;
      });
      this.#pending = pending;
    }
    try {
      await this.#pending;
    } catch (error) {
      if (staleOk && this.#usableStale(this.#options.now())) return;
      throw error;
    }
  }

  #usableStale(now: number): boolean {
    return this.#keys !== undefined && now < this.#freshUntil + this.#options.jwks.maxCacheMs;
  }

  #unavailable(cause: unknown, now: number): VerifierUnavailableError {
    return new VerifierUnavailableError('JWKS could not be fetched', { cause, retryAfterSeconds: (this.#retryAt - now) / 1000 });
  }

  async #fetch(): Promise<void> {
    const { jwks, fetch: fetchImpl, now } = this.#options;
    let document: unknown;
    let lifetime: number | undefined;
    try {
      const uri = await this.#options.uri();
      this.fetches++;
      const response = await fetchImpl(uri, {
        headers: { accept: 'application/jwk-set+json, application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(jwks.timeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new Error(`JWKS endpoint answered ${response.status}`);
      }
      document = await response.json();
      lifetime = maxAgeMs(response.headers.get('cache-control'), response.headers.get('age'));
      if (!isKeySet(document)) throw new Error('JWKS response is not a JWK Set');
    } catch (error) {
      this.#lastFailure = error;
      this.#retryAt = now() + Math.max(1_000, jwks.cooldownMs);
      if (error instanceof VerifierUnavailableError) throw error;
      throw this.#unavailable(error, now());
    }
    const keys = createLocalJWKSet(document);
    const kids = new Set(document.keys.map((k) => (typeof k.kid === 'string' ? k.kid : '')));
    const removed = [...this.#kids].filter((kid) => !kids.has(kid));
    this.#keys = keys;
    this.#kids = kids;
    this.#retryAt = 0;
    this.#freshUntil = now() + Math.min(jwks.maxCacheMs, Math.max(jwks.minCacheMs, lifetime ?? jwks.cacheMaxAgeMs));
    if (removed.length > 0) this.#options.onKeysRemoved?.(removed);
  }
}

function isKeySet(value: unknown): value is JSONWebKeySet {
  return typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys)
    && (value as { keys: unknown[] }).keys.every((k) => typeof k === 'object' && k !== null && !Array.isArray(k));
}
