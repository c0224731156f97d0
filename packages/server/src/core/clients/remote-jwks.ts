/**
 * Fetches and caches clients' `jwks_uri` key sets: timeout, size limit, Cache-Control max-age
 * clamped between a floor and a ceiling, one fetch in flight per URI, and a per-client cooldown on
 * re-fetches triggered by an unknown kid (so a stream of bogus kids cannot turn into a stream of
 * fetches).
 */
import type { JwksFetchPolicy } from '../config/index.ts';
import type { Clock } from '../ports/index.ts';
import { importClientKeys, type ClientKey } from './keys.ts';

interface Entry {
  keys: ClientKey[];
  expiresAt: number;
}

export class RemoteJwksCache {
  readonly #policy: JwksFetchPolicy;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<ClientKey[]>>();
  readonly #lastForced = new Map<string, number>();

  readonly #onFetch: ((ok: boolean, seconds: number) => void) | undefined;

  /** `onFetch` is told the outcome and duration of every fetch (metrics). */
  constructor(policy: JwksFetchPolicy, clock: Clock, onFetch?: (ok: boolean, seconds: number) => void) {
    this.#policy = policy;
    this.#clock = clock;
    this.#onFetch = onFetch;
  }

  /** Cached keys, fetching when absent or stale. Rejects with a reason when the set cannot be had. */
  async get(uri: string): Promise<ClientKey[]> {
    const e = this.#entries.get(uri);
    if (e && e.expiresAt > this.#clock.now()) return e.keys;
    return this.#fetch(uri).catch((err) => {
      if (e) return e.keys; // a stale set beats none while the client's server is briefly down
      throw err;
    });
  }

  /**
   * Re-fetches because an assertion named a key the cached set lacks. Resolves undefined when the
   * cooldown for this client forbids it.
   */
  async refresh(uri: string, clientKey: string): Promise<ClientKey[] | undefined> {
    const now = this.#clock.now();
    const last = this.#lastForced.get(clientKey);
    if (last !== undefined && now - last < this.#policy.cooldownSeconds * 1000) return undefined;
    this.#lastForced.set(clientKey, now);
    if (this.#lastForced.size > 100_000) this.#lastForced.clear();
    return this.#fetch(uri);
  }

  #fetch(uri: string): Promise<ClientKey[]> {
    let p = this.#inFlight.get(uri);
    if (!p) {
      const onFetch = this.#onFetch;
      const started = onFetch ? performance.now() : 0;
      p = this.#load(uri).finally(() => this.#inFlight.delete(uri));
      if (onFetch) p.then(() => onFetch(true, (performance.now() - started) / 1000), () => onFetch(false, (performance.now() - started) / 1000));
      this.#inFlight.set(uri, p);
    }
    return p;
  }

  async #load(uri: string): Promise<ClientKey[]> {
    const res = await fetch(uri, {
      signal: AbortSignal.timeout(this.#policy.timeoutMs),
      redirect: 'error',
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
    if (res.status !== 200) throw new Error(`jwks_uri answered ${res.status}`);
    const text = await readLimited(res, this.#policy.maxBytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('jwks_uri did not return JSON');
    }
    const keys = (body as { keys?: unknown })?.keys;
    if (!Array.isArray(keys)) throw new Error('jwks_uri did not return a JWK Set');
    const imported = importClientKeys(keys);
    this.#entries.set(uri, { keys: imported, expiresAt: this.#clock.now() + this.#ttlSeconds(res.headers.get('cache-control')) * 1000 });
    return imported;
  }

  #ttlSeconds(cacheControl: string | null): number {
    const { minCacheSeconds: floor, maxCacheSeconds: ceiling } = this.#policy;
    const m = cacheControl && /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl);
    const noStore = cacheControl && /(?:^|,)\s*(no-store|no-cache)\b/i.test(cacheControl);
    const asked = noStore ? 0 : m ? Number(m[1]) : floor;
    return Math.min(ceiling, Math.max(floor, asked));
  }
}

async function readLimited(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new Error('jwks_uri response too large');
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error('jwks_uri response too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
