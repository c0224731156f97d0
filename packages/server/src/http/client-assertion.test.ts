/**
 * client_secret_jwt and private_key_jwt over HTTP, and the attacks RFC 7523 / RFC 9700 name:
 * every bad assertion gets invalid_client (or invalid_request for a malformed request) and no token.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../../../../test/fixtures/server.ts';
import { assertionClaims, basic, form, generateTestKey, JWT_BEARER, signAssertion, type TestKey } from '../../../../test/fixtures/assertions.ts';
import type { Jwk } from '../core/ports/index.ts';
import type { OAuthError } from '../core/errors/index.ts';
import { AUTH_FAILED } from '../core/client-auth/assertion.ts';

const HS_SECRET = 'h'.repeat(32) + 's'.repeat(32);
let t: TestServer;
let es: TestKey, rs: TestKey, ps: TestKey, ed: TestKey, stranger: TestKey, remote: TestKey, remote2: TestKey, x5tKey: TestKey & { x5t: string; x5tS256: string };
let jwksServer: Server;
let jwksUri: string;
let remoteKeys: Jwk[] = [];
let jwksFetches = 0;
let tokenUrl: string;

async function post(params: Record<string, string | string[]>, headers: Record<string, string> = {}, url = '/oauth2/token') {
  const res = await t.app.inject({ method: 'POST', url, payload: form(params), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

function withAssertion(assertion: string, extra: Record<string, string> = {}) {
  return { grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: assertion, ...extra };
}

/** The last OAuthError the server threw (its private reason code and facts are not on the wire). */
const caught: { err?: OAuthError | undefined } = {};
const resetCaught = () => {
  caught.err = undefined;
};

/**
 * `expected` is a regex for a precise description (after the signature verified), or a reason
 * code: then the public description must be the uniform one (before proof of possession).
 */
async function expectRejected(assertion: string, expected: RegExp | string, extra: Record<string, string> = {}, error = 'invalid_client', reason?: string) {
  resetCaught();
  const res = await post(withAssertion(assertion, extra));
  assert.equal(res.body.access_token, undefined);
  assert.equal(res.body.error, error, JSON.stringify(res.body));
  assert.equal(res.status, error === 'invalid_client' ? 401 : 400);
  if (typeof expected === 'string') {
    assert.equal(res.body.error_description, AUTH_FAILED);
    assert.equal(caught.err?.reason, expected, JSON.stringify(caught.err?.facts));
  } else {
    assert.match(res.body.error_description, expected);
    if (reason) assert.equal(caught.err?.reason, reason);
  }
}

