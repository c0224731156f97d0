/**
 * Realm profiles (issue 11): for each profile, the request the vendor document prints
 * (/work/shared/seeds: ForgeRock Open Banking, ForgeRock Identity Cloud, Jack Henry, Oracle), sent
 * as printed — with curl where the document prints a curl command — gets a token, and the
 * documented constraints refuse what they should. FAPI 2.0 and the standard profile follow.
 * Private reason codes are read from the server's thrown error (they are not on the wire).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { basic, form, generateTestKey, JWT_BEARER, signAssertion, type TestKey } from '../fixtures/assertions.ts';
import type { OAuthError } from '../../packages/server/src/core/errors/index.ts';
import type { Jwk } from '../../packages/server/src/core/ports/index.ts';

const run = promisify(execFile);
const now = () => Math.floor(Date.now() / 1000);

interface Answer {
  status: number;
  json: Record<string, any>;
}

/** Runs curl (never through a shell or a proxy) and returns status and JSON body. */
async function curl(args: string[]): Promise<Answer> {
  const { stdout } = await run('curl', ['-s', '-S', '--noproxy', '*', '-w', '\n%{http_code}', ...args], { timeout: 20_000 });
  const cut = stdout.lastIndexOf('\n');
  const body = stdout.slice(0, cut);
  return { status: Number(stdout.slice(cut + 1)), json: body ? (JSON.parse(body) as Record<string, any>) : {} };
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

/** An RSA key with a self-signed certificate (made with the openssl command line), JWK with x5c. */
function certifiedRsaKey(): TestKey & { x5t: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-oracle-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=oracle-client'], { stdio: 'ignore' });
    const cert = new X509Certificate(readFileSync(join(dir, 'c.pem')));
    const jwk = { ...(cert.publicKey.export({ format: 'jwk' }) as Jwk), use: 'sig', x5c: [cert.raw.toString('base64')] };
    return { alg: 'RS256', kid: '', privateKey: createPrivateKey(readFileSync(join(dir, 'k.pem'))), publicJwk: jwk, x5t: createHash('sha1').update(cert.raw).digest('base64url') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let t: TestServer;
const caught: { err?: OAuthError | undefined } = {};
const resetCaught = () => {
  caught.err = undefined;
};

// ForgeRock Open Banking's identifiers, as printed.
const OB_CLIENT = '5b8cca85-1870-4536-a016-4f26bbeae742';
const OB_KID = '5acdaffc-22e5-4bc2-8088-dca3e9210daf';
let obKey: TestKey, obRsaKey: TestKey, jhKey: TestKey, jhEs384: TestKey, fapiKey: TestKey, fapiEd: TestKey, fapiRs: TestKey, stdEd: TestKey;
let oracleKey: TestKey & { x5t: string };

before(async () => {
  await run('curl', ['--version']).catch((err: Error) => assert.fail(`curl is required by these tests: ${err.message}`));
  obKey = generateTestKey('ES256', OB_KID);
  obRsaKey = generateTestKey('RS256', '8h_w0rFrMqyJnNy2aQT1BDk8jeU');
  jhKey = generateTestKey('PS256', 'jh-1');
  jhEs384 = generateTestKey('ES384', 'jh-384');
  fapiKey = generateTestKey('PS256', 'fapi-1');
  fapiEd = generateTestKey('EdDSA', 'fapi-ed');
  fapiRs = generateTestKey('RS256', 'fapi-rs');
  stdEd = generateTestKey('EdDSA', 'std-ed');
  oracleKey = certifiedRsaKey();
  t = await startTestServer({
    config: {
      clients: [
        { client_id: 'std-ed', jwks: { keys: [stdEd.publicJwk] }, token_endpoint_auth_signing_alg: 'EdDSA', scope: 'read' },
        { client_id: 'std-basic', client_secret: 'std-basic-secret', scope: 'read' },
      ],
      realms: [
        {
          name: 'ob',
          profile: 'forgerock-openbanking',
          clients: [{ client_id: OB_CLIENT, jwks: { keys: [obKey.publicJwk, obRsaKey.publicJwk] }, scope: 'openid accounts payments' }],
        },
        { name: 'alpha', profile: 'forgerock-identity-cloud', clients: [{ client_id: 'myClient', client_secret: 'forgerock', scope: 'write', may_introspect: true }] },
        {
          name: 'jh',
          profile: 'jack-henry',
          clients: [
            { client_id: 'YOUR_CLIENT_ID', jwks: { keys: [jhKey.publicJwk, jhEs384.publicJwk] }, scope: 'openid full admin:read' },
            { client_id: 'jh-basic', client_secret: 'jh-basic-secret', scope: 'admin:read' },
          ],
        },
        {
          name: 'oracle',
          profile: 'oracle',
          clients: [{ client_id: 'oracle-client', jwks: { keys: [oracleKey.publicJwk] }, allow_basic_with_assertion: true, client_secret: 'oracle-secret-value', scope: 'urn:opc:resource:consumer::all' }],
        },
        {
          name: 'fapi',
          profile: 'fapi2',
          clients: [
            { client_id: 'fapi-client', jwks: { keys: [fapiKey.publicJwk, fapiEd.publicJwk, fapiRs.publicJwk] }, scope: 'accounts' },
            { client_id: 'fapi-basic', client_secret: 'fapi-basic-secret', scope: 'accounts' },
          ],
        },
        {
          name: 'catalogue',
          scopes: [{ name: 'ledger:read', description: 'Read the ledger' }, { name: 'ledger:write' }],
          clients: [{ client_id: 'ledger', client_secret: 'ledger-secret', scope: 'ledger:read' }],
        },
        { name: 'plain', clients: [{ client_id: 'myClient', client_secret: 'forgerock', scope: 'write' }] },
      ],
    },
  });
  const token = t.server.token.bind(t.server);
  t.server.token = async (req) => {
    try {
      return await token(req);
    } catch (err) {
      caught.err = err as OAuthError;
      throw err;
    }
  };
});
after(async () => {
  await t?.close();
});

function assertRefused(r: Answer, reason: string, status = 401, error = 'invalid_client') {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error, error);
  assert.equal(r.json.access_token, undefined);
  assert.equal(caught.err?.reason, reason, JSON.stringify(caught.err?.facts));
}

describe('profile forgerock-openbanking', () => {
  const issuer = () => `${t.issuer}/realms/ob`;
  const obCurl = (assertion: string) =>
    curl([
      '-X', 'POST', `${issuer()}/oauth2/token`,
      '-H', 'Cache-Control: no-cache',
      '-H', 'Content-Type: application/x-www-form-urlencoded',
      '-d', `grant_type=client_credentials&scope=openid%20accounts%20payments&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=${assertion}`,
    ]);

  it("the document's curl request: ES256 assertion with only sub, aud, iss and exp (no jti, no iat) gets a token", async () => {
    const assertion = signAssertion({ kid: OB_KID, alg: 'ES256' }, { sub: OB_CLIENT, aud: issuer(), iss: OB_CLIENT, exp: now() + 120 }, obKey.privateKey);
    const r = await obCurl(assertion);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.scope, 'openid accounts payments');
    // A jti-less assertion is still single-use: the replay key is the SHA-256 of the whole assertion.
    resetCaught();
    assertRefused(await obCurl(assertion), 'assertion_replayed');
    assert.equal(caught.err?.description, 'client_assertion has already been used');
  });

  it('the first example: RS256, iat and jti, 599 s between iat and exp, is accepted', async () => {
    const iat = now();
    const assertion = signAssertion({ kid: obRsaKey.kid, alg: 'RS256' }, { sub: OB_CLIENT, aud: issuer(), iss: OB_CLIENT, exp: iat + 599, iat, jti: randomUUID() }, obRsaKey.privateKey);
    const r = await obCurl(assertion);
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('aud must be the issuer (not the token endpoint URL)', async () => {
    resetCaught();
    const assertion = signAssertion({ kid: OB_KID, alg: 'ES256' }, { sub: OB_CLIENT, aud: `${issuer()}/oauth2/token`, iss: OB_CLIENT, exp: now() + 120 }, obKey.privateKey);
    assertRefused(await obCurl(assertion), 'aud_mismatch');
  });
});

describe('profile forgerock-identity-cloud', () => {
  it("the document's curl request on the AM-style path gets a token", async () => {
    const r = await curl(['--request', 'POST', '--user', 'myClient:forgerock', '--data', 'grant_type=client_credentials', '--data', 'scope=write', `${t.url}/am/oauth2/realms/root/realms/alpha/access_token`]);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.scope, 'write');
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(typeof r.json.access_token, 'string');
    // Introspection and revocation on their AM paths (with and without the /am prefix).
    const auth = { authorization: basic('myClient', 'forgerock') };
    const active = await post(`${t.url}/oauth2/realms/root/realms/alpha/introspect`, form({ token: r.json.access_token }), auth);
    assert.equal(active.json.active, true);
    assert.equal(active.json.iss, `${t.issuer}/realms/alpha`);
    const revoked = await post(`${t.url}/am/oauth2/realms/root/realms/alpha/token/revoke`, form({ token: r.json.access_token }), auth);
    assert.equal(revoked.status, 200);
    const after = await post(`${t.url}/oauth2/realms/root/realms/alpha/introspect`, form({ token: r.json.access_token }), auth);
    assert.deepEqual(after.json, { active: false });
  });

  it('the key set and the discovery document answer on the AM paths', async () => {
    const jwks = await fetch(`${t.url}/am/oauth2/realms/root/realms/alpha/connect/jwk_uri`);
    assert.equal(jwks.status, 200);
    const real = await (await fetch(`${t.issuer}/realms/alpha/jwks`)).json();
    assert.deepEqual(await jwks.json(), real);
    const disco = await fetch(`${t.url}/oauth2/realms/root/realms/alpha/.well-known/openid-configuration`);
    assert.equal(disco.status, 200);
    const doc = (await disco.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, `${t.issuer}/realms/alpha`);
    assert.equal(doc.token_endpoint, `${t.issuer}/realms/alpha/oauth2/token`);
  });

  it('a wrong secret is refused; a realm without the profile has no AM paths', async () => {
    resetCaught();
    const wrong = await curl(['--request', 'POST', '--user', 'myClient:wrong', '--data', 'grant_type=client_credentials', '--data', 'scope=write', `${t.url}/am/oauth2/realms/root/realms/alpha/access_token`]);
    assertRefused(wrong, 'secret_mismatch');
    assert.equal(wrong.json.error_description, 'client authentication failed');
    const plain = await curl(['--request', 'POST', '--user', 'myClient:forgerock', '--data', 'grant_type=client_credentials', `${t.url}/am/oauth2/realms/root/realms/plain/access_token`]);
    assert.equal(plain.status, 404);
    const root = await curl(['--request', 'POST', '--user', 'std-basic:std-basic-secret', '--data', 'grant_type=client_credentials', `${t.url}/oauth2/realms/root/access_token`]);
    assert.equal(root.status, 404);
  });
});

describe('profile jack-henry', () => {
  const issuer = () => `${t.issuer}/realms/jh`;
  const tokenEndpoint = () => `${issuer()}/oauth2/token`;
  /** The document's claims: jti, aud (the exact token endpoint URL), sub, iss, exp (≤ 300 s). */
  const jhAssertion = (claims: Record<string, unknown> = {}, key: TestKey = jhKey) =>
    signAssertion({ alg: key.alg, kid: key.kid }, { jti: randomUUID(), aud: tokenEndpoint(), sub: 'YOUR_CLIENT_ID', iss: 'YOUR_CLIENT_ID', exp: now() + 300, ...claims }, key.privateKey);
  const jhCurl = (assertion: string, scope = 'admin:read') =>
    curl(['-X', 'POST', tokenEndpoint(), '-H', 'Content-Type: application/x-www-form-urlencoded', '-d', `grant_type=client_credentials&client_id=YOUR_CLIENT_ID&client_assertion=${assertion}&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&scope=${scope}`]);

  it("the document's curl request gets a token that lives 600 s", async () => {
    const r = await jhCurl(jhAssertion());
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.expires_in, 600);
    assert.equal(r.json.token_type, 'Bearer');
  });

  it('the Banno example body (scope=openid full) gets a token', async () => {
    const body = `grant_type=client_credentials\n&client_id=YOUR_CLIENT_ID\n&client_assertion=${jhAssertion()}\n&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer\n&scope=openid full`.replace(/\n/g, '');
    const r = await post(tokenEndpoint(), body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.scope, 'openid full');
  });

  it('a 900 s assertion is refused (exp - iat at most 300 s), with or without iat', async () => {
    resetCaught();
    const iat = now();
    assertRefused(await jhCurl(jhAssertion({ iat, exp: iat + 900 })), 'lifetime_exceeded');
    resetCaught();
    assertRefused(await jhCurl(jhAssertion({ exp: now() + 900 })), 'exp_too_far');
  });

  it('aud must be the exact token endpoint URL; only ES256, PS256, RS256; only private_key_jwt', async () => {
    resetCaught();
    assertRefused(await jhCurl(jhAssertion({ aud: issuer() })), 'aud_mismatch');
    resetCaught();
    assertRefused(await jhCurl(jhAssertion({}, jhEs384)), 'alg_not_allowed');
    resetCaught();
    const basicOnly = await post(tokenEndpoint(), form({ grant_type: 'client_credentials', scope: 'admin:read' }), { authorization: basic('jh-basic', 'jh-basic-secret') });
    assertRefused(basicOnly, 'method_not_allowed');
    const meta = (await (await fetch(`${t.url}/.well-known/oauth-authorization-server/realms/jh`)).json()) as Record<string, unknown>;
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    assert.deepEqual(meta.token_endpoint_auth_signing_alg_values_supported, ['RS256', 'PS256', 'ES256']);
  });
});

describe('profile oracle', () => {
  const issuer = () => `${t.issuer}/realms/oracle`;
  const tokenEndpoint = () => `${issuer()}/oauth2/token`;
  /** The header and claims the document lists (the tenant claim's name is blank there: oracle.oauth.tenant). */
  const oracleAssertion = (claims: Record<string, unknown> = {}, key: TestKey = oracleKey) => {
    const iat = now();
    return signAssertion(
      { alg: 'RS256', typ: 'JWT', x5t: oracleKey.x5t },
      { exp: iat + 300, sub: 'oracle-client', aud: [issuer()], iss: 'oracle-client', 'oracle.oauth.sub.id_type': 'ClientID', prn: 'oracle-client', jti: randomUUID(), iat, 'oracle.oauth.tenant': 'tenantname', 'oracle.oauth.prn.id_type': 'ClientID', ...claims },
      key.privateKey,
    );
  };
  const body = (assertion?: string) => form({ grant_type: 'client_credentials', scope: 'urn:opc:resource:consumer::all', ...(assertion ? { client_assertion_type: JWT_BEARER, client_assertion: assertion } : {}) });

  it('the Basic header and a client assertion (x5t, aud array, prn) get a token', async () => {
    const r = await post(tokenEndpoint(), body(oracleAssertion()), { authorization: basic('oracle-client', 'oracle-secret-value') });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('the Basic header alone ("optionally a client assertion") gets a token', async () => {
    const r = await post(tokenEndpoint(), body(), { authorization: basic('oracle-client', 'oracle-secret-value') });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('a wrong Basic secret with a valid assertion is refused; so are prn ≠ sub and a forged assertion', async () => {
    resetCaught();
    assertRefused(await post(tokenEndpoint(), body(oracleAssertion()), { authorization: basic('oracle-client', 'wrong-secret') }), 'secret_mismatch');
    resetCaught();
    assertRefused(await post(tokenEndpoint(), body(oracleAssertion({ prn: 'someone-else' })), { authorization: basic('oracle-client', 'oracle-secret-value') }), 'prn_mismatch');
    resetCaught();
    assertRefused(await post(tokenEndpoint(), body(oracleAssertion({}, generateTestKey('RS256'))), { authorization: basic('oracle-client', 'oracle-secret-value') }), 'signature_invalid');
  });
});

describe('profile fapi2', () => {
  const issuer = () => `${t.issuer}/realms/fapi`;
  const tokenEndpoint = () => `${issuer()}/oauth2/token`;
  const claims = (o: Record<string, unknown> = {}) => ({ iss: 'fapi-client', sub: 'fapi-client', aud: issuer(), iat: now(), exp: now() + 60, jti: randomUUID(), ...o });
  const send = (assertion: string) => post(tokenEndpoint(), form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion }));

  it('PS256, EdDSA and Ed25519 with aud = the issuer get a token', async () => {
    for (const [alg, key] of [['PS256', fapiKey], ['EdDSA', fapiEd], ['Ed25519', fapiEd]] as const) {
      const r = await send(signAssertion({ alg, kid: key.kid, typ: 'client-authentication+jwt' }, claims(), key.privateKey));
      assert.equal(r.status, 200, `${alg}: ${JSON.stringify(r.json)}`);
    }
  });

  it('refuses aud = the token endpoint, aud as an array, RS256, a foreign typ and client_secret_basic', async () => {
    resetCaught();
    assertRefused(await send(signAssertion({ alg: 'PS256', kid: fapiKey.kid }, claims({ aud: tokenEndpoint() }), fapiKey.privateKey)), 'aud_mismatch');
    resetCaught();
    assertRefused(await send(signAssertion({ alg: 'PS256', kid: fapiKey.kid }, claims({ aud: [issuer()] }), fapiKey.privateKey)), 'aud_not_string');
    resetCaught();
    assertRefused(await send(signAssertion({ alg: 'RS256', kid: fapiRs.kid }, claims(), fapiRs.privateKey)), 'alg_not_allowed');
    resetCaught();
    assertRefused(await send(signAssertion({ alg: 'PS256', kid: fapiKey.kid, typ: 'at+jwt' }, claims(), fapiKey.privateKey)), 'typ_invalid');
    resetCaught();
    assertRefused(await post(tokenEndpoint(), form({ grant_type: 'client_credentials' }), { authorization: basic('fapi-basic', 'fapi-basic-secret') }), 'method_not_allowed');
  });
});

describe('profile standard (the default)', () => {
  it('an assertion with exp = iat + 3600 (Authlib) is accepted within max_age of its iat', async () => {
    const iat = now();
    const a = signAssertion({ alg: 'EdDSA', kid: stdEd.kid }, { iss: 'std-ed', sub: 'std-ed', aud: `${t.issuer}/oauth2/token`, iat, exp: iat + 3600, jti: randomUUID() }, stdEd.privateKey);
    const r = await post(`${t.issuer}/oauth2/token`, form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: a }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('alg Ed25519 for a client registered with token_endpoint_auth_signing_alg EdDSA (same algorithm, same key)', async () => {
    const a = signAssertion({ alg: 'Ed25519', kid: stdEd.kid }, { iss: 'std-ed', sub: 'std-ed', aud: t.issuer, iat: now(), exp: now() + 60, jti: randomUUID() }, stdEd.privateKey);
    const r = await post(`${t.issuer}/oauth2/token`, form({ grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: a }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  it('client_id + client_secret and a client_assertion → 400 invalid_request before any lookup, known client or not', async () => {
    for (const id of ['std-ed', 'no-such-client']) {
      resetCaught();
      const a = signAssertion({ alg: 'EdDSA', kid: stdEd.kid }, { iss: 'other', sub: 'other', aud: t.issuer, exp: now() + 60 }, stdEd.privateKey);
      const r = await post(`${t.issuer}/oauth2/token`, form({ grant_type: 'client_credentials', client_id: id, client_secret: 'x', client_assertion_type: JWT_BEARER, client_assertion: a }));
      assertRefused(r, 'multiple_methods', 400, 'invalid_request');
      assert.match(r.json.error_description, /more than one client authentication method/);
    }
  });
});

describe('scope catalogue', () => {
  it('is published as scopes_supported, united with the clients’ scopes', async () => {
    const meta = (await (await fetch(`${t.url}/.well-known/oauth-authorization-server/realms/catalogue`)).json()) as Record<string, unknown>;
    assert.deepEqual(meta.scopes_supported, ['ledger:read', 'ledger:write']);
    const ob = (await (await fetch(`${t.url}/.well-known/oauth-authorization-server/realms/ob`)).json()) as Record<string, unknown>;
    assert.deepEqual(ob.scopes_supported, ['accounts', 'openid', 'payments']);
  });

  it('refuses a client scope outside the catalogue once a catalogue exists; new clients’ scopes are published', async () => {
    await assert.rejects(t.server.createClient('catalogue', { client_id: 'rogue', scope: 'ledger:read admin' }), /scope: admin is not in the realm's scope catalogue/);
    await t.server.createClient('plain', { client_id: 'newcomer', scope: 'reports:read' });
    const meta = (await (await fetch(`${t.url}/.well-known/oauth-authorization-server/realms/plain`)).json()) as Record<string, unknown>;
    assert.deepEqual(meta.scopes_supported, ['reports:read', 'write']);
  });
});
