/** Brute-force protection of client authentication (RFC 6749 §2.3.1). */
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
    config: { throttle: { max_failures: 3, window: 60 }, clients: [{ client_id: 'c', client_secret: 'right', scope: 'x' }, { client_id: 'd', client_secret: 'right', scope: 'x' }] },
  });
});
after(() => t.close());

const token = (id: string, secret: string, remoteAddress = '10.0.0.1') =>
  t.app.inject({ method: 'POST', url: '/oauth2/token', remoteAddress, payload: form({ grant_type: 'client_credentials' }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) } });

it('after the allowed failures a source is refused for that client with 429 until the window ends', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await token('c', 'wrong')).statusCode, 401);
  const blocked = await token('c', 'right');
  assert.equal(blocked.statusCode, 429);
  assert.deepEqual(blocked.json(), { error: 'invalid_client', error_description: 'too many failed client authentication attempts; retry later' });
  assert.equal(blocked.headers['retry-after'], '60');
  assert.equal(blocked.headers['cache-control'], 'no-store');
  // other clients from the same source, and the same client from elsewhere, are unaffected
  assert.equal((await token('d', 'right')).statusCode, 200);
  assert.equal((await token('c', 'right', '10.0.0.2')).statusCode, 200);
  clock.advance(61_000);
  assert.equal((await token('c', 'right')).statusCode, 200);
});

it('unknown client ids are throttled the same way (no existence oracle)', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await token('ghost', 'x', '10.0.0.3')).statusCode, 401);
  assert.equal((await token('ghost', 'x', '10.0.0.3')).statusCode, 429);
});
