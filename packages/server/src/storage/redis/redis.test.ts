/**
 * Tests of the Redis replay store and change feed on their own. They need Redis (CI starts it)
 * and fail with a clear message when it is down; TESSERA_TEST_REDIS_URL overrides the server.
 * Each test uses a key prefix of its own, removed afterwards. The storage contract runs on Redis
 * in src/storage/postgres/postgres.test.ts ('postgres+redis').
 */
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TcpProxy } from '../../../../../test/fixtures/tcp-proxy.ts';
import { randomBytes } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import { StorageUnavailableError } from '../../core/errors/index.ts';
import type { ChangeEvent } from '../../core/ports/index.ts';
import { waitFor } from '../contract/index.ts';
import {
  createRedisChangeFeed,
  createRedisReplayStore,
  envelope,
  parseEnvelope,
  translateRedisError,
  type RedisChangeFeed,
  type RedisReplayStore,
} from './index.ts';

const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DEAD_URL = 'redis://127.0.0.1:1';

const admin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
admin.on('error', () => {});
after(() => admin.disconnect());

let reachable: Promise<void> | undefined;
/** Fails (never skips) when Redis is down. */
function requireRedis(): Promise<void> {
  return (reachable ??= (async () => {
    try {
      if (admin.status === 'wait') await admin.connect();
      await admin.ping();
    } catch (error) {
      throw new Error(`Redis is not reachable at ${REDIS_URL} (${(error as Error).message}); start it or set TESSERA_TEST_REDIS_URL`);
    }
  })());
}

/** Parts opened by the current test and the prefixes it used; closed and deleted after it. */
const opened: Array<RedisReplayStore | RedisChangeFeed> = [];
const prefixes: string[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((part) => part.close()));
  for (const prefix of prefixes.splice(0)) {
    const keys = await admin.keys(`${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
    if (keys.length > 0) await admin.del(...keys);
  }
});

function newPrefix(): string {
  const prefix = `tessera-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  prefixes.push(prefix);
  return prefix;
}

async function replayStore(prefix: string, connection = REDIS_URL): Promise<RedisReplayStore> {
  if (connection === REDIS_URL) await requireRedis();
  const store = createRedisReplayStore({ connection, prefix });
  opened.push(store);
  return store;
}

async function changeFeed(prefix: string, connection = REDIS_URL): Promise<RedisChangeFeed> {
  if (connection === REDIS_URL) await requireRedis();
  const feed = createRedisChangeFeed({ connection, prefix });
  opened.push(feed);
  return feed;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Asserts that `promise` rejects with StorageUnavailableError within `withinMs`. */
async function rejectsUnavailable(promise: Promise<unknown>, withinMs = 4000): Promise<void> {
  const started = Date.now();
  await assert.rejects(promise, StorageUnavailableError);
  assert.ok(Date.now() - started < withinMs, `rejected after ${Date.now() - started} ms`);
}

describe('redis replay store', () => {
  it('resolves true for the first use only, and shares records between instances', async () => {
    const prefix = newPrefix();
    const [a, b] = [await replayStore(prefix), await replayStore(prefix)];
    const expiresAt = Date.now() + 60_000;
    assert.equal(await a.consume('r1', 'c1', 'jti-1', expiresAt), true);
    assert.equal(await b.consume('r1', 'c1', 'jti-1', expiresAt), false);
    assert.equal(await b.consume('r1', 'c2', 'jti-1', expiresAt), true);
    const other = await replayStore(newPrefix());
    assert.equal(await other.consume('r1', 'c1', 'jti-1', expiresAt), true, 'another prefix is another store');
  });

  it('keeps triples apart whose parts would run together', async () => {
    const store = await replayStore(newPrefix());
    const expiresAt = Date.now() + 60_000;
    assert.equal(await store.consume('r1', 'c1:x', 'jti', expiresAt), true);
    assert.equal(await store.consume('r1', 'c1', 'x:jti', expiresAt), true);
    assert.equal(await store.consume('r1:c1', 'x', 'jti', expiresAt), true);
  });

  it('gives exactly one true for 50 concurrent consumes through two instances', async () => {
    const prefix = newPrefix();
    const [a, b] = [await replayStore(prefix), await replayStore(prefix)];
    const expiresAt = Date.now() + 60_000;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).consume('r1', 'c1', 'jti', expiresAt)));
    assert.equal(results.filter(Boolean).length, 1);
  });

  it('lets Redis expire a record, which can then be consumed again', async () => {
    const prefix = newPrefix();
    const store = await replayStore(prefix);
    assert.equal(await store.consume('r1', 'c1', 'jti', Date.now() + 100), true);
    await sleep(150);
    const expiresAt = Date.now() + 60_000;
    assert.equal(await store.consume('r1', 'c1', 'jti', expiresAt), true);
    // The index now holds the later expiry: purging up to now leaves the live record alone.
    assert.equal(await store.purgeExpired(Date.now()), 0);
    assert.equal(await store.consume('r1', 'c1', 'jti', expiresAt), false);
  });

  it('purgeExpired deletes the records expiring before now, in batches, and empties the index', async () => {
    const prefix = newPrefix();
    const store = await replayStore(prefix);
    const t = Date.now() + 60_000;
    const count = 2500; // more than one purge batch
    await Promise.all(Array.from({ length: count }, (_, i) => store.consume('r1', 'c1', `old-${i}`, t - 1 - i)));
    await store.consume('r1', 'c1', 'kept', t);
    assert.equal(await store.purgeExpired(t), count);
    assert.equal(await store.purgeExpired(t), 0);
    assert.equal(await store.consume('r1', 'c1', 'old-0', t + 1000), true, 'purged records are gone');
    assert.equal(await store.consume('r1', 'c1', 'kept', t), false);
    assert.deepEqual((await admin.keys(`${prefix}*`)).length, 3, 'two records and the index');
  });

  it('fails closed with StorageUnavailableError while Redis is unreachable, without hanging', async () => {
    const store = await replayStore(newPrefix(), DEAD_URL);
    await rejectsUnavailable(store.consume('r1', 'c1', 'jti', Date.now() + 60_000));
    await rejectsUnavailable(store.purgeExpired(Date.now()));
    await rejectsUnavailable(store.ping());
  });

  it('rejects with StorageUnavailableError once closed', async () => {
    const store = await replayStore(newPrefix());
    await store.ping();
    await store.close();
    await store.close();
    await rejectsUnavailable(store.consume('r1', 'c1', 'jti', Date.now() + 60_000), 100);
  });
});


