/**
 * The curl commands vendor documents print for the client credentials grant, run for real with
 * child_process against a Tessera on loopback: Basic `-u id:secret`, credentials in the form body,
 * JWT client assertions made with jose, plus introspection/revocation and metadata. curl must be
 * installed: a missing curl fails the suite instead of skipping it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { BASIC_CHALLENGE, generateClientKey, longSecret, verifyWithRemoteJwks, type ClientKeyPair } from './helpers.ts';

const run = promisify(execFile);
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TTL = 300;

interface CurlResult {
  status: number;
  headers: Map<string, string>;
  body: string;
  json: Record<string, unknown>;
}

/** Runs curl (never through a shell, never via a proxy) with `-s -S -i` and splits the HTTP answer. */
async function curl(args: string[]): Promise<CurlResult> {
  const { stdout } = await run('curl', ['-s', '-S', '-i', '--noproxy', '*', ...args], { timeout: 20_000 });
  const split = stdout.indexOf('\r\n\r\n');
  assert.ok(split > 0, `curl printed no HTTP response: ${stdout}`);
  const [statusLine, ...headerLines] = stdout.slice(0, split).split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine!)?.[1]);
  const headers = new Map(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const body = stdout.slice(split + 4);
  let json: Record<string, unknown> = {};
  if (body !== '') json = JSON.parse(body) as Record<string, unknown>;
  return { status, headers, body, json };
}