/** A self-signed certificate for an EC key, made with the openssl command line. */
function certifiedKey(): TestKey & { x5t: string; x5tS256: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=oracle-client'], { stdio: 'ignore' });
    const cert = new X509Certificate(readFileSync(join(dir, 'c.pem')));
    const privateKey = createPrivateKey(readFileSync(join(dir, 'k.pem')));
    const der = cert.raw;
    const jwk = { ...(cert.publicKey.export({ format: 'jwk' }) as Jwk), use: 'sig', x5c: [der.toString('base64')] };
    return {
      alg: 'ES256', kid: '', privateKey, publicJwk: jwk,
      x5t: createHash('sha1').update(der).digest('base64url'),
      x5tS256: createHash('sha256').update(der).digest('base64url'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

before(async () => {
  [es, rs, ps, ed, stranger, remote, remote2] = [generateTestKey('ES256', 'es-1'), generateTestKey('RS256', 'rs-1'), generateTestKey('PS256', 'ps-1'), generateTestKey('EdDSA', 'ed-1'), generateTestKey('ES256', 'es-1'), generateTestKey('ES256', 'remote-1'), generateTestKey('ES256', 'remote-2')];
  x5tKey = certifiedKey();
  remoteKeys = [remote.publicJwk];
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
    res.end(JSON.stringify({ keys: remoteKeys }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUri = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
  t = await startTestServer({
    inject: true,
    config: {
      // the key server is on loopback over plain http: allow-listed (SSRF rules, issue 13 item 9)
      jwks_fetch: { cooldown: 3600, allow: ['127.0.0.1'] },
      clients: [
        { client_id: 'pk', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [es.publicJwk, rs.publicJwk, ps.publicJwk, ed.publicJwk] }, scope: 'read' },
        { client_id: 'pk-pinned', jwks: { keys: [es.publicJwk] }, token_endpoint_auth_signing_alg: 'ES256', scope: 'read' },
        { client_id: 'pk-remote', jwks_uri: jwksUri, scope: 'read' },
        { client_id: 'pk-disabled', jwks: { keys: [es.publicJwk] }, scope: 'read', disabled: true },
        { client_id: 'hs', token_endpoint_auth_method: 'client_secret_jwt', client_secret: HS_SECRET, scope: 'read' },
        { client_id: 'oracle', jwks: { keys: [x5tKey.publicJwk] }, allow_basic_with_assertion: true, client_secret: 'oracle-secret', scope: 'read' },
        { client_id: 'basic-only', client_secret: 'basic-secret', scope: 'read' },
      ],
      realms: [
        { name: 'strict', assertions: { audience: 'issuer', require_typ: true }, clients: [{ client_id: 'pk', jwks: { keys: [es.publicJwk] }, scope: 'read' }] },
        { name: 'tep', assertions: { audience: 'token_endpoint', allow_array_audience: true }, clients: [{ client_id: 'pk', jwks: { keys: [es.publicJwk] }, scope: 'read' }] },
      ],
    },
  });
  tokenUrl = `${t.issuer}/oauth2/token`;
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
  await t.close();
  await new Promise((r) => jwksServer.close(r));
});

describe('private_key_jwt', () => {
  for (const key of ['ES256', 'RS256', 'PS256', 'EdDSA'] as const) {
    it(`issues a token for an assertion signed with ${key}, aud = issuer`, async () => {
      const k = { ES256: es, RS256: rs, PS256: ps, EdDSA: ed }[key];
      const res = await post(withAssertion(signAssertion({ alg: key, kid: k.kid, typ: 'JWT' }, assertionClaims('pk', t.issuer), k.privateKey)));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.token_type, 'Bearer');
    });
  }
  it('accepts aud = the token endpoint URL and typ client-authentication+jwt', async () => {
    const res = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1', typ: 'client-authentication+jwt' }, assertionClaims('pk', tokenUrl), es.privateKey)));
    assert.equal(res.status, 200);
  });
  it('finds the single fitting key when there is no kid', async () => {
    const res = await post(withAssertion(signAssertion({ alg: 'EdDSA' }, assertionClaims('pk', t.issuer), ed.privateKey)));
    assert.equal(res.status, 200);
  });
  it('finds a key by x5t and by x5t#S256 (certificate-bearing keys)', async () => {
    for (const h of [{ x5t: x5tKey.x5t }, { 'x5t#S256': x5tKey.x5tS256 }]) {
      const res = await post(withAssertion(signAssertion({ alg: 'ES256', ...h }, assertionClaims('oracle', t.issuer), x5tKey.privateKey)), { authorization: basic('oracle', 'oracle-secret') });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  });
  it('accepts a matching client_id parameter', async () => {
    const res = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer), es.privateKey), { client_id: 'pk' }));
    assert.equal(res.status, 200);
  });
  it('fetches keys from jwks_uri, re-fetches once on an unknown kid, then respects the cooldown', async () => {
    const first = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'remote-1' }, assertionClaims('pk-remote', t.issuer), remote.privateKey)));
    assert.equal(first.status, 200);
    const fetchesAfterFirst = jwksFetches;
    // The client rotates its key: the cached set lacks remote-2, so one re-fetch happens.
    remoteKeys = [remote.publicJwk, remote2.publicJwk];
    const rotated = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'remote-2' }, assertionClaims('pk-remote', t.issuer), remote2.privateKey)));
    assert.equal(rotated.status, 200);
    assert.equal(jwksFetches, fetchesAfterFirst + 1);
    // Unknown kids within the cooldown do not cause more fetches.
    for (let i = 0; i < 3; i++) {
      await expectRejected(signAssertion({ alg: 'ES256', kid: `bogus-${i}` }, assertionClaims('pk-remote', t.issuer), remote.privateKey), 'kid_not_found');
    }
    assert.equal(jwksFetches, fetchesAfterFirst + 1);
  });
});

