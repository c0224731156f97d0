/**
 * `RedisTokenCache`: an example `TokenCacheStore` shared by the replicas of a service through Redis.
 * It takes an ioredis-like client object (`get`, `set(key, value, 'PX', ms)`, `del`, optionally
 * `eval`), so this package depends on no Redis driver. Entries expire in Redis with their token.
 */
import type { CachedToken, TokenCacheStore } from './cache.ts';

/** The subset of an ioredis client that the cache uses. */
export interface RedisLikeClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', milliseconds: number): Promise<unknown>;
  del(key: string): Promise<number>;
  /** When present, a conditional delete runs atomically as a Lua script. */
  eval?(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

export interface RedisTokenCacheOptions {
  /** Prepended to every key; default `tessera:client:token:`. */
  keyPrefix?: string;
  /** Clock in epoch milliseconds; default `Date.now`. */
  now?: () => number;
}

// Deletes KEYS[1] only if it still holds the access token ARGV[1].
const DELETE_IF_TOKEN = `local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).token.accessToken == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export class RedisTokenCache implements TokenCacheStore {
  readonly #redis: RedisLikeClient;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(redis: RedisLikeClient, options: RedisTokenCacheOptions = {}) {
    if (typeof redis !== 'object' || redis === null || typeof redis.get !== 'function' || typeof redis.set !== 'function' || typeof redis.del !== 'function') {
      throw new TypeError('redis must be an ioredis-like client with get, set and del');
    }
    this.#redis = redis;
    this.#prefix = options.keyPrefix ?? 'tessera:client:token:';
    if (typeof this.#prefix !== 'string') throw new TypeError('keyPrefix must be a string');
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CachedToken | undefined> {
    const raw = await this.#redis.get(this.#prefix + key);
    if (raw === null) return undefined;
    const entry = parseEntry(raw);
    return entry && entry.token.expiresAt > this.#now() ? entry : undefined;
  }

  async set(key: string, entry: CachedToken): Promise<void> {
    const ttl = Math.floor(entry.token.expiresAt - this.#now());
    if (ttl <= 0) return;
    await this.#redis.set(this.#prefix + key, JSON.stringify(entry), 'PX', ttl);
  }

  async delete(key: string, accessToken?: string): Promise<void> {
    const full = this.#prefix + key;
    if (accessToken === undefined) {
      await this.#redis.del(full);
    } else if (typeof this.#redis.eval === 'function') {
      await this.#redis.eval(DELETE_IF_TOKEN, 1, full, accessToken);
    } else {
      const current = await this.get(key);
      if (current?.token.accessToken === accessToken) await this.#redis.del(full);
    }
  }
}

function parseEntry(raw: string): CachedToken | undefined {
  try {
    const value = JSON.parse(raw) as CachedToken;
    const t = value?.token;
    const ok =
      typeof t?.accessToken === 'string' &&
      typeof t.tokenType === 'string' &&
      typeof t.scope === 'string' &&
      Number.isFinite(t.expiresAt) &&
      Number.isFinite(value.renewAt) &&
      Number.isFinite(value.usableUntil);
    return ok ? { token: { accessToken: t.accessToken, tokenType: t.tokenType, expiresAt: t.expiresAt, scope: t.scope }, renewAt: value.renewAt, usableUntil: value.usableUntil } : undefined;
  } catch {
    return undefined;
  }
}
