/** RFC 8414 metadata, the JWKS, health endpoints, and the drift checks between registries and docs. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from '../../../../test/fixtures/server.ts';
import { CLIENT_AUTH_METHODS } from '../core/client-auth/index.ts';
import { GRANTS } from '../core/grants/index.ts';
import { OAUTH_ERROR_CLASSES } from '../core/errors/index.ts';

let t: TestServer;
before(async () => {
  t = await startTestServer({ inject: true, config: { realms: [{ name: 'acme', tokens: { signing_alg: 'EdDSA' } }] } });
});
after(() => t.close());

const get = async (url: string) => {
  const res = await t.app.inject({ method: 'GET', url });
  return { status: res.statusCode, headers: res.headers, body: res.json() };
};

describe('metadata', () => {
  it('serves RFC 8414 metadata computed from the registries', async () => {
    const res = await get('/.well-known/oauth-authorization-server');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const m = res.body;
    assert.equal(m.issuer, t.issuer);
    assert.equal(m.token_endpoint, `${t.issuer}/oauth2/token`);
    assert.equal(m.jwks_uri, `${t.issuer}/jwks`);
    assert.equal(m.introspection_endpoint, `${t.issuer}/oauth2/introspect`);
    assert.equal(m.revocation_endpoint, `${t.issuer}/oauth2/revoke`);
    assert.deepEqual(m.grant_types_supported, GRANTS.map((g) => g.grantType));
    assert.deepEqual(m.token_endpoint_auth_methods_supported, CLIENT_AUTH_METHODS.map((x) => x.name));
    assert.deepEqual(m.introspection_endpoint_auth_methods_supported, m.token_endpoint_auth_methods_supported);
    assert.deepEqual(m.revocation_endpoint_auth_methods_supported, m.token_endpoint_auth_methods_supported);
    for (const k of ['token_endpoint_auth_signing_alg_values_supported', 'introspection_endpoint_auth_signing_alg_values_supported', 'revocation_endpoint_auth_signing_alg_values_supported']) {
      assert.ok(m[k].includes('RS256') && m[k].includes('ES256') && m[k].includes('HS256'));
      assert.ok(!m[k].includes('none'));
    }
    for (const [k, v] of Object.entries(m)) if (Array.isArray(v)) assert.ok(v.length > 0, `${k} must be omitted when empty`);
    assert.equal(m.response_types_supported, undefined);
  });
  it('serves the openid-configuration alias', async () => {
    const a = await get('/.well-known/openid-configuration');
    const b = await get('/.well-known/oauth-authorization-server');
    assert.deepEqual(a.body, b.body);
  });
  it('serves a realm at the RFC 8414 path-inserted location and the appended one', async () => {
    const inserted = await get('/.well-known/oauth-authorization-server/realms/acme');
    assert.equal(inserted.status, 200);
    assert.equal(inserted.body.issuer, `${t.issuer}/realms/acme`);
    assert.equal(inserted.body.token_endpoint, `${t.issuer}/realms/acme/oauth2/token`);
    assert.deepEqual((await get('/realms/acme/.well-known/openid-configuration')).body, inserted.body);
    assert.equal((await get('/.well-known/oauth-authorization-server/realms/nope')).status, 404);
    assert.equal((await get('/.well-known/oauth-authorization-server/realms/default')).status, 404);
  });
});

describe('jwks', () => {
  it('publishes public keys only, with kid, alg and use', async () => {
    const res = await get('/jwks');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/jwk-set\+json/);
    assert.equal(res.body.keys.length, 1);
    const [k] = res.body.keys;
    assert.equal(k.kty, 'EC');
    assert.equal(k.alg, 'ES256');
    assert.equal(k.use, 'sig');
    assert.equal(typeof k.kid, 'string');
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(k[priv], undefined);
  });
  it('each realm has its own keys', async () => {
    const acme = await get('/realms/acme/jwks');
    assert.equal(acme.body.keys[0].kty, 'OKP');
    assert.equal(acme.body.keys[0].alg, 'EdDSA');
    assert.notEqual(acme.body.keys[0].kid, (await get('/jwks')).body.keys[0].kid);
  });
});

describe('health', () => {
  it('healthz and readyz answer', async () => {
    assert.deepEqual((await get('/healthz')).body, { status: 'ok' });
    assert.deepEqual((await get('/readyz')).body, { status: 'ready' });
  });
  it('readyz is 503 when storage does not answer', async () => {
    const ping = t.storage.ping;
    t.storage.ping = async () => {
      throw new Error('down');
    };
    try {
      const res = await get('/readyz');
      assert.equal(res.status, 503);
    } finally {
      t.storage.ping = ping;
    }
  });
});

describe('drift', () => {
  it('every OAuth error code is documented in docs/errors.md', () => {
    const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
    for (const C of OAUTH_ERROR_CLASSES) {
      const code = new (C as new (d: string) => { error: string })('x').error;
      assert.ok(doc.includes(`\`${code}\``), `${code} missing from docs/errors.md`);
    }
  });
  it('the server package.json exports point at existing files', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    // Each export is a target or a map of conditions (types, default) to targets: check every target.
    const targets = (node: unknown): string[] => (typeof node === 'string' ? [node] : Object.values(node as object).flatMap(targets));
    for (const [name, entry] of Object.entries(pkg.exports as Record<string, unknown>)) {
      for (const target of targets(entry)) {
        assert.doesNotThrow(() => readFileSync(new URL(`../../${target}`, import.meta.url)), `export ${name} → ${target}`);
      }
    }
  });
});
