/**
 * The global cap on concurrent scrypt work (issue 13 item 5): wrong guesses at a client whose
 * chosen secret is stored with scrypt, from many addresses at once, get 503 + Retry-After beyond
 * the cap instead of queueing without bound on the thread pool; other clients still get tokens.
 */
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../../../test/fixtures/server.ts';
import { basic, form } from '../../../../test/fixtures/assertions.ts';
import { DEFAULT_REALM } from '../core/config/index.ts';
import { Semaphore, BusyError } from '../core/limits/concurrency.ts';

let t: TestServer;
let fastSecret: string;
before(async () => {
  t = await startTestServer({
    inject: true,
    config: { kdf: { max_concurrent: 1, max_queue: 2, max_wait_ms: 5000 }, clients: [{ client_id: 'cold', client_secret: 'a chosen secret', scope: 'x' }] },
  });
  fastSecret = (await t.server.createClient(DEFAULT_REALM, { client_id: 'fast', scope: 'x', token_endpoint_auth_method: 'client_secret_basic' })).client_secret!;
});
after(() => t.close());

const token = (id: string, secret: string, remoteAddress: string) =>
  t.app.inject({ method: 'POST', url: '/oauth2/token', remoteAddress, payload: form({ grant_type: 'client_credentials' }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) } });

it('guesses beyond the KDF cap fail fast with 503 and Retry-After; nothing else is affected', async () => {
  const guesses = Array.from({ length: 30 }, (_, i) => token('cold', `guess-${i}`, `10.7.${i}.1`));
  const legit = token('fast', fastSecret, '10.8.0.1');
  const results = await Promise.all(guesses);
  const statuses = results.map((r) => r.statusCode);
  assert.ok(statuses.every((s) => s === 401 || s === 503), `statuses ${statuses}`);
  const busy = results.filter((r) => r.statusCode === 503);
  assert.ok(busy.length >= 20, `${busy.length} refused as busy (cap 1 + queue 2)`);
  assert.ok(statuses.filter((s) => s === 401).length >= 3);
  for (const r of busy) {
    assert.equal(r.json().error, 'temporarily_unavailable');
    assert.equal(r.headers['retry-after'], '1');
    assert.equal(r.headers['cache-control'], 'no-store');
  }
  assert.equal((await legit).statusCode, 200, 'a client with a generated secret needs no KDF');
  assert.equal((await token('cold', 'a chosen secret', '10.8.0.2')).statusCode, 200, 'after the flood the cold client verifies');
});

it('the semaphore runs at most maxConcurrent tasks, queues at most maxQueue, and times waiters out', async () => {
  const s = new Semaphore({ maxConcurrent: 2, maxQueue: 1, maxWaitMs: 50 });
  let running = 0;
  let peak = 0;
  const task = () => s.run(async () => {
    peak = Math.max(peak, ++running);
    await new Promise((r) => setTimeout(r, 100));
    running--;
    return 'done';
  });
  const outcomes = await Promise.allSettled([task(), task(), task(), task()]);
  assert.equal(peak, 2);
  assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected']);
  assert.ok(outcomes.slice(2).every((o) => o.status === 'rejected' && o.reason instanceof BusyError));
  assert.equal(await task(), 'done', 'slots are released');
});
