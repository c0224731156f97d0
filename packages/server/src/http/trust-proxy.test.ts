/**
 * http.trust_proxy (issue 13 item 11): `true` believed the left-most X-Forwarded-For, so a client
 * appending its own address escaped the throttle. Now: a hop count or trusted proxy ranges.
 */
import { it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../../../test/fixtures/server.ts';
import { basic, form } from '../../../../test/fixtures/assertions.ts';
import { resolveConfig } from '../core/config/index.ts';

const servers: TestServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function server(trust: unknown): Promise<TestServer> {
  const t = await startTestServer({ inject: true, config: { http: { trust_proxy: trust }, throttle: { max_failures: 3, window: 60 }, clients: [{ client_id: 'c', client_secret: 'right', scope: 'x' }] } });
  servers.push(t);
  return t;
}
const guess = (t: TestServer, xff: string | undefined, remoteAddress = '10.0.0.9') =>
  t.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    remoteAddress,
    payload: form({ grant_type: 'client_credentials' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('c', 'wrong'), ...(xff ? { 'x-forwarded-for': xff } : {}) },
  });

it('true is refused with what to write instead', () => {
  assert.throws(() => resolveConfig({ http: { trust_proxy: true } }), /http\.trust_proxy: true would believe any X-Forwarded-For .* give the number of proxies/);
  assert.throws(() => resolveConfig({ http: { trust_proxy: ['10.0.0.0/8', 'proxy.example'] } }), /http\.trust_proxy\.1/);
  assert.equal(resolveConfig({ http: { trust_proxy: 1 } }).trustProxy, 1);
  assert.deepEqual(resolveConfig({ http: { trust_proxy: '10.0.0.0/8, loopback' } }).trustProxy, ['10.0.0.0/8', 'loopback']);
  assert.equal(resolveConfig({ http: { trust_proxy: false } }).trustProxy, false);
});

for (const trust of [1, ['10.0.0.0/8']]) {
  it(`trust_proxy ${JSON.stringify(trust)}: the address the proxy appended counts, whatever the client put before it`, async () => {
    const t = await server(trust);
    for (let i = 0; i < 3; i++) assert.equal((await guess(t, `198.51.100.${i}, 203.0.113.7`)).statusCode, 401);
    const res = await guess(t, '198.51.100.99, 203.0.113.7');
    assert.equal(res.statusCode, 429, 'a forged left-most entry does not make a new source');
    assert.equal((await guess(t, '203.0.113.8')).statusCode, 401, 'another client behind the proxy is another source');
  });
}

it('without trust_proxy, X-Forwarded-For is ignored: the peer address counts', async () => {
  const t = await server(false);
  for (let i = 0; i < 3; i++) assert.equal((await guess(t, `203.0.113.${i}`)).statusCode, 401);
  assert.equal((await guess(t, '203.0.113.50')).statusCode, 429);
});
