/**
 * Interoperability with Python clients, with their default settings (issue 11): Authlib's
 * OAuth2Session for all four methods (its ClientSecretJWT / PrivateKeyJWT sign assertions with
 * exp = iat + 3600, which the default use window accepts), and requests-oauthlib for the two secret
 * methods (it has no JWT methods). Python runs as a child process (test/e2e/python/token_client.py)
 * against a Tessera on loopback; Debian's python3-authlib and python3-requests-oauthlib are
 * required (.ci/run installs them): a missing module fails the suite instead of skipping it.
 * OAUTHLIB_INSECURE_TRANSPORT=1 lets oauthlib talk plain http to the loopback test server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { generateTestKey, type TestKey } from '../fixtures/assertions.ts';
import { verifyWithRemoteJwks } from './helpers.ts';

const run = promisify(execFile);
// Debian's packages live in the system interpreter's dist-packages.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const SCRIPT = new URL('./python/token_client.py', import.meta.url).pathname;
const SCOPE = 'inventory:read';
const TTL = 900;
const secrets = { basic: 'AuthlibBasicSecret-0123456789', post: 'AuthlibPostSecret-0123456789', jwt: 'authlib-client-secret-jwt-'.padEnd(64, 'z') };

let t: TestServer;
let rsa: TestKey;

async function python(cfg: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { stdout } = await run(PYTHON, [SCRIPT, JSON.stringify(cfg)], { timeout: 30_000, env: { PATH: process.env.PATH, NO_PROXY: '*', no_proxy: '*', OAUTHLIB_INSECURE_TRANSPORT: '1' } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

before(async () => {
  try {
    await run(PYTHON, ['-c', 'import authlib, requests_oauthlib']);
  } catch (err) {
    assert.fail(`python3-authlib and python3-requests-oauthlib are required (apt-get install -y python3-authlib python3-requests-oauthlib): ${(err as Error).message}`);
  }
  rsa = generateTestKey('RS256', 'authlib-rsa');
  t = await startTestServer({
    config: {
      tokens: { ttl: TTL },
      clients: [
        { client_id: 'py-basic', client_secret: secrets.basic, token_endpoint_auth_method: 'client_secret_basic', scope: SCOPE },
        { client_id: 'py-post', client_secret: secrets.post, token_endpoint_auth_method: 'client_secret_post', scope: SCOPE },
        { client_id: 'py-jwt', client_secret: secrets.jwt, token_endpoint_auth_method: 'client_secret_jwt', scope: SCOPE },
        { client_id: 'py-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [rsa.publicJwk] }, scope: SCOPE },
      ],
    },
  });
});
after(async () => {
  await t?.close();
});

async function expectToken(lib: string, method: string, clientId: string, secret: string): Promise<void> {
  const answer = await python({ lib, method, token_endpoint: `${t.issuer}/oauth2/token`, client_id: clientId, secret, scope: SCOPE });
  assert.equal(typeof answer.access_token, 'string', JSON.stringify(answer));
  assert.equal(answer.token_type, 'Bearer');
  assert.equal(answer.expires_in, TTL);
  assert.equal(answer.scope, SCOPE);
  await verifyWithRemoteJwks(String(answer.access_token), `${t.issuer}/jwks`, { issuer: t.issuer, clientId, audience: t.issuer, scope: SCOPE, ttl: TTL });
}

describe('Authlib (OAuth2Session, default settings)', () => {
  it('client_secret_basic', async () => {
    await expectToken('authlib', 'client_secret_basic', 'py-basic', secrets.basic);
  });
  it('client_secret_post', async () => {
    await expectToken('authlib', 'client_secret_post', 'py-post', secrets.post);
  });
  it('client_secret_jwt (ClientSecretJWT: HS256, exp = iat + 3600)', async () => {
    await expectToken('authlib', 'client_secret_jwt', 'py-jwt', secrets.jwt);
  });
  it('private_key_jwt (PrivateKeyJWT: RS256, no kid, exp = iat + 3600)', async () => {
    const pem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await expectToken('authlib', 'private_key_jwt', 'py-pkjwt', pem);
  });
  it('a wrong secret is refused with invalid_client', async () => {
    const answer = await python({ lib: 'authlib', method: 'client_secret_basic', token_endpoint: `${t.issuer}/oauth2/token`, client_id: 'py-basic', secret: 'wrong', scope: SCOPE });
    assert.equal(answer.access_token, undefined);
    assert.match(String(answer.detail), /invalid_client/);
  });
});

describe('requests-oauthlib (BackendApplicationClient, default settings)', () => {
  it('client_secret_basic (HTTP Basic, its default)', async () => {
    await expectToken('requests-oauthlib', 'client_secret_basic', 'py-basic', secrets.basic);
  });
  it('client_secret_post (include_client_id=True)', async () => {
    await expectToken('requests-oauthlib', 'client_secret_post', 'py-post', secrets.post);
  });
});
