/**
 * `tessera import --from keycloak realm-export.json`, with a realm export written in Keycloak's
 * format: the confidential service-account clients come in (secret, client-secret-jwt, Signed JWT
 * with a JWKS URL, Signed JWT with a certificate) and each then gets a token with the credentials
 * it had in Keycloak; what cannot be mapped is printed. Once through the real CLI, once in process.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../../../../test/fixtures/server.ts';
import { basic, form, generateTestKey, JWT_BEARER, signAssertion, type TestKey } from '../../../../test/fixtures/assertions.ts';
import { importKeycloak } from './import-keycloak.ts';
import { planKeycloakImport } from '../core/import/keycloak.ts';

const BIN = new URL('../../bin/tessera.mjs', import.meta.url).pathname;
const HS_SECRET = 'kc-jwt-secret-'.padEnd(64, 'x');
let dir: string;
let cert: { der: string; privateKey: KeyObject };
let remote: TestKey;
let jwksServer: Server;
let jwksUrl: string;

/** A Keycloak 2x realm export (the parts Tessera reads, plus the usual noise). */
function realmExport(): Record<string, unknown> {
  const common = { protocol: 'openid-connect', publicClient: false, bearerOnly: false, enabled: true };
  return {
    id: 'f1d3c1a8-0000-4000-8000-000000000001',
    realm: 'acme',
    enabled: true,
    clientScopes: [{ name: 'ledger:read', protocol: 'openid-connect' }, { name: 'ledger:write', protocol: 'openid-connect' }, { name: 'profile', protocol: 'openid-connect' }],
    clients: [
      {
        ...common, id: randomUUID(), clientId: 'billing-svc', name: 'Billing service', clientAuthenticatorType: 'client-secret', secret: 'kc-billing-secret-0123456789', serviceAccountsEnabled: true,
        standardFlowEnabled: false, attributes: { 'access.token.lifespan': '600' },
        defaultClientScopes: ['web-origins', 'acr', 'profile', 'roles', 'email', 'ledger:read'], optionalClientScopes: ['address', 'phone', 'offline_access', 'microprofile-jwt', 'ledger:write'],
        protocolMappers: [{ name: 'tenant', protocol: 'openid-connect', protocolMapper: 'oidc-hardcoded-claim-mapper' }],
      },
      {
        ...common, id: randomUUID(), clientId: 'reports-jwt', clientAuthenticatorType: 'client-secret-jwt', secret: HS_SECRET, serviceAccountsEnabled: true,
        attributes: { 'token.endpoint.auth.signing.alg': 'HS256' }, defaultClientScopes: ['ledger:read'], optionalClientScopes: [],
      },
      {
        ...common, id: randomUUID(), clientId: 'signed-jwks', clientAuthenticatorType: 'client-jwt', serviceAccountsEnabled: true,
        attributes: { 'use.jwks.url': 'true', 'jwks.url': jwksUrl, 'token.endpoint.auth.signing.alg': 'ES256' }, defaultClientScopes: ['ledger:read'], optionalClientScopes: [],
      },
      {
        ...common, id: randomUUID(), clientId: 'signed-cert', clientAuthenticatorType: 'client-jwt', serviceAccountsEnabled: true,
        attributes: { 'use.jwks.url': 'false', 'jwt.credential.certificate': cert.der, 'token.endpoint.auth.signing.alg': 'RS256' }, defaultClientScopes: ['ledger:read'], optionalClientScopes: [],
      },
      { ...common, id: randomUUID(), clientId: 'web-app', clientAuthenticatorType: 'client-secret', secret: 'web-secret-0123456789', serviceAccountsEnabled: false, standardFlowEnabled: true },
      { ...common, id: randomUUID(), clientId: 'spa', publicClient: true, serviceAccountsEnabled: false },
      { ...common, id: randomUUID(), clientId: 'realm-management', bearerOnly: true },
      { ...common, id: randomUUID(), clientId: 'mtls-svc', clientAuthenticatorType: 'client-x509', serviceAccountsEnabled: true, attributes: { 'x509.subjectdn': 'CN=svc' } },
      { ...common, id: randomUUID(), clientId: 'saml-sp', protocol: 'saml' },
    ],
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-kc-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=signed-cert'], { stdio: 'ignore' });
  cert = { der: new X509Certificate(readFileSync(join(dir, 'c.pem'))).raw.toString('base64'), privateKey: createPrivateKey(readFileSync(join(dir, 'k.pem'))) };
  remote = generateTestKey('ES256', 'kc-remote');
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [remote.publicJwk] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/realms/acme/jwks`;
});
after(async () => {
  await new Promise((r) => jwksServer.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('Keycloak realm export → Tessera clients', () => {
  it('plans the service-account clients and says what it leaves out', () => {
    const plan = planKeycloakImport(realmExport());
    assert.equal(plan.sourceRealm, 'acme');
    assert.deepEqual(plan.clients.map((c) => [c.client_id, c.token_endpoint_auth_method]), [
      ['billing-svc', 'client_secret_basic'],
      ['reports-jwt', 'client_secret_jwt'],
      ['signed-jwks', 'private_key_jwt'],
      ['signed-cert', 'private_key_jwt'],
    ]);
    const billing = plan.clients[0]!;
    assert.equal(billing.scope, 'ledger:read ledger:write');
    assert.equal(billing.default_scopes, 'ledger:read');
    assert.equal(billing.access_token_ttl, 600);
    assert.deepEqual(plan.skipped.map((s) => s.client_id), ['web-app', 'spa', 'realm-management', 'mtls-svc', 'saml-sp']);
    assert.match(plan.skipped.find((s) => s.client_id === 'mtls-svc')!.reason, /client-x509 is not supported/);
    assert.ok(plan.notes.some((n) => n.client_id === 'billing-svc' && /built-in scopes left out: .*profile/.test(n.note)));
    assert.ok(plan.notes.some((n) => n.client_id === 'billing-svc' && /protocol mapper/.test(n.note)));
    assert.throws(() => planKeycloakImport({ realm: 'x' }), /no "clients" array/);
  });

  it('imported clients get tokens with the credentials they had in Keycloak', async () => {
    const t: TestServer = await startTestServer({ inject: true, config: { jwks_fetch: { allow: ['127.0.0.1'] } } }); // the Keycloak key set is served on loopback
    try {
      const lines: string[] = [];
      const summary = await importKeycloak(t.server, 'default', realmExport(), () => undefined, (s) => void lines.push(s));
      assert.equal(summary.imported.length, 4);
      assert.ok(lines.some((l) => l.includes('not imported: mtls-svc')));
      assert.ok(!lines.join('').includes('kc-billing-secret'), 'secrets are never printed');
      const token = async (payload: string, headers: Record<string, string> = {}) => {
        const res = await t.app.inject({ method: 'POST', url: '/oauth2/token', payload, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
        return { status: res.statusCode, body: res.json() as Record<string, unknown> };
      };
      const b = await token(form({ grant_type: 'client_credentials' }), { authorization: basic('billing-svc', 'kc-billing-secret-0123456789') });
      assert.equal(b.status, 200, JSON.stringify(b.body));
      assert.equal(b.body.scope, 'ledger:read');
      assert.equal(b.body.expires_in, 600);
      const now = Math.floor(Date.now() / 1000);
      const claims = (id: string) => ({ iss: id, sub: id, aud: `${t.issuer}/oauth2/token`, iat: now, exp: now + 60, jti: randomUUID() });
      const withAssertion = (a: string) => form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: a });
      for (const [id, a] of [
        ['reports-jwt', signAssertion({ alg: 'HS256' }, claims('reports-jwt'), HS_SECRET)],
        ['signed-jwks', signAssertion({ alg: 'ES256', kid: 'kc-remote' }, claims('signed-jwks'), remote.privateKey)],
        ['signed-cert', signAssertion({ alg: 'RS256' }, claims('signed-cert'), cert.privateKey)],
      ] as const) {
        const r = await token(withAssertion(a));
        assert.equal(r.status, 200, `${id}: ${JSON.stringify(r.body)}`);
      }
      // The pinned alg came along: ES256 is refused for the RS256 certificate client.
      const wrongAlg = await token(withAssertion(signAssertion({ alg: 'ES256' }, claims('signed-cert'), remote.privateKey)));
      assert.equal(wrongAlg.status, 401);
    } finally {
      await t.close();
    }
  });

  it('through the CLI: tessera import --from keycloak realm-export.json', async () => {
    const file = join(dir, 'realm-export.json');
    writeFileSync(file, JSON.stringify(realmExport()));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TESSERA_STORAGE_URL: `sqlite:${join(dir, 'data', 'tessera.db')}`, TESSERA_KEK_FILE: join(dir, 'data', 'kek.key'), TESSERA_LOG_LEVEL: 'warn' };
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [BIN, ...args], { env, cwd: dir }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
      });
    const r = await run(['import', '--from', 'keycloak', file]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { imported: { client_id: string }[]; skipped: unknown[] };
    assert.deepEqual(summary.imported.map((c) => c.client_id), ['billing-svc', 'reports-jwt', 'signed-jwks', 'signed-cert']);
    assert.equal(summary.skipped.length, 5);
    assert.match(r.stderr, /not imported: spa: public client/);
    const shown = await run(['clients', 'show', 'signed-cert']);
    assert.equal(shown.code, 0, shown.stderr);
    const client = JSON.parse(shown.stdout) as Record<string, any>;
    assert.equal(client.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(client.token_endpoint_auth_signing_alg, 'RS256');
    assert.equal(client.jwks.keys[0].x5c[0], cert.der);
    const bad = await run(['import', '--from', 'keycloak', join(dir, 'missing.json')]);
    assert.notEqual(bad.code, 0);
  });
});
