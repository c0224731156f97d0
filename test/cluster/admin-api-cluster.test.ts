/**
 * The admin API on a three-instance cluster (PostgreSQL + Redis, one KEK): a change made through
 * one instance's API is visible through another's within a second, optimistic concurrency holds
 * across instances, a failure recorded on one is listed by another, and concurrent admin writes on
 * all three keep one valid audit chain. A console session signed in through one instance works on the
 * others, and sign-out through one ends it on all at once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cliJson, closeAdmin, runCli, dropBackends, killAll, newKek, REDIS_URL, requireServers, runClientId, schemaUrl, sleep, startInstance, tempDir, tokenBasic, uniqueSchema, type Env, type Instance } from './helpers.ts';

const ISSUER = 'https://tessera.admin-cluster.test';
const PROPAGATION_MS = 1000;
const POLL_MS = 50;

after(async () => {
  await killAll();
  await closeAdmin();
});

describe('the admin API on a three-instance cluster', { timeout: 180_000 }, () => {
  const schema = uniqueSchema();
  const id = (name: string) => runClientId(schema, name);
  let env: Env;
  let instances: Instance[] = [];
  let A: Instance, B: Instance, C: Instance;
  let bearer: string;
  const measured: string[] = [];

  const api = async (i: Instance, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${i.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, etag: res.headers.get('etag'), body: text ? JSON.parse(text.split('\n')[0]!) : undefined };
  };
  /** Polls until `check` holds; resolves the time it took. */
  const within = async (what: string, check: () => Promise<boolean>): Promise<number> => {
    const start = Date.now();
    while (!(await check())) {
      assert.ok(Date.now() - start < PROPAGATION_MS, `${what} took more than ${PROPAGATION_MS} ms`);
      await sleep(POLL_MS);
    }
    const ms = Date.now() - start;
    measured.push(`${what} ${ms} ms`);
    return ms;
  };

  before(async () => {
    await requireServers();
    const dir = tempDir();
    env = { TESSERA_STORAGE_URL: schemaUrl(schema), TESSERA_REDIS_URL: REDIS_URL, TESSERA_KEK: newKek(), TESSERA_ISSUER: ISSUER, TESSERA_MANAGEMENT_LISTEN: 'off' };
    const boot = await cliJson<{ client_id: string; client_secret: string }>(['admin', 'bootstrap', '--id', id('ops')], env, dir);
    instances = await Promise.all(['A', 'B', 'C'].map((name) => startInstance({ name, env, cwd: dir })));
    [A, B, C] = instances as [Instance, Instance, Instance];
    const issued = await fetch(`${A.url}/realms/admin/oauth2/token`, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${boot.value.client_id}:${boot.value.client_secret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(issued.status, 200);
    bearer = ((await issued.json()) as { access_token: string }).access_token;
  });

  after(async () => {
    if (measured.length) console.log(`# admin propagation: ${measured.join('; ')}`);
    await Promise.all(instances.map((i) => i.stop()));
    await killAll();
    await dropBackends(schema, [id('svc'), id('ops')]);
  });

  it('a token of the admin realm from A is accepted by B and C', async () => {
    for (const i of [B, C]) assert.equal((await api(i, 'GET', '/realms')).status, 200, i.name);
  });

  let secret: string;
  it('a client created through A is shown by B and C within a second; a change through B reaches C', async () => {
    const created = await api(A, 'POST', '/realms/default/clients', { client_id: id('svc'), client_name: 'one', scope: 'read' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    secret = created.body.client_secret;
    await within('create A→B', async () => (await api(B, 'GET', `/realms/default/clients/${id('svc')}`)).status === 200);
    await within('create A→C', async () => (await api(C, 'GET', `/realms/default/clients/${id('svc')}`)).status === 200);
    const read = await api(B, 'GET', `/realms/default/clients/${id('svc')}`);
    const patched = await api(B, 'PATCH', `/realms/default/clients/${id('svc')}`, { client_name: 'two' }, { 'if-match': read.etag! });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await within('update B→C', async () => (await api(C, 'GET', `/realms/default/clients/${id('svc')}`)).body.client.client_name === 'two');
    // the ETag read before B's change is stale on every instance
    const stale = await api(C, 'PATCH', `/realms/default/clients/${id('svc')}`, { client_name: 'lost' }, { 'if-match': read.etag! });
    assert.equal(stale.status, 412);
  });

  it('a client disabled through C is refused tokens by A within a second', async () => {
    assert.equal((await tokenBasic(A.url, id('svc'), secret)).status, 200);
    assert.equal((await api(C, 'POST', `/realms/default/clients/${id('svc')}/disable`)).status, 200);
    await within('disable C→A', async () => (await tokenBasic(A.url, id('svc'), secret)).status === 401);
    assert.equal((await api(A, 'POST', `/realms/default/clients/${id('svc')}/enable`)).status, 200);
  });

  it('a failure recorded on A is listed through B', async () => {
    assert.equal((await tokenBasic(A.url, id('svc'), 'not-the-secret')).status, 401);
    const start = Date.now();
    let found: { reason: string; count: number } | undefined;
    while (!found && Date.now() - start < 5000) {
      const res = await api(B, 'GET', `/realms/default/failures?client_id=${id('svc')}`);
      found = (res.body.failures as Array<{ error: string; reason: string; count: number }>).find((f) => f.error === 'invalid_client');
      if (!found) await sleep(100);
    }
    assert.ok(found, 'the failure reached storage and B lists it');
  });

  it('a realm created through A serves tokens on B and C within a second; deleted through B, A and C refuse within a second', async () => {
    const realmToken = (i: Instance, clientId: string, clientSecret: string) =>
      fetch(`${i.url}/realms/runtime1/oauth2/token`, {
        method: 'POST',
        headers: { authorization: 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      }).then((r) => r.status);
    const created = await api(A, 'POST', '/realms', { name: 'runtime1', tokens: { ttl: 120 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.issuer, `${ISSUER}/realms/runtime1`);
    const client = await api(A, 'POST', '/realms/runtime1/clients', { client_id: id('rt'), scope: 'read' });
    assert.equal(client.status, 201, JSON.stringify(client.body));
    const s = client.body.client_secret as string;
    assert.equal(await realmToken(A, id('rt'), s), 200);
    await within('realm create A→B', async () => (await realmToken(B, id('rt'), s)) === 200);
    await within('realm create A→C', async () => (await realmToken(C, id('rt'), s)) === 200);
    const kids = async (i: Instance) => ((await (await fetch(`${i.url}/realms/runtime1/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).join();
    assert.equal(await kids(C), await kids(A), 'one set of signing keys for the realm');
    assert.equal((await api(C, 'GET', '/realms/runtime1')).body.source, 'runtime');

    assert.equal((await api(B, 'DELETE', '/realms/runtime1')).status, 204);
    assert.equal(await realmToken(B, id('rt'), s), 404);
    await within('realm delete B→A', async () => (await realmToken(A, id('rt'), s)) === 404);
    await within('realm delete B→C', async () => (await realmToken(C, id('rt'), s)) === 404);
    assert.equal((await api(A, 'DELETE', '/realms/default')).status, 409);
  });

  it('a console session signed in through A works on B and C (CSRF still required); signed out through B, A and C refuse it at once', async () => {
    const login = await runCli(['console', 'login', '--user', 'lb@example.com', '--base-url', A.url], env);
    assert.equal(login.code, 0, login.stderr);
    const token = new URL(login.stdout.trim()).hash.slice(1);
    const signIn = await fetch(`${A.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    assert.equal(signIn.status, 201);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { csrf } = (await signIn.json()) as { csrf: string };
    const session = async (i: Instance) => (await fetch(`${i.url}/console/api/session`, { headers: { cookie } })).status;
    for (const i of [B, C]) assert.equal(await session(i), 200, i.name);
    // the one-time link was consumed on A: refused on B
    assert.equal((await fetch(`${B.url}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })).status, 401);
    const clients = (i: Instance) => fetch(`${i.url}/console/api/admin/realms/default/clients`, { headers: { cookie } });
    assert.equal((await clients(C)).status, 200);
    const disable = (i: Instance, headers: Record<string, string>) => fetch(`${i.url}/console/api/admin/realms/default/clients/${id('svc')}/disable`, { method: 'POST', headers: { cookie, ...headers } });
    assert.equal((await disable(C, {})).status, 403, 'a change without the CSRF token');
    assert.equal((await fetch(`${B.url}/console/api/session`, { method: 'DELETE', headers: { cookie } })).status, 403, 'sign-out without the CSRF token');
    const out = await fetch(`${B.url}/console/api/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(out.status, 204);
    for (const i of [A, C]) {
      assert.equal(await session(i), 401, i.name);
      assert.equal((await clients(i)).status, 401, i.name);
      assert.equal((await disable(i, { 'x-csrf-token': csrf })).status, 401, i.name);
    }
  });

  it('concurrent admin writes through all three instances keep one valid audit chain', async () => {
    const writes = [A, B, C].flatMap((i) => Array.from({ length: 4 }, (_, n) => api(i, 'POST', '/realms/default/clients', { client_id: id(`c${i.name}${n}`) })));
    const results = await Promise.all(writes);
    assert.deepEqual(results.map((r) => r.status), results.map(() => 201));
    const verify = await api(B, 'GET', '/audit/verify');
    assert.equal(verify.status, 200);
    assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
    const events = await api(C, 'GET', `/audit?realm=default&type=client.created`);
    assert.ok(events.body.events.length >= 13, String(events.body.events.length));
  });
});
