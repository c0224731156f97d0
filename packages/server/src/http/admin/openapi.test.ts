/**
 * The OpenAPI document against the routes Fastify actually serves (either side missing fails), its
 * validity as OpenAPI 3.1 (a real validator), and a walk of every route with bad input: always a
 * 4xx problem document, never a 500.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestServer, type TestServer } from '../../../../../test/fixtures/server.ts';
import { adminToken, createAdminClient } from '../../../../../test/fixtures/admin.ts';
import { ADMIN_PREFIX, adminPlugin, adminRoutes } from './index.ts';
import { buildOpenApiDocument } from './openapi.ts';

/** "METHOD /path" of every operation of a document. */
function documented(doc: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) for (const m of Object.keys(ops)) out.push(`${m.toUpperCase()} ${path}`);
  return out.sort();
}

/** Differences between served and documented operations (empty when they agree). */
function drift(served: string[], doc: Record<string, unknown>): { undocumented: string[]; unserved: string[] } {
  const d = documented(doc);
  return { undocumented: served.filter((s) => !d.includes(s)), unserved: d.filter((x) => !served.includes(x)) };
}

describe('admin OpenAPI document', () => {
  let t: TestServer;
  let token: string;
  before(async () => {
    t = await startTestServer({ inject: true });
    token = await adminToken(t.app, t.server, await createAdminClient(t.server));
  });
  after(() => t.close());

  it('is served at /admin/v1/openapi.json without a token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/v1/openapi.json' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().openapi, '3.1.0');
    assert.equal(res.json().components.securitySchemes.adminToken.flows.clientCredentials.tokenUrl, `${t.issuer}/realms/admin/oauth2/token`);
  });

  it('names exactly the routes Fastify serves (a missing one on either side fails)', async () => {
    const app = Fastify();
    const served: string[] = [];
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD') served.push(`${m} ${r.url.slice(ADMIN_PREFIX.length).replace(/:([a-z_]+)/g, '{$1}')}`);
    });
    await app.register(adminPlugin, { prefix: ADMIN_PREFIX, server: t.server });
    await app.ready();
    await app.close();
    const doc = (await t.app.inject({ method: 'GET', url: '/admin/v1/openapi.json' })).json();
    assert.ok(served.length >= adminRoutes.length);
    assert.deepEqual(drift(served, doc), { undocumented: [], unserved: [] });
    // the check itself bites: a document without one route, or with an extra one, is caught
    const short = buildOpenApiDocument(adminRoutes.slice(1), t.config);
    assert.equal(drift(served, short).undocumented.length, 1);
    const extra = structuredClone(doc);
    extra.paths['/ghost'] = { get: doc.paths['/realms'].get };
    assert.deepEqual(drift(served, extra).unserved, ['GET /ghost']);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/admin/v1/openapi.json' })).json();
    const result = await new Validator().validate(doc);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    // and the validator is not a rubber stamp
    const broken = structuredClone(doc);
    broken.paths['/realms'].get.responses = 'nope';
    assert.equal((await new Validator().validate(broken)).valid, false);
  });

  it('gives every route bad input a 4xx problem document, never a 500', async () => {
    await t.server.createClient('default', { client_id: 'walk' });
    const kid = (await t.server.listKeys('default'))[0]!.kid;
    const good: Record<string, string> = { realm: 'default', client_id: 'walk', kid };
    const bad: Record<string, string[]> = { realm: ['BAD%20REALM', 'a'.repeat(80), '%00', '-x-'], client_id: ['x'.repeat(300)], kid: ['k'.repeat(300)] };
    const bodies: Array<[string, string]> = [
      ['application/json', '{not json'],
      ['application/json', '[]'],
      ['application/json', '"text"'],
      ['application/json', '{"unknown_member":1}'],
      ['application/json', '{"client_id":5,"scope":[1],"jwks":"x","access_token_ttl":-1,"immediate":"yes"}'],
      ['text/plain', 'hello'],
      ['application/x-www-form-urlencoded', 'a=b'],
      ['application/json', JSON.stringify({ client_name: 'x'.repeat(300 * 1024) })],
    ];
    const failures: string[] = [];
    let checked = 0;
    const check = async (r: (typeof adminRoutes)[number], url: string, init: { payload?: string; contentType?: string }) => {
      const res = await t.app.inject({
        method: r.method,
        url: ADMIN_PREFIX + url,
        headers: { authorization: `Bearer ${token}`, ...(init.contentType ? { 'content-type': init.contentType } : {}) },
        ...(init.payload !== undefined ? { payload: init.payload } : {}),
      });
      checked++;
      const isProblem = /^application\/problem\+json/.test(String(res.headers['content-type']));
      if (res.statusCode < 400 || res.statusCode >= 500 || !isProblem) failures.push(`${r.method} ${url} ${init.contentType ?? ''} ${init.payload?.slice(0, 40) ?? ''} → ${res.statusCode} ${res.body.slice(0, 120)}`);
    };
    const fill = (path: string, over: Record<string, string> = {}) => path.replace(/\{([a-z_]+)\}/g, (_m, k: string) => over[k] ?? good[k]!);
    for (const r of adminRoutes) {
      if (!r.scope) continue;
      const names = Object.keys(r.params.shape);
      for (const name of names) for (const v of bad[name]!) await check(r, fill(r.path, { [name]: v }), {});
      await check(r, fill(r.path) + '?unknown=1', {});
      if ('cursor' in r.query.shape) await check(r, `${fill(r.path)}?cursor=-1`, {}); // not one we issued
      for (const q of Object.keys(r.query.shape)) {
        for (const v of ['', '%00', 'x'.repeat(1000)]) await check(r, `${fill(r.path)}?${q}=${v}`, {});
        await check(r, `${fill(r.path)}?${q}=1&${q}=2`, {});
      }
      if (r.body) for (const [contentType, payload] of bodies) await check(r, fill(r.path), { contentType, payload });
      else if (r.method !== 'GET') await check(r, fill(r.path), { contentType: 'application/json', payload: '{"a":1}' });
      if (r.body?.required) await check(r, fill(r.path), {});
    }
    assert.ok(checked > 100, `only ${checked} requests`);
    assert.deepEqual(failures, []);
  });
});
