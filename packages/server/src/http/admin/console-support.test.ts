/**
 * The admin routes the console's pages rest on: GET /realms/{realm}/activity (tokens issued and
 * refusals per minute, realm and one client), the time window of GET /realms/{realm}/failures (on
 * a clock the test moves), and GET /realms/{realm}/jwks (the JWK Set as published).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TestClock, type TestServer } from '../../../../../test/fixtures/server.ts';
import { adminToken, createAdminClient } from '../../../../../test/fixtures/admin.ts';
import { basic, form } from '../../../../../test/fixtures/assertions.ts';
import { ActivityCounter } from '../../core/admin/activity.ts';

describe('admin API for the console: activity, failures by time, published JWKS', () => {
  let t: TestServer;
  let bearer: string;
  let secret: string;
  const clock = new TestClock(Date.UTC(2026, 0, 1, 12, 0, 30));
  const call = (url: string) => t.app.inject({ method: 'GET', url: `/admin/v1${url}`, headers: { authorization: `Bearer ${bearer}` } });
  const token = (id: string, s: string) =>
    t.app.inject({ method: 'POST', url: '/oauth2/token', headers: { authorization: basic(id, s), 'content-type': 'application/x-www-form-urlencoded' }, payload: form({ grant_type: 'client_credentials' }) });

  before(async () => {
    t = await startTestServer({ inject: true, clock, config: { realms: [{ name: 'default' }] } });
    bearer = await adminToken(t.app, t.server, await createAdminClient(t.server));
    secret = (await t.server.createClient('default', { client_id: 'svc', scope: 'read', token_endpoint_auth_method: 'client_secret_basic' })).client_secret!;
    await t.server.createClient('default', { client_id: 'other', scope: 'read', token_endpoint_auth_method: 'client_secret_basic' });
  });
  after(async () => t.close());

  it('counts tokens issued and refusals per minute, for the realm and for one client', async () => {
    assert.equal((await token('svc', secret)).statusCode, 200);
    assert.equal((await token('svc', secret)).statusCode, 200);
    assert.equal((await token('svc', 'wrong')).statusCode, 401);
    clock.advance(60_000);
    assert.equal((await token('svc', 'wrong')).statusCode, 401);
    assert.equal((await token('other', 'wrong')).statusCode, 401);

    const realm = await call('/realms/default/activity?minutes=5');
    assert.equal(realm.statusCode, 200, realm.body);
    const r = realm.json();
    assert.equal(r.step_seconds, 60);
    assert.equal(r.from, Math.floor(clock.now() / 60_000) * 60 - 4 * 60);
    assert.deepEqual(r.issued, [0, 0, 0, 2, 0]);
    assert.deepEqual(r.failures, [0, 0, 0, 1, 2]);
    assert.equal(r.client_id, null);

    const one = (await call('/realms/default/activity?client_id=svc&minutes=2')).json();
    assert.deepEqual([one.issued, one.failures, one.client_id], [[2, 0], [1, 1], 'svc']);
    const none = (await call('/realms/default/activity?client_id=nobody')).json();
    assert.equal(none.issued.length, 30, 'default window: 30 minutes');
    assert.ok(none.issued.every((n: number) => n === 0) && none.failures.every((n: number) => n === 0));
  });

  it('a refusal naming a client id that does not exist counts in the realm only: invented ids get no series of their own', async () => {
    const before = (await call('/realms/default/activity?minutes=1')).json().failures[0];
    assert.equal((await token('ghost-1', 'x')).statusCode, 401);
    assert.equal((await call('/realms/default/activity?minutes=1')).json().failures[0], before + 1);
    assert.deepEqual((await call('/realms/default/activity?client_id=ghost-1&minutes=1')).json().failures, [0]);
  });

  it('validates the query and the realm (problem documents)', async () => {
    assert.equal((await call('/realms/default/activity?minutes=61')).statusCode, 400);
    assert.equal((await call('/realms/default/activity?minutes=0')).statusCode, 400);
    assert.equal((await call('/realms/default/activity?bogus=1')).statusCode, 400);
    assert.equal((await call('/realms/nope/activity')).statusCode, 404);
    const anon = await t.app.inject({ method: 'GET', url: '/admin/v1/realms/default/activity' });
    assert.equal(anon.statusCode, 401);
  });

  it('failures: a time window (since/until, seconds) narrows the aggregates', async () => {
    const nowS = Math.floor(clock.now() / 1000);
    const all = (await call('/realms/default/failures')).json().failures;
    assert.ok(all.length >= 2);
    const recent = await call(`/realms/default/failures?since=${nowS - 5}`);
    assert.equal(recent.statusCode, 200, recent.body);
    assert.ok(recent.json().failures.length >= 1);
    assert.ok(recent.json().failures.every((f: { last_seen: number }) => f.last_seen >= nowS - 5));
    const before = (await call(`/realms/default/failures?until=${nowS - 120}`)).json().failures;
    assert.deepEqual(before, []);
    assert.equal((await call('/realms/default/failures?since=yesterday')).statusCode, 400);
  });

  it('the counter keeps at most maxClients client series (a flood of made-up ids cannot grow it)', async () => {
    const c = new ActivityCounter(() => 0, 2);
    for (const id of ['a', 'b', 'c', 'd']) c.failed('r', id);
    assert.deepEqual((await c.view('r', undefined, 1)).failures, [4]);
    assert.deepEqual((await c.view('r', 'b', 1)).failures, [1]);
    assert.deepEqual((await c.view('r', 'c', 1)).failures, [0]);
  });
  it('GET /realms/{realm}/jwks is the JWK Set the realm publishes, with the rotation settings', async () => {
    const res = await call('/realms/default/jwks');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    const published = await t.app.inject({ method: 'GET', url: new URL(body.jwks_uri).pathname });
    assert.equal(published.statusCode, 200);
    assert.deepEqual(body.jwks, published.json());
    assert.ok(body.jwks.keys.length >= 1);
    assert.ok(body.jwks.keys.every((k: Record<string, unknown>) => !('d' in k)), 'public keys only');
    assert.equal(body.rotate_every_seconds, null);
    assert.equal(typeof body.pre_publish_seconds, 'number');
    assert.equal((await call('/realms/nope/jwks')).statusCode, 404);
  });
});
