/**
 * Redis parts of the storage: a replay store (SET NX with an absolute expiry) and a change feed
 * (pub/sub). The PostgreSQL adapter uses them when given a Redis URL; they can serve any adapter.
 *
 * Fail closed and fast: commands are never queued while Redis is unreachable. A call waits at most
 * about two seconds for the connection and then rejects with StorageUnavailableError, so a replay
 * check never passes without Redis having recorded the use. ioredis reconnects by itself.
 */
import { randomUUID } from 'node:crypto';
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import { StorageUnavailableError } from '../../core/errors/index.ts';
import type { ChangeEvent, ChangeFeed, ReplayStore } from '../../core/ports/index.ts';
import { ListenerSet } from '../memory/index.ts';

/** Where to reach Redis: a redis:// (or rediss://) URL or ioredis options. */
export type RedisConnection = string | RedisOptions;

export interface RedisPartOptions {
  connection: RedisConnection;
  /** Prepended to every key and channel name, so that deployments (and test runs) stay apart. */
  prefix: string;
  /** How long a call waits for a (re)connection, and for a reply (ms, default 2000). */
  timeoutMs?: number;
}

export interface RedisReplayStore extends ReplayStore {
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface RedisChangeFeed extends ChangeFeed {
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 2000;
/** Index members purged per round trip, so that a large purge never blocks Redis for long. */
const PURGE_BATCH = 1000;

/** Reply errors that mean Redis cannot serve right now, rather than a wrong command. */
const UNAVAILABLE_REPLY = /^(LOADING|MISCONF|READONLY|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS)\b/;

/**
 * Wraps failures meaning "Redis cannot be reached or cannot serve" in StorageUnavailableError.
 * Every error ioredis raises itself (connection refused or closed, timeouts, retries exhausted,
 * stream not writeable) is of that kind; a reply error is only when Redis says it is not ready.
 */
export function translateRedisError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof StorageUnavailableError) return error;
  if (error instanceof ReplyError && !UNAVAILABLE_REPLY.test(error.message)) return error;
  return new StorageUnavailableError(`redis: ${error.message}`, { cause: error });
}

/**
 * An ioredis client that reconnects by itself and, unless `overrides` say otherwise, fails fast
 * while Redis is unreachable: a command waits for a (re)connection at most `timeoutMs`, and
 * callers waiting at the same time share one wait.
 */
class RedisClient {
  readonly redis: Redis;
  readonly #timeoutMs: number;
  #connecting: Promise<void> | undefined;

