/**
 * Fetches and caches clients' `jwks_uri` key sets (issue 13 items 3, 4, 8, 9):
 * - every fetch goes through safeGet(): https only, no private/loopback/metadata addresses unless
 *   allow-listed, checked on the address connected to; one deadline for the whole exchange, body
 *   included; refused or oversized responses closed at once;
 * - Cache-Control max-age clamped between a floor and a ceiling;
 * - one fetch in flight per URI;
 * - a stale set is served at once while one background refresh runs, for at most `maxStaleSeconds`
 *   past its expiry (then callers wait for a fresh set, and fail if none can be had);
 * - failures are remembered per URI with exponential backoff (from `failureBackoffSeconds` up to
 *   `maxFailureBackoffSeconds`): during the backoff, callers get the remembered failure (or the
 *   stale set) at once and no fetch is made — a key host that hangs or fails cannot turn
 *   unauthenticated requests into outbound fetches or make them wait for its timeout;
 * - a per-client cooldown on re-fetches triggered by an unknown kid;
 * - a set publishing private key material is refused whole, with the reason saying which key;
 * - bounded: at most `MAX_URIS` sets and cooldown entries (oldest evicted first).
 */
import type { JwksFetchPolicy } from '../config/index.ts';
import type { Clock, Jwk } from '../ports/index.ts';
import { importClientKeys, type ClientKey } from './keys.ts';
import { AddressPolicy } from './address-policy.ts';
import { FetchError, safeGet } from './safe-fetch.ts';

const MAX_URIS = 10_000;
/** JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

interface Entry {
  keys: ClientKey[];
  expiresAt: number;
  /** Keys of the set that could not be used, and why (for failure reasons). */
  skipped: Array<{ index: number; kid: unknown; kty: unknown; why: string }>;
  duplicateKids: string[];
}

interface Failure {
  error: FetchError;
  until: number;
  attempts: number;
}

export { FetchError } from './safe-fetch.ts';

export class RemoteJwksCache {
  readonly #policy: JwksFetchPolicy;
  readonly #clock: Clock;
  readonly #addresses: AddressPolicy;
  readonly #entries = new Map<string, Entry>();
  readonly #failures = new Map<string, Failure>();
  readonly #inFlight = new Map<string, Promise<ClientKey[]>>();
  readonly #lastForced = new Map<string, number>();
  /** Outbound fetches started (for tests and metrics). */
  fetches = 0;

  readonly #onFetch: ((ok: boolean, seconds: number) => void) | undefined;

  /** `onFetch` is told the outcome and duration of every fetch (metrics). */
  constructor(policy: JwksFetchPolicy, clock: Clock, onFetch?: (ok: boolean, seconds: number) => void) {
    this.#policy = policy;
    this.#clock = clock;
    this.#addresses = new AddressPolicy(policy.allow ?? []);
    this.#onFetch = onFetch;
  }

  /**
   * Cached keys, fetching when absent or too stale. A stale set within its staleness bound is
   * returned at once while a background refresh runs. Rejects with a FetchError otherwise.
   */
  async get(uri: string): Promise<ClientKey[]> {
    const now = this.#clock.now();
    const e = this.#entries.get(uri);
    if (e && e.expiresAt > now) return e.keys;
    const usableStale = e && now < e.expiresAt + this.#maxStaleMs();
    const failure = this.#failures.get(uri);
    if (failure && now < failure.until) {
      if (usableStale) return e.keys;
      throw failure.error;
    }
    if (usableStale) {
      this.#fetch(uri).catch(() => {}); // recorded in #failures
      return e.keys;
    }
    return this.#fetch(uri);
  }