describe('client_secret_jwt', () => {
  for (const alg of ['HS256', 'HS384', 'HS512']) {
    it(`issues a token for an assertion MACed with ${alg}`, async () => {
      const res = await post(withAssertion(signAssertion({ alg }, assertionClaims('hs', t.issuer), HS_SECRET)));
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });
  }
  it('rejects a MAC made with another secret', async () => {
    await expectRejected(signAssertion({ alg: 'HS256' }, assertionClaims('hs', t.issuer), 'x'.repeat(64)), 'signature_invalid');
  });
});

describe('attacks on client assertions', () => {
  it('alg none (any case) → invalid_client', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.${Buffer.from(JSON.stringify(assertionClaims('pk', t.issuer))).toString('base64url')}.`;
      const res = await post(withAssertion(unsigned));
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'invalid_client');
      assert.equal(res.body.access_token, undefined);
    }
    await expectRejected(signAssertion({ alg: 'none' }, assertionClaims('pk', t.issuer), Buffer.alloc(0)) + 'AAAA', 'alg_none');
  });
  it('HS256 MACed with the client RSA public key (algorithm confusion) → invalid_client', async () => {
    const publicPem = createPublicKey(rs.privateKey).export({ format: 'pem', type: 'spki' });
    await expectRejected(signAssertion({ alg: 'HS256', kid: 'rs-1' }, assertionClaims('pk', t.issuer), publicPem as string), 'method_mismatch');
    await expectRejected(signAssertion({ alg: 'HS256', kid: 'rs-1' }, assertionClaims('pk', t.issuer), JSON.stringify(rs.publicJwk)), 'method_mismatch');
  });
  it('a key the client does not own, under its kid → invalid signature', async () => {
    await expectRejected(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer), stranger.privateKey), 'signature_invalid');
  });
  for (const h of ['jku', 'x5u', 'jwk', 'x5c'] as const) {
    it(`a ${h} header → invalid_client, keys never taken from the assertion`, async () => {
      const value = h === 'jwk' ? stranger.publicJwk : h === 'x5c' ? ['MIIB'] : 'https://attacker.example/keys';
      await expectRejected(signAssertion({ alg: 'ES256', kid: 'es-1', [h]: value }, assertionClaims('pk', t.issuer), stranger.privateKey), 'key_header_refused');
    });
  }
  it('a replayed jti → invalid_client the second time', async () => {
    const a = signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer), es.privateKey);
    assert.equal((await post(withAssertion(a))).status, 200);
    await expectRejected(a, /jti has already been used/, {}, 'invalid_client', 'jti_replayed');
    // The same jti in a new assertion of the same client is a replay too.
    const jti = JSON.parse(Buffer.from(a.split('.')[1]!, 'base64url').toString()).jti;
    await expectRejected(signAssertion({ alg: 'RS256', kid: 'rs-1' }, assertionClaims('pk', t.issuer, { jti }), rs.privateKey), /jti has already been used/);
  });
  it('two concurrent requests with one assertion: exactly one succeeds', async () => {
    for (let round = 0; round < 5; round++) {
      const a = signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer), es.privateKey);
      const results = await Promise.all([post(withAssertion(a)), post(withAssertion(a)), post(withAssertion(a))]);
      assert.equal(results.filter((r) => r.status === 200).length, 1);
      assert.deepEqual(results.filter((r) => r.status !== 200).map((r) => r.body.error), ['invalid_client', 'invalid_client']);
    }
  });
  it('a jti is not spent by an assertion that failed another check', async () => {
    const jti = randomUUID();
    await expectRejected(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', 'https://elsewhere.example', { jti }), es.privateKey), /aud must be/);
    const res = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer, { jti }), es.privateKey)));
    assert.equal(res.status, 200);
  });
  const now = () => Math.floor(Date.now() / 1000);
  const claimCases: Array<[string, Record<string, unknown>, RegExp | string, string?]> = [
    ['expired', { iat: now() - 200, exp: now() - 100 }, /has expired/, 'assertion_expired'],
    ['issued longer ago than max_age (300 s), whatever its exp', { iat: now() - 400, exp: now() + 3600 }, /issued more than 300 seconds ago/, 'assertion_too_old'],
    ['without iat, exp further than max_age', { iat: undefined, exp: now() + 3600 }, /without iat must expire within 300 seconds/, 'exp_too_far'],
    ['iat in the future', { iat: now() + 120, exp: now() + 180 }, /iat is in the future/, 'iat_in_future'],
    ['nbf in the future', { nbf: now() + 120 }, /not yet valid/, 'nbf_in_future'],
    ['no exp', { exp: undefined }, /exp is required/, 'exp_missing'],
    ['exp not a number', { exp: 'tomorrow' }, /exp is not a number/, 'claim_not_number'],
    ['no jti', { jti: undefined }, /jti is required/, 'jti_missing'],
    ['jti with a NUL character', { jti: 'a\u0000b' }, /jti must be well-formed Unicode without NUL/, 'jti_invalid'],
    ['jti with a lone surrogate', { jti: 'a\ud800b' }, /jti must be well-formed Unicode without NUL/, 'jti_invalid'],
    ['wrong aud', { aud: 'https://other-as.example.com' }, /aud must be the issuer or the token endpoint URL/, 'aud_mismatch'],
    ['aud with a trailing slash (exact comparison)', { aud: undefined }, /aud must be/, 'aud_mismatch'],
    ['aud as an array (not allowed by default)', { aud: ['https://x', 'ISSUER'] }, /aud must be a single string/, 'aud_not_string'],
    ['iss different from sub', { iss: 'someone-else' }, 'iss_sub_mismatch'],
    ['no sub', { sub: undefined, iss: 'pk' }, 'sub_missing'],
  ];
  for (const [name, overrides, description, reason] of claimCases) {
    it(`${name} → invalid_client`, async () => {
      const o = { ...overrides };
      if (name.startsWith('aud with a trailing slash')) o.aud = t.issuer + '/';
      if (Array.isArray(o.aud)) o.aud = o.aud.map((a) => (a === 'ISSUER' ? t.issuer : a));
      const claims = assertionClaims('pk', t.issuer, o);
      for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
      await expectRejected(signAssertion({ alg: 'ES256', kid: 'es-1' }, claims, es.privateKey), description, {}, 'invalid_client', reason);
    });
  }
  it('an unknown kid → kid_not_found', async () => {
    await expectRejected(signAssertion({ alg: 'ES256', kid: 'nope' }, assertionClaims('pk', t.issuer), es.privateKey), 'kid_not_found');
    assert.deepEqual(caught.err?.facts, { kid: 'nope', alg: 'ES256', known: ['es-1', 'rs-1', 'ps-1', 'ed-1'] });
  });
  it('an unknown client gets the same answer as an unknown kid', async () => {
    const res = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('ghost', t.issuer), es.privateKey)));
    const known = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'nope' }, assertionClaims('pk', t.issuer), es.privateKey)));
    assert.deepEqual(res.body, known.body);
  });
  it('a disabled client → invalid_client', async () => {
    await expectRejected(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk-disabled', t.issuer), es.privateKey), 'client_disabled');
  });
  it('an alg other than the pinned token_endpoint_auth_signing_alg → invalid_client', async () => {
    const res = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk-pinned', t.issuer), es.privateKey)));
    assert.equal(res.status, 200);
    await expectRejected(signAssertion({ alg: 'ES384', kid: 'es-1' }, assertionClaims('pk-pinned', t.issuer), es.privateKey), 'alg_mismatch');
  });
  it('an assertion for a client registered for client_secret_basic → invalid_client', async () => {
    await expectRejected(signAssertion({ alg: 'ES256' }, assertionClaims('basic-only', t.issuer), es.privateKey), 'method_mismatch');
  });
  it('a client_id parameter naming another client → invalid_client', async () => {
    await expectRejected(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer), es.privateKey), 'client_id_mismatch', { client_id: 'hs' });
  });
  it('an unknown client_assertion_type → invalid_client', async () => {
    const res = await post({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer', client_assertion: 'x.y.z' });
    assert.equal(res.status, 401);
    assert.equal(res.body.error, 'invalid_client');
  });
  it('client_assertion without its type → invalid_request', async () => {
    const res = await post({ grant_type: 'client_credentials', client_assertion: signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer), es.privateKey) });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
  });
  it('malformed assertions → invalid_client', async () => {
    for (const bad of ['abc', 'a.b', 'a.b.c.d.e', '!!.??.**', `${Buffer.from('[]').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.AA`, `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from('not json').toString('base64url')}.AA`]) {
      await expectRejected(bad, 'assertion_malformed');
    }
  });
  it('an unsupported alg → invalid_client', async () => {
    await expectRejected(signAssertion({ alg: 'ES512', kid: 'es-1' }, assertionClaims('pk', t.issuer), es.privateKey), 'alg_unsupported');
  });
  it('a crit header → invalid_client', async () => {
    await expectRejected(signAssertion({ alg: 'ES256', kid: 'es-1', crit: ['exp'] }, assertionClaims('pk', t.issuer), es.privateKey), 'crit_refused');
  });
  it('a wrong typ → invalid_client', async () => {
    await expectRejected(signAssertion({ alg: 'ES256', kid: 'es-1', typ: 'at+jwt' }, assertionClaims('pk', t.issuer), es.privateKey), 'typ_invalid');
  });
  it('an assertion and a client_secret at once → invalid_request', async () => {
    const res = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer), es.privateKey), { client_id: 'pk', client_secret: 'x' }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
    assert.match(res.body.error_description, /more than one client authentication method/);
  });
  it('Basic and an assertion at once, without the compatibility opt-in → invalid_request', async () => {
    const res = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', t.issuer), es.privateKey)), { authorization: basic('basic-only', 'basic-secret') });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
  });
  it('compatibility mode (Basic + assertion, Oracle): both must verify', async () => {
    const good = signAssertion({ alg: 'ES256', x5t: x5tKey.x5t }, assertionClaims('oracle', [t.issuer], {}), x5tKey.privateKey);
    // aud as an array is not allowed in this realm
    const resArray = await post(withAssertion(good), { authorization: basic('oracle', 'oracle-secret') });
    assert.equal(resArray.status, 401);
    const ok = signAssertion({ alg: 'ES256', x5t: x5tKey.x5t }, assertionClaims('oracle', t.issuer), x5tKey.privateKey);
    const wrongSecret = await post(withAssertion(ok), { authorization: basic('oracle', 'wrong') });
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body.error, 'invalid_client');
    const res = await post(withAssertion(ok), { authorization: basic('oracle', 'oracle-secret') });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const forged = signAssertion({ alg: 'ES256', x5t: x5tKey.x5t }, assertionClaims('oracle', t.issuer), stranger.privateKey);
    const bad = await post(withAssertion(forged), { authorization: basic('oracle', 'oracle-secret') });
    assert.equal(bad.status, 401);
  });
});

describe('assertion audience policies per realm', () => {
  it('issuer-only realm with typ required: accepts aud = realm issuer and typ client-authentication+jwt', async () => {
    const issuer = `${t.issuer}/realms/strict`;
    const ok = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1', typ: 'client-authentication+jwt' }, assertionClaims('pk', issuer), es.privateKey)), {}, '/realms/strict/oauth2/token');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const tep = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1', typ: 'client-authentication+jwt' }, assertionClaims('pk', `${issuer}/oauth2/token`), es.privateKey)), {}, '/realms/strict/oauth2/token');
    assert.equal(tep.body.error, 'invalid_client');
    assert.match(tep.body.error_description, /aud must be the issuer/);
    const noTyp = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', issuer), es.privateKey)), {}, '/realms/strict/oauth2/token');
    assert.equal(noTyp.body.error_description, AUTH_FAILED);
    assert.equal(caught.err?.reason, 'typ_required');
    const defaultRealmAud = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1', typ: 'client-authentication+jwt' }, assertionClaims('pk', t.issuer), es.privateKey)), {}, '/realms/strict/oauth2/token');
    assert.equal(defaultRealmAud.body.error, 'invalid_client');
  });
  it('token-endpoint realm with arrays allowed: an array containing the token endpoint passes, one without does not', async () => {
    const issuer = `${t.issuer}/realms/tep`;
    const ok = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', ['https://x.example', `${issuer}/oauth2/token`]), es.privateKey)), {}, '/realms/tep/oauth2/token');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const without = await post(withAssertion(signAssertion({ alg: 'ES256', kid: 'es-1' }, assertionClaims('pk', ['https://x.example', issuer]), es.privateKey)), {}, '/realms/tep/oauth2/token');
    assert.match(without.body.error_description, /aud must contain the token endpoint URL/);
  });
});
