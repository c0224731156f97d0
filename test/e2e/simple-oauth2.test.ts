/**
 * simple-oauth2 (v5) ClientCredentials against a real Tessera on loopback: credentials in the
 * Basic header (client_secret_basic, with its strict form-encoding) and in the body
 * (client_secret_post). Tokens are EdDSA-signed here and verified with jose.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { verifyWithRemoteJwks } from './helpers.ts';

/** The slice of simple-oauth2's API used here (the package ships no type declarations). */
interface SimpleAccessToken {
  token: { access_token: string; token_type: string; expires_in: number; scope: string; expires_at: Date };
  expired(expirationWindowSeconds?: number): boolean;
}
interface SimpleClientCredentials {
  getToken(params: { scope?: string | string[] }): Promise<SimpleAccessToken>;
}
interface SimpleOAuth2 {
  ClientCredentials: new (config: {
    client: { id: string; secret: string };
    auth: { tokenHost: string; tokenPath?: string };
    options?: { authorizationMethod?: 'header' | 'body'; credentialsEncodingMode?: 'strict' | 'loose' };
  }) => SimpleClientCredentials;
}
/** A hapi Boom error from @hapi/wreck for a non-2xx answer. */
interface WreckError {
  isBoom: boolean;
  output: { statusCode: number };
  data: { payload: Buffer | Record<string, unknown>; res: { headers: Record<string, string> } };
}

const { ClientCredentials } = createRequire(import.meta.url)('simple-oauth2') as SimpleOAuth2;

const TTL = 1200;
const SCOPES = ['reports:read', 'reports:export'];
// Characters that need form-encoding inside the Basic header (RFC 6749 §2.3.1, Appendix B).
const BASIC_SECRET = 'so2 basic+secret/with=odd%chars:&';
const POST_SECRET = 'so2-post-secret-0123456789';

describe('simple-oauth2 interoperability', () => {
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      config: {
        tokens: { signing_alg: 'EdDSA', ttl: TTL },
        clients: [
          { client_id: 'so2-basic', client_secret: BASIC_SECRET, token_endpoint_auth_method: 'client_secret_basic', scope: SCOPES },
          { client_id: 'so2-post', client_secret: POST_SECRET, token_endpoint_auth_method: 'client_secret_post', scope: SCOPES, default_scopes: 'reports:read' },
        ],
      },
    });
  });

  after(async () => {
    await ts?.close();
  });

  function clientFor(id: string, secret: string, authorizationMethod: 'header' | 'body'): SimpleClientCredentials {
    return new ClientCredentials({ client: { id, secret }, auth: { tokenHost: ts.url, tokenPath: '/oauth2/token' }, options: { authorizationMethod } });
  }

  async function wreckFailure(promise: Promise<unknown>): Promise<{ status: number; body: Record<string, unknown>; challenge: string | undefined }> {
    let caught: WreckError | undefined;
    try {
      await promise;
    } catch (err) {
      caught = err as WreckError;
    }
    assert.ok(caught?.isBoom === true, 'expected a Boom error from simple-oauth2');
    const payload = caught.data.payload;
    const body = Buffer.isBuffer(payload) ? (JSON.parse(payload.toString('utf8')) as Record<string, unknown>) : payload;
    return { status: caught.output.statusCode, body, challenge: caught.data.res.headers['www-authenticate'] };
  }

  it("client_secret_basic with authorizationMethod 'header' (secret needing form-encoding)", async () => {
    const at = await clientFor('so2-basic', BASIC_SECRET, 'header').getToken({ scope: SCOPES });
    assert.equal(at.token.token_type, 'Bearer');
    assert.equal(at.token.expires_in, TTL);
    assert.equal(at.token.scope, 'reports:read reports:export');
    assert.ok(at.token.expires_at instanceof Date, 'simple-oauth2 computed expires_at');
    assert.equal(at.expired(), false);
    const { protectedHeader } = await verifyWithRemoteJwks(at.token.access_token, `${ts.issuer}/jwks`, {
      issuer: ts.issuer,
      clientId: 'so2-basic',
      audience: ts.issuer,
      scope: 'reports:read reports:export',
      ttl: TTL,
    });
    assert.equal(protectedHeader.alg, 'EdDSA');
  });

  it("client_secret_post with authorizationMethod 'body'", async () => {
    const at = await clientFor('so2-post', POST_SECRET, 'body').getToken({ scope: 'reports:export' });
    assert.equal(at.token.scope, 'reports:export');
    await verifyWithRemoteJwks(at.token.access_token, `${ts.issuer}/jwks`, { issuer: ts.issuer, clientId: 'so2-post', audience: ts.issuer, scope: 'reports:export', ttl: TTL });
  });

  it("'body' without a scope gets the client's default_scopes", async () => {
    const at = await clientFor('so2-post', POST_SECRET, 'body').getToken({});
    assert.equal(at.token.scope, 'reports:read');
    await verifyWithRemoteJwks(at.token.access_token, `${ts.issuer}/jwks`, { issuer: ts.issuer, clientId: 'so2-post', audience: ts.issuer, scope: 'reports:read', ttl: TTL });
  });

  it("'header' without a scope and no default_scopes gets every registered scope", async () => {
    const at = await clientFor('so2-basic', BASIC_SECRET, 'header').getToken({});
    assert.equal(at.token.scope, 'reports:read reports:export');
  });

  it('a wrong secret is 401 invalid_client with a Basic challenge', async () => {
    const failure = await wreckFailure(clientFor('so2-basic', 'wrong', 'header').getToken({ scope: SCOPES }));
    assert.deepEqual(failure, { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' }, challenge: 'Basic realm="tessera", charset="UTF-8"' });
  });

  it("a client_secret_basic client sending 'body' credentials is refused (registered method enforced)", async () => {
    const failure = await wreckFailure(clientFor('so2-basic', BASIC_SECRET, 'body').getToken({ scope: SCOPES }));
    assert.deepEqual(failure, { status: 401, body: { error: 'invalid_client', error_description: 'client authentication failed' }, challenge: undefined });
  });

  it('an unregistered scope is 400 invalid_scope', async () => {
    const failure = await wreckFailure(clientFor('so2-post', POST_SECRET, 'body').getToken({ scope: ['reports:read', 'reports:delete'] }));
    assert.deepEqual(failure, { status: 400, body: { error: 'invalid_scope', error_description: 'scope reports:delete is not allowed for this client' }, challenge: undefined });
  });
});
