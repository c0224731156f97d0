/**
 * The Redis RateLimiter: one counter per key shared by every instance, INCR and PEXPIRE in one
 * script so a window can never be left without expiry. Redis unreachable → StorageUnavailableError.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { RateLimiter } from '../../core/ports/index.ts';
import { StorageUnavailableError } from '../../core/errors/index.ts';
import { translateRedisError } from './index.ts';

const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

export function createRedisRateLimiter(options: { connection: string | RedisOptions; prefix: string; timeoutMs?: number }): RateLimiter {
  const timeoutMs = options.timeoutMs ?? 2000;
  const base: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: timeoutMs, commandTimeout: timeoutMs, lazyConnect: false };
  const redis = typeof options.connection === 'string' ? new Redis(options.connection, base) : new Redis({ ...base, ...options.connection });
  redis.on('error', () => {}); // surfaced per command as StorageUnavailableError
  redis.defineCommand('tesseraHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
  /** Commands are not queued while disconnected; wait (bounded) for a connection in progress. */
  const ready = async () => {
    if (redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (redis.off('ready', onReady), reject(new StorageUnavailableError('redis: not connected'))), timeoutMs);
      const onReady = () => (clearTimeout(timer), resolve());
      redis.once('ready', onReady);
    });
  };
  return {
    async hit(key, windowMs) {
      await ready();
      try {
        const [count, ttl] = (await (redis as unknown as { tesseraHit(k: string, w: number): Promise<[number, number]> }).tesseraHit(`${options.prefix}{limit}:${key}`, Math.max(1, Math.ceil(windowMs))));
        return { count, resetAt: Date.now() + ttl };
      } catch (error) {
        throw translateRedisError(error);
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}
