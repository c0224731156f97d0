/**
 * The throttle under a flood of unknown client ids (issue 13 item 1): a per-source cap stops one
 * address from creating counters without end, and an IPv6 source counts as its /64.
 */
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TestClock, type TestServer } from '../../../../test/fixtures/server.ts';
import { basic, form } from '../../../../test/fixtures/assertions.ts';

let t: TestServer;
const clock = new TestClock();
before(async () => {
  t = await startTestServer({
    inject: true,
    clock,
    config: { throttle: { max_failures: 3, max_failures_per_source: 10, window: 60 }, clients: [{ client_id: 'c', client_secret: 'right', scope: 'x' }] },
  });
});
after(() => t.close());

const token = (id: string, secret: string, remoteAddress: string) =>
  t.app.inject({ method: 'POST', url: '/oauth2/token', remoteAddress, payload: form({ grant_type: 'client_credentials' }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) } });

it('a source that fails with many different client ids is refused after the per-source cap', async () => {
  for (let i = 0; i < 10; i++) assert.equal((await token(`ghost-${i}`, 'x', '10.9.0.1')).statusCode, 401);
  const refused = await token('ghost-new', 'x', '10.9.0.1');
  assert.equal(refused.statusCode, 429);
  assert.equal(refused.json().error, 'invalid_client');
  assert.ok(Number(refused.headers['retry-after']) >= 1);
  // every other source is unaffected
  assert.equal((await token('c', 'right', '10.9.0.2')).statusCode, 200);
  clock.advance(61_000);
  assert.equal((await token('c', 'right', '10.9.0.1')).statusCode, 200, 'the block ends with the window');
});

it('IPv6 sources in one /64 share the per-source count; IPv4-mapped IPv6 counts as the IPv4 address', async () => {
  for (let i = 0; i < 10; i++) assert.equal((await token(`g6-${i}`, 'x', `2001:db8:1:2::${(i + 1).toString(16)}`)).statusCode, 401);
  assert.equal((await token('g6-x', 'x', '2001:db8:1:2:ffff::1')).statusCode, 429);
  assert.equal((await token('c', 'right', '2001:db8:1:3::1')).statusCode, 200, 'another /64 is another source');

  for (let i = 0; i < 5; i++) assert.equal((await token(`g4-${i}`, 'x', '10.9.0.7')).statusCode, 401);
  for (let i = 5; i < 10; i++) assert.equal((await token(`g4-${i}`, 'x', '::ffff:10.9.0.7')).statusCode, 401);
  assert.equal((await token('g4-x', 'x', '10.9.0.7')).statusCode, 429);
});

it('a very long client id does not make a long limiter key, and never a 5xx', async () => {
  const res = await token('z'.repeat(8000), 'x', '10.9.0.9');
  assert.equal(res.statusCode, 401);
});