describe('vendor-document curl commands', () => {
  let ts: TestServer;
  let tokenUrl: string;
  let rsKey: ClientKeyPair;
  const secrets = { basic: 'VendorBasicSecret0123456789', post: 'VendorPostSecret0123456789', jwt: longSecret('curl-jwt') };

  before(async () => {
    try {
      await run('curl', ['--version']);
    } catch (err) {
      assert.fail(`curl is required by these tests but could not be run: ${(err as Error).message}`);
    }
    rsKey = await generateClientKey('RS256');
    ts = await startTestServer({
      config: {
        tokens: { ttl: TTL, signing_alg: 'PS256' },
        clients: [
          { client_id: 'vendor-basic', client_secret: secrets.basic, token_endpoint_auth_method: 'client_secret_basic', scope: 'billing:read billing:write', may_introspect: true },
          { client_id: 'vendor-post', client_secret: secrets.post, token_endpoint_auth_method: 'client_secret_post', scope: 'billing:read' },
          { client_id: 'vendor-jwt', client_secret: secrets.jwt, token_endpoint_auth_method: 'client_secret_jwt', scope: 'billing:read' },
          { client_id: 'vendor-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [rsKey.publicJwk] }, scope: 'billing:read' },
        ],
      },
    });
    tokenUrl = `${ts.issuer}/oauth2/token`;
  });

  after(async () => {
    await ts?.close();
  });

  function assertTokenResponse(r: CurlResult, scope: string): string {
    assert.equal(r.status, 200, r.body);
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('pragma'), 'no-cache');
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.expires_in, TTL);
    assert.equal(r.json.scope, scope);
    return r.json.access_token as string;
  }

  const verify = (token: string, clientId: string, scope: string) =>
    verifyWithRemoteJwks(token, `${ts.issuer}/jwks`, { issuer: ts.issuer, clientId, audience: ts.issuer, scope, ttl: TTL }, ['PS256']);

  it('curl -u id:secret -d grant_type=client_credentials -d scope=… (client_secret_basic)', async () => {
    const r = await curl(['-u', `vendor-basic:${secrets.basic}`, '-d', 'grant_type=client_credentials', '-d', 'scope=billing:read billing:write', tokenUrl]);
    await verify(assertTokenResponse(r, 'billing:read billing:write'), 'vendor-basic', 'billing:read billing:write');
  });

  it('curl --request POST with explicit Authorization: Basic and content-type headers (Okta/Auth0 style)', async () => {
    const basic = Buffer.from(`vendor-basic:${secrets.basic}`).toString('base64');
    const r = await curl([
      '--request', 'POST',
      '--url', tokenUrl,
      '--header', 'accept: application/json',
      '--header', `authorization: Basic ${basic}`,
      '--header', 'content-type: application/x-www-form-urlencoded',
      '--data', 'grant_type=client_credentials&scope=billing%3Aread',
    ]);
    await verify(assertTokenResponse(r, 'billing:read'), 'vendor-basic', 'billing:read');
  });

  it('curl -X POST form post of client_id and client_secret (client_secret_post)', async () => {
    const r = await curl([
      '-X', 'POST', tokenUrl,
      '-H', 'Content-Type: application/x-www-form-urlencoded',
      '-d', `grant_type=client_credentials&client_id=vendor-post&client_secret=${secrets.post}&scope=billing:read`,
    ]);
    await verify(assertTokenResponse(r, 'billing:read'), 'vendor-post', 'billing:read');
  });

  it('curl --data-urlencode of every field (client_secret_post)', async () => {
    const r = await curl([
      tokenUrl,
      '--data-urlencode', 'grant_type=client_credentials',
      '--data-urlencode', 'client_id=vendor-post',
      '--data-urlencode', `client_secret=${secrets.post}`,
    ]);
    await verify(assertTokenResponse(r, 'billing:read'), 'vendor-post', 'billing:read');
  });

  it('curl with a private_key_jwt client_assertion made with jose (aud = token endpoint, RS256)', async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: rsKey.kid, typ: 'JWT' })
      .setIssuer('vendor-pkjwt')
      .setSubject('vendor-pkjwt')
      .setAudience(tokenUrl)
      .setIssuedAt()
      .setExpirationTime('2m')
      .setJti(randomUUID())
      .sign(rsKey.privateKey);
    const r = await curl([
      tokenUrl,
      '-d', 'grant_type=client_credentials',
      '-d', `client_assertion_type=${JWT_BEARER}`,
      '-d', `client_assertion=${assertion}`,
      '-d', 'scope=billing:read',
    ]);
    await verify(assertTokenResponse(r, 'billing:read'), 'vendor-pkjwt', 'billing:read');

    // The same assertion a second time: the jti is spent.
    const replay = await curl([tokenUrl, '-d', 'grant_type=client_credentials', '-d', `client_assertion_type=${JWT_BEARER}`, '-d', `client_assertion=${assertion}`]);
    assert.equal(replay.status, 401);
    assert.deepEqual(replay.json, { error: 'invalid_client', error_description: 'client_assertion jti has already been used' });
  });

  it('curl with a client_secret_jwt client_assertion made with jose (aud = issuer, typ client-authentication+jwt, HS256)', async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'client-authentication+jwt' })
      .setIssuer('vendor-jwt')
      .setSubject('vendor-jwt')
      .setAudience(ts.issuer)
      .setIssuedAt()
      .setExpirationTime('1m')
      .setJti(randomUUID())
      .sign(new TextEncoder().encode(secrets.jwt));
    const r = await curl([tokenUrl, '-d', 'grant_type=client_credentials', '-d', 'client_id=vendor-jwt', '-d', `client_assertion_type=${JWT_BEARER}`, '-d', `client_assertion=${assertion}`]);
    await verify(assertTokenResponse(r, 'billing:read'), 'vendor-jwt', 'billing:read');
  });

  it('curl -u with a wrong secret: 401 invalid_client, WWW-Authenticate Basic, no-store', async () => {
    const r = await curl(['-u', 'vendor-basic:wrong', '-d', 'grant_type=client_credentials', tokenUrl]);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), BASIC_CHALLENGE);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(r.json, { error: 'invalid_client', error_description: 'client authentication failed' });
  });

  it('curl posting JSON (a common copy-paste mistake) is 400 invalid_request', async () => {
    const r = await curl(['-u', `vendor-basic:${secrets.basic}`, '-H', 'Content-Type: application/json', '-d', '{"grant_type":"client_credentials"}', tokenUrl]);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'the request body must be application/x-www-form-urlencoded' });
  });

  it('curl with the credentials in the query string is 400 invalid_request', async () => {
    const r = await curl(['-X', 'POST', `${tokenUrl}?client_id=vendor-post&client_secret=${secrets.post}`, '-d', 'grant_type=client_credentials']);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'credentials and tokens must not be sent in the query string' });
  });

  it('curl without grant_type is 400 invalid_request; an unknown grant_type is unsupported_grant_type', async () => {
    const missing = await curl(['-u', `vendor-basic:${secrets.basic}`, '-d', 'scope=billing:read', tokenUrl]);
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.json, { error: 'invalid_request', error_description: 'grant_type is required' });
    const unknown = await curl(['-u', `vendor-basic:${secrets.basic}`, '-d', 'grant_type=password', tokenUrl]);
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.json, { error: 'unsupported_grant_type', error_description: 'grant_type password is not supported' });
  });

  it('curl GET of the token endpoint is 405 with Allow: POST', async () => {
    const r = await curl([tokenUrl]);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    assert.deepEqual(r.json, { error: 'invalid_request', error_description: 'use POST' });
  });

  it('curl introspection and revocation (-u id:secret -d token=…)', async () => {
    const issued = await curl(['-u', `vendor-basic:${secrets.basic}`, '-d', 'grant_type=client_credentials', '-d', 'scope=billing:read', tokenUrl]);
    const token = assertTokenResponse(issued, 'billing:read');
    const live = await curl(['-u', `vendor-basic:${secrets.basic}`, '-d', `token=${token}`, '-d', 'token_type_hint=access_token', `${ts.issuer}/oauth2/introspect`]);
    assert.equal(live.status, 200);
    assert.equal(live.json.active, true);
    assert.equal(live.json.client_id, 'vendor-basic');
    assert.equal(live.json.scope, 'billing:read');
    const revoked = await curl(['-u', `vendor-basic:${secrets.basic}`, '-d', `token=${token}`, `${ts.issuer}/oauth2/revoke`]);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body, '');
    const dead = await curl(['-u', `vendor-basic:${secrets.basic}`, '-d', `token=${token}`, `${ts.issuer}/oauth2/introspect`]);
    assert.deepEqual(dead.json, { active: false });
  });

  it('curl of the metadata documents and the JWK Set', async () => {
    const as = await curl([`${ts.issuer}/.well-known/oauth-authorization-server`]);
    assert.equal(as.status, 200);
    assert.equal(as.json.issuer, ts.issuer);
    assert.equal(as.json.token_endpoint, tokenUrl);
    const oidc = await curl([`${ts.issuer}/.well-known/openid-configuration`]);
    assert.deepEqual(oidc.json, as.json);
    const jwks = await curl([`${ts.issuer}/jwks`]);
    assert.equal(jwks.status, 200);
    const keys = jwks.json.keys as Array<Record<string, unknown>>;
    assert.equal(keys.length, 1);
    assert.deepEqual(Object.keys(keys[0]!).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.equal(keys[0]!.alg, 'PS256');
    assert.equal(keys[0]!.use, 'sig');
  });
});
