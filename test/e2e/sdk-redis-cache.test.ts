/**
 * The SDK's example shared cache, `RedisTokenCache`, against the real Redis at 127.0.0.1:6379 (own
 * key prefix) and a real Tessera server: replicas of one service share one token, one replica's
 * renewal is adopted by the others, entries expire with their token, and deletes are conditional.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisTokenCache, TokenClient, type CachedToken } from '../../packages/client/src/index.ts';
import { startTestServer, type TestServer } from '../fixtures/server.ts';

const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = 'sdk-redis-cache-secret-0123';

describe('RedisTokenCache shared by replicas', () => {
  let ts: TestServer;
  let redis: Redis;
  const prefix = `tessera-test:sdk-cache:${process.pid}:${randomBytes(4).toString('hex')}:`;
  let tokenRequests = 0;
  const countingFetch: typeof fetch = (input, init) => {
    if (new Request(input, init).url.endsWith('/token')) tokenRequests++;
    return fetch(input, init);
  };

  before(async () => {
    ts = await startTestServer({
      config: {
        tokens: { ttl: 600 },
        clients: [{ client_id: 'replicated-svc', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', scope: 'ledger:read ledger:write' }],
      },
    });
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await ts?.close();
  });

  function replica(now: () => number): TokenClient {
    return new TokenClient({
      issuer: ts.issuer,
      clientId: 'replicated-svc',
      auth: { method: 'client_secret_basic', clientSecret: SECRET },
      cache: new RedisTokenCache(redis, { keyPrefix: prefix }),
      fetch: countingFetch,
      telemetry: false,
      now,
    });
  }

  it('replicas share one token; a renewal by one is adopted by the others', async () => {
    let shift = 0;
    const now = () => Date.now() + shift;
    const a = replica(now);
    const b = replica(now);
    const first = await a.getToken({ scope: 'ledger:read' });
    assert.equal((await b.getToken({ scope: 'ledger:read' })).accessToken, first.accessToken);
    assert.equal(tokenRequests, 1);

    const keys = await redis.keys(`${prefix}*`);
    assert.equal(keys.length, 1);
    const ttl = await redis.pttl(keys[0]!);
    assert.ok(ttl > 500_000 && ttl <= 600_000, `entry expires with its token (pttl ${ttl})`);
    const stored = await redis.get(keys[0]!);
    assert.ok(stored !== null && !stored.includes(SECRET), 'the client secret is never stored');

    shift = 580_000; // both replicas are due for renewal (20 s left); A notices first
    assert.equal((await a.getToken({ scope: 'ledger:read' })).accessToken, first.accessToken);
    let renewed = first.accessToken;
    for (let i = 0; i < 200 && renewed === first.accessToken; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      renewed = (await a.getToken({ scope: 'ledger:read' })).accessToken;
    }
    assert.notEqual(renewed, first.accessToken);
    assert.equal(tokenRequests, 2);
    // B is due too: its renewal takes A's new token from Redis instead of asking the server.
    await b.getToken({ scope: 'ledger:read' });
    let seenByB = first.accessToken;
    for (let i = 0; i < 200 && seenByB !== renewed; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      seenByB = (await b.getToken({ scope: 'ledger:read' })).accessToken;
    }
    assert.equal(seenByB, renewed);
    assert.equal(tokenRequests, 2);
  });

  it('deletes are conditional on the token (atomic with eval, and without it)', async () => {
    const entry = (accessToken: string): CachedToken => ({
      token: { accessToken, tokenType: 'Bearer', expiresAt: Date.now() + 60_000, scope: 'x' },
      renewAt: Date.now() + 30_000,
      usableUntil: Date.now() + 55_000,
    });
    const withEval = new RedisTokenCache(redis, { keyPrefix: `${prefix}del:` });
    const withoutEval = new RedisTokenCache(
      { get: (k) => redis.get(k), set: (k, v, mode, ms) => redis.set(k, v, mode, ms), del: (k) => redis.del(k) },
      { keyPrefix: `${prefix}del:` },
    );
    for (const cache of [withEval, withoutEval]) {
      await cache.set('k', entry('new'));
      await cache.delete('k', 'old'); // a replica dropping the token it was refused with
      assert.equal((await cache.get('k'))?.token.accessToken, 'new');
      await cache.delete('k', 'new');
      assert.equal(await cache.get('k'), undefined);
      await cache.set('k', entry('any'));
      await cache.delete('k');
      assert.equal(await cache.get('k'), undefined);
    }
  });

  it('ignores malformed or expired entries and refuses non-clients', async () => {
    const cache = new RedisTokenCache(redis, { keyPrefix: `${prefix}bad:` });
    await redis.set(`${prefix}bad:junk`, 'not json', 'PX', 10_000);
    await redis.set(`${prefix}bad:shape`, JSON.stringify({ token: { accessToken: 1 } }), 'PX', 10_000);
    assert.equal(await cache.get('junk'), undefined);
    assert.equal(await cache.get('shape'), undefined);
    await cache.set('old', { token: { accessToken: 'a', tokenType: 'Bearer', expiresAt: Date.now() - 1, scope: '' }, renewAt: 0, usableUntil: 0 });
    assert.equal(await redis.exists(`${prefix}bad:old`), 0);
    assert.throws(() => new RedisTokenCache({} as never), TypeError);
  });
});