describe('redis change feed', () => {
  /** Publishes through `from` until `received` holds the event: a new subscription starts asynchronously. */
  async function publishUntilReceived(from: RedisChangeFeed, event: ChangeEvent, received: ChangeEvent[]): Promise<void> {
    const deadline = Date.now() + 5000;
    while (received.length === 0) {
      if (Date.now() > deadline) assert.fail('the event did not arrive');
      await from.publish(event);
      await sleep(50);
    }
    for (const got of received) assert.deepEqual(got, event);
  }

  it('delivers to the subscribers of other instances, and once to the publishing one', async () => {
    const prefix = newPrefix();
    const [a, b] = [await changeFeed(prefix), await changeFeed(prefix)];
    const atA: ChangeEvent[] = [];
    const atB: ChangeEvent[] = [];
    a.subscribe((event) => atA.push(event));
    b.subscribe((event) => atB.push(event));
    const event: ChangeEvent = { realm: 'r1', kind: 'client', id: 'c1' };
    await publishUntilReceived(a, event, atB);
    const published = atA.length;
    await sleep(200);
    assert.equal(atA.length, published, 'no second copy through Redis');

    const other = await changeFeed(newPrefix());
    const atOther: ChangeEvent[] = [];
    other.subscribe((e) => atOther.push(e));
    await sleep(200);
    await a.publish(event);
    await sleep(200);
    assert.deepEqual(atOther, [], 'another prefix is another channel');
  });

  it('ignores messages on the channel that are not change events', async () => {
    const prefix = newPrefix();
    const [a, b] = [await changeFeed(prefix), await changeFeed(prefix)];
    const atB: ChangeEvent[] = [];
    b.subscribe((event) => atB.push(event));
    await publishUntilReceived(a, { realm: 'r1', kind: 'keys', id: '' }, atB);
    atB.length = 0;
    for (const junk of ['not json', '{}', '{"realm":"r1","kind":"other","id":"x","origin":"o"}']) {
      await admin.publish(`${prefix}changes`, junk);
    }
    const event: ChangeEvent = { realm: 'r1', kind: 'client', id: 'c9' };
    await a.publish(event);
    await waitFor(() => atB.length >= 1, 'the valid event');
    assert.deepEqual(atB, [event]);
  });

  it('delivers one resync after the subscriber reconnects, none on the first connection', { timeout: 30_000 }, async () => {
    await requireRedis();
    const target = new URL(REDIS_URL);
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    await proxy.start();
    try {
      const prefix = newPrefix();
      const direct = await changeFeed(prefix);
      const proxied = await changeFeed(prefix, proxy.via(REDIS_URL));
      const received: ChangeEvent[] = [];
      proxied.subscribe((event) => received.push(event));
      const before: ChangeEvent = { realm: 'r1', kind: 'client', id: 'before' };
      await publishUntilReceived(direct, before, received);
      await sleep(200);
      assert.ok(received.every((e) => e.kind === 'client'), `no resync on the first connection: ${JSON.stringify(received)}`);

      await proxy.stop();
      const missed: ChangeEvent = { realm: 'r1', kind: 'client', id: 'missed' };
      await direct.publish(missed); // published while the subscriber is cut off: lost
      await sleep(300);
      assert.deepEqual(received.filter((e) => e.kind !== 'client' || e.id !== 'before'), [], 'nothing arrives while disconnected');

      received.length = 0;
      await proxy.start();
      await waitFor(() => received.some((e) => e.kind === 'resync'), 'a resync after reconnecting', 10_000);
      assert.deepEqual(received, [{ realm: '', kind: 'resync', id: '' }]);
      // Subscribed again by the time the resync arrives: the next event is delivered.
      const after: ChangeEvent = { realm: 'r1', kind: 'client', id: 'after' };
      await direct.publish(after);
      await waitFor(() => received.length >= 2, 'the event published after the reconnection');
      assert.deepEqual(received, [{ realm: '', kind: 'resync', id: '' }, after]);
      await sleep(200);
      assert.equal(received.filter((e) => e.kind === 'resync').length, 1, 'one resync per reconnection');
    } finally {
      await proxy.stop();
    }
  });

  it('rejects publish with StorageUnavailableError while Redis is unreachable', async () => {
    const feed = await changeFeed(newPrefix(), DEAD_URL);
    const received: ChangeEvent[] = [];
    feed.subscribe((event) => received.push(event));
    await rejectsUnavailable(feed.publish({ realm: 'r1', kind: 'keys', id: '' }));
    assert.deepEqual(received, [], 'a failed publication is not delivered locally either');
  });
});

describe('redis helpers', () => {
  it('round-trips change events and rejects anything else', () => {
    const event: ChangeEvent = { realm: 'r"1', kind: 'client', id: 'c\u{1F600}' };
    assert.deepEqual(parseEnvelope(envelope(event, 'me')), { ...event, origin: 'me' });
    for (const junk of ['', 'null', '[]', '{"realm":1,"kind":"keys","id":"","origin":"o"}', '{"realm":"r","kind":"keys","id":""}']) {
      assert.equal(parseEnvelope(junk), undefined, junk);
    }
  });

  it('maps connection failures and "not ready" replies to StorageUnavailableError only', () => {
    assert.ok(translateRedisError(new Error('Connection is closed.')) instanceof StorageUnavailableError);
    assert.ok(translateRedisError(new ReplyError('LOADING Redis is loading the dataset in memory')) instanceof StorageUnavailableError);
    const wrongType = new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value');
    assert.equal(translateRedisError(wrongType), wrongType);
  });
});