  constructor(connection: RedisConnection, timeoutMs: number, overrides: RedisOptions = {}) {
    const options: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      ...overrides,
    };
    this.redis = typeof connection === 'string' ? new Redis(connection, options) : new Redis({ ...connection, ...options });
    // Errors reach the callers as rejections; without a listener ioredis would print each one.
    this.redis.on('error', () => {});
    this.#timeoutMs = timeoutMs;
  }

  /** Runs one command once connected, translating failures. */
  async run<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    try {
      await this.#ready();
      return await command(this.redis);
    } catch (error) {
      throw translateRedisError(error);
    }
  }

  /** Closes the connection: politely when connected, at once otherwise. */
  async close(): Promise<void> {
    if (this.redis.status === 'end') return;
    if (this.redis.status === 'ready') {
      try {
        await this.redis.quit();
        return;
      } catch {
        // fall through: drop the connection
      }
    }
    this.redis.disconnect();
  }

  #ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    if (this.redis.status === 'end') return Promise.reject(new StorageUnavailableError('redis: connection closed'));
    return (this.#connecting ??= this.#waitForReady().finally(() => (this.#connecting = undefined)));
  }

  #waitForReady(): Promise<void> {
    const redis = this.redis;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('end', onEnd);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const onEnd = () => settle(new StorageUnavailableError('redis: connection closed'));
      const timer = setTimeout(() => settle(new StorageUnavailableError(`redis: not reachable within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      redis.once('ready', onReady);
      redis.once('end', onEnd);
    });
  }
}

/**
 * Records a use unless a live record exists, and indexes it by expiry (for purgeExpired) — both in
 * one script, hence atomically. KEYS: record, expiry index. ARGV: expiresAt (ms), index member.
 */
const CONSUME_SCRIPT = `
if redis.call('SET', KEYS[1], '1', 'NX', 'PXAT', ARGV[1]) then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
  return 1
end
return 0`;

/**
 * Deletes up to ARGV[3] records whose expiry is before ARGV[1] and drops them from the index.
 * A record consumed again since has a later score in the index and is left alone.
 * KEYS: expiry index. ARGV: now (ms), record key prefix, batch size.
 */
const PURGE_SCRIPT = `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(members) do
  redis.call('DEL', ARGV[2] .. member)
end
if #members > 0 then
  redis.call('ZREM', KEYS[1], unpack(members))
end
return #members`;

type ReplayScripts = {
  tesseraConsume(record: string, index: string, expiresAt: number, member: string): Promise<number>;
  tesseraPurge(index: string, now: number, recordPrefix: string, batch: number): Promise<number>;
};

/**
 * A replay store on Redis. Records expire by themselves (PXAT); purgeExpired removes those that
 * expire before a given instant and keeps the expiry index small. All keys share one hash tag,
 * so the scripts stay valid on a cluster.
 */
export function createRedisReplayStore(options: RedisPartOptions): RedisReplayStore {
  const { prefix, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  const client = new RedisClient(options.connection, timeoutMs);
  client.redis.defineCommand('tesseraConsume', { numberOfKeys: 2, lua: CONSUME_SCRIPT });
  client.redis.defineCommand('tesseraPurge', { numberOfKeys: 1, lua: PURGE_SCRIPT });
  const scripts = (redis: Redis) => redis as unknown as ReplayScripts;
  const index = `${prefix}{replay}`;
  const recordPrefix = `${index}:`;

  return {
    async consume(realm, clientId, jti, expiresAt) {
      // JSON of the triple: an encoding no two distinct triples share.
      const member = JSON.stringify([realm, clientId, jti]);
      const at = Math.max(1, Math.ceil(expiresAt)); // PXAT takes a positive integer
      const stored = await client.run((redis) => scripts(redis).tesseraConsume(recordPrefix + member, index, at, member));
      return stored === 1;
    },
    async purgeExpired(now) {
      let removed = 0;
      for (;;) {
        const batch = await client.run((redis) => scripts(redis).tesseraPurge(index, Math.floor(now), recordPrefix, PURGE_BATCH));
        removed += batch;
        if (batch < PURGE_BATCH) return removed;
      }
    },
    async ping() {
      await client.run((redis) => redis.ping());
    },
    close: () => client.close(),
  };
}

/** The message on the channel: the event and the feed instance that published it. */
type Envelope = ChangeEvent & { origin: string };

/** Parses a message of the channel; undefined for anything that is not a change event. */
export function parseEnvelope(message: string): Envelope | undefined {
  try {
    const value = JSON.parse(message) as Partial<Envelope>;
    const { realm, kind, id, origin } = value;
    if (typeof realm !== 'string' || typeof id !== 'string' || typeof origin !== 'string') return undefined;
    if (kind !== 'client' && kind !== 'keys' && kind !== 'realm') return undefined;
    return { realm, kind, id, origin };
  } catch {
    return undefined;
  }
}

/** Serializes an event for the channel. */
export function envelope(event: ChangeEvent, origin: string): string {
  const message: Envelope = { realm: event.realm, kind: event.kind, id: event.id, origin };
  return JSON.stringify(message);
}

/**
 * A change feed on Redis pub/sub. publish() tells this instance's listeners directly and skips its
 * own messages when they come back. The subscriber connection opens with the first subscribe()
 * and resubscribes after every reconnect. Events published while it is down are not delivered:
 * once subscribed again, the feed delivers `{ kind: 'resync' }` to its subscribers, so that they
 * drop whatever they cached meanwhile.
 */
export function createRedisChangeFeed(options: RedisPartOptions): RedisChangeFeed {
  const { prefix, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  const channel = `${prefix}changes`;
  const origin = randomUUID();
  const listeners = new ListenerSet();
  const publisher = new RedisClient(options.connection, timeoutMs);
  let subscriber: RedisClient | undefined;
  let closed = false;

  const startSubscriber = () => {
    // Subscribing may wait for Redis as long as it takes: queue it, and never give up retrying.
    // Resubscribing is done here rather than by ioredis, so that the feed knows when it is done.
    const client = new RedisClient(options.connection, timeoutMs, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
      autoResubscribe: false,
    });
    subscriber = client;
    const redis = client.redis;
    redis.on('message', (from: string, message: string) => {
      const received = from === channel ? parseEnvelope(message) : undefined;
      if (received && received.origin !== origin) listeners.deliver(received);
    });
    // The first SUBSCRIBE waits in the offline queue for the first connection. Every later 'ready'
    // is a reconnection: subscribe again, then tell the listeners that events may have been missed.
    let connectedOnce = false;
    redis.on('ready', () => {
      if (!connectedOnce) {
        connectedOnce = true;
        return;
      }
      redis.subscribe(channel).then(
        () => {
          if (!closed) listeners.deliver({ realm: '', kind: 'resync', id: '' });
        },
        () => {}, // lost again (the next 'ready' retries) or closed
      );
    });
    redis.subscribe(channel).catch(() => {}); // only fails when closed meanwhile
  };

  return {
    async publish(event) {
      if (closed) throw new StorageUnavailableError('redis: change feed closed');
      await publisher.run((redis) => redis.publish(channel, envelope(event, origin)));
      listeners.deliver(event);
    },
    subscribe(listener) {
      const remove = listeners.add(listener);
      if (!subscriber && !closed) startSubscriber();
      return remove;
    },
    async close() {
      closed = true;
      listeners.clear();
      await Promise.all([publisher.close(), subscriber?.close()]);
    },
  };
}