  /**
   * Re-fetches because an assertion named a key the cached set lacks. Resolves undefined when the
   * cooldown for this client, or the URI's failure backoff, forbids it.
   */
  async refresh(uri: string, clientKey: string): Promise<ClientKey[] | undefined> {
    const now = this.#clock.now();
    const last = this.#lastForced.get(clientKey);
    if (last !== undefined && now - last < this.#policy.cooldownSeconds * 1000) return undefined;
    const failure = this.#failures.get(uri);
    if (failure && now < failure.until) return undefined;
    this.#lastForced.delete(clientKey);
    this.#lastForced.set(clientKey, now);
    if (this.#lastForced.size > MAX_URIS) this.#lastForced.delete(this.#lastForced.keys().next().value!);
    return this.#fetch(uri);
  }

  /** What is known about a URI's set, for failure reasons: kids, unusable keys, duplicate kids. */
  diagnostics(uri: string): Record<string, unknown> {
    const e = this.#entries.get(uri);
    if (!e) return {};
    const out: Record<string, unknown> = { kids: e.keys.map((k) => k.kid ?? null) };
    if (e.skipped.length) out.skipped = e.skipped;
    if (e.duplicateKids.length) out.duplicate_kids = e.duplicateKids;
    return out;
  }

  #maxStaleMs(): number {
    return (this.#policy.maxStaleSeconds ?? 3600) * 1000;
  }

  #fetch(uri: string): Promise<ClientKey[]> {
    let p = this.#inFlight.get(uri);
    if (!p) {
      this.fetches++;
      const onFetch = this.#onFetch;
      const started = onFetch ? performance.now() : 0;
      p = this.#load(uri)
        .then(
          (keys) => {
            this.#failures.delete(uri);
            return keys;
          },
          (err: unknown) => {
            const error = err instanceof FetchError ? err : new FetchError('jwks_uri_unreachable', String((err as Error)?.message ?? err));
            const attempts = (this.#failures.get(uri)?.attempts ?? 0) + 1;
            const base = (this.#policy.failureBackoffSeconds ?? 5) * 1000;
            const max = (this.#policy.maxFailureBackoffSeconds ?? 300) * 1000;
            this.#failures.delete(uri);
            this.#failures.set(uri, { error, attempts, until: this.#clock.now() + Math.min(max, base * 2 ** Math.min(attempts - 1, 20)) });
            if (this.#failures.size > MAX_URIS) this.#failures.delete(this.#failures.keys().next().value!);
            throw error;
          },
        )
        .finally(() => this.#inFlight.delete(uri));
      if (onFetch) p.then(() => onFetch(true, (performance.now() - started) / 1000), () => onFetch(false, (performance.now() - started) / 1000));
      this.#inFlight.set(uri, p);
    }
    return p;
  }

  async #load(uri: string): Promise<ClientKey[]> {
    const res = await safeGet(uri, { timeoutMs: this.#policy.timeoutMs, maxBytes: this.#policy.maxBytes, policy: this.#addresses }, 'application/jwk-set+json, application/json');
    let body: unknown;
    try {
      body = JSON.parse(res.body);
    } catch {
      throw new FetchError('jwks_uri_not_json', 'jwks_uri did not return JSON');
    }
    const keys = (body as { keys?: unknown })?.keys;
    if (!Array.isArray(keys)) throw new FetchError('jwks_uri_not_jwk_set', 'jwks_uri did not return a JWK Set (no "keys" array)');
    const entry = inspect(keys);
    entry.expiresAt = this.#clock.now() + this.#ttlSeconds(firstHeader(res.headers['cache-control'])) * 1000;
    this.#entries.delete(uri);
    this.#entries.set(uri, entry);
    if (this.#entries.size > MAX_URIS) this.#entries.delete(this.#entries.keys().next().value!);
    return entry.keys;
  }

  #ttlSeconds(cacheControl: string | undefined): number {
    const { minCacheSeconds: floor, maxCacheSeconds: ceiling } = this.#policy;
    const m = cacheControl && /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl);
    const noStore = cacheControl && /(?:^|,)\s*(no-store|no-cache)\b/i.test(cacheControl);
    const asked = noStore ? 0 : m ? Number(m[1]) : floor;
    return Math.min(ceiling, Math.max(floor, asked));
  }
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Imports a fetched set key by key, refusing private key material and noting what it skips. */
function inspect(keys: unknown[]): Entry {
  const entry: Entry = { keys: [], expiresAt: 0, skipped: [], duplicateKids: [] };
  const seen = new Set<string>();
  keys.forEach((raw, index) => {
    const jwk = raw as Jwk;
    if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) {
      entry.skipped.push({ index, kid: null, kty: null, why: 'not a JSON object' });
      return;
    }
    const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
    const members = PRIVATE_MEMBERS.filter((m) => m in jwk);
    if (members.length) {
      throw new FetchError(
        'jwks_private_key',
        `jwks_uri publishes private key material (${members.join(', ')}) in key ${index}${kid !== undefined ? ` (kid ${JSON.stringify(kid)})` : ''}; a JWK Set must hold public keys only`,
        { index, kid: kid ?? null, members },
      );
    }
    const [imported] = importClientKeys([jwk]);
    if (!imported) {
      entry.skipped.push({ index, kid: kid ?? null, kty: typeof jwk.kty === 'string' ? jwk.kty : null, why: typeof jwk.kty !== 'string' ? 'no kty' : 'unsupported or malformed public key' });
      return;
    }
    if (kid !== undefined) {
      if (seen.has(kid) && !entry.duplicateKids.includes(kid)) entry.duplicateKids.push(kid);
      seen.add(kid);
    }
    entry.keys.push(imported);
  });
  return entry;
}
