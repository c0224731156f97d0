/**
 * Tessera's own client SDK (`TokenClient`) against a real server on loopback: discovery, each
 * client authentication method, caching, and `fetch()` to an API protected by Tessera's own
 * resource-server middleware (including the renew-once-on-invalid_token path).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import express, { type Request } from 'express';
import { exportJWK } from 'jose';
import { TokenClient, TokenError, type ClientAuth } from '../../packages/client/src/index.ts';
import { createVerifier } from '../../packages/resource-server/src/index.ts';
import { bearerAuth, expressBearer } from '../../packages/resource-server/src/express.ts';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { basic } from '../fixtures/assertions.ts';
import { decodeParts, generateClientKey, listen, longSecret, verifyWithRemoteJwks, type ClientKeyPair, type Listening } from './helpers.ts';

const API = 'https://ledger.api.example';
const SCOPE = 'ledger:read';
const TTL = 900;

describe('Tessera SDK TokenClient', () => {
  let ts: TestServer;
  let api: Listening;
  let esKey: ClientKeyPair;
  const edPair = generateKeyPairSync('ed25519');
  const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const secrets = { basic: 'sdk-basic-secret-0123', post: 'sdk-post-secret-0123', jwt: longSecret('sdk-jwt'), introspector: 'sdk-introspector-secret', acme: longSecret('sdk-acme') };
  /** Every request the SDK made, as "METHOD path". */
  const requests: string[] = [];
  const countingFetch: typeof fetch = (input, init) => {
    const req = new Request(input, init);
    requests.push(`${req.method} ${new URL(req.url).pathname}`);
    return fetch(req);
  };
  const seenByApi: string[] = [];

  before(async () => {
    esKey = await generateClientKey('ES256');
    const edJwk = { ...(edPair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'sdk-ed', use: 'sig' };
    const rsaJwk = { ...(rsaPair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'sdk-rsa', use: 'sig' };
    const common = { scope: `${SCOPE} ledger:write`, allowed_resources: [API], default_resource: API };
    ts = await startTestServer({
      config: {
        tokens: { signing_alg: 'PS256', ttl: TTL },
        clients: [
          { client_id: 'sdk-basic', client_secret: secrets.basic, token_endpoint_auth_method: 'client_secret_basic', ...common },
          { client_id: 'sdk-post', client_secret: secrets.post, token_endpoint_auth_method: 'client_secret_post', ...common },
          { client_id: 'sdk-jwt', client_secret: secrets.jwt, token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'HS512', ...common },
          { client_id: 'sdk-pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [esKey.publicJwk, edJwk, rsaJwk] }, ...common },
          { client_id: 'sdk-introspector', client_secret: secrets.introspector, token_endpoint_auth_method: 'client_secret_basic', may_introspect: true },
        ],
        realms: [
          {
            name: 'acme',
            assertions: { require_typ: true, audience: 'token_endpoint' },
            clients: [{ client_id: 'acme-sdk', client_secret: secrets.acme, token_endpoint_auth_method: 'client_secret_jwt', scope: 'acme:read' }],
          },
        ],
      },
    });

    const app = express();
    app.get('/ledger', expressBearer({ issuer: ts.issuer, audience: API, scopes: [SCOPE] }), (req, res) => {
      const t = bearerAuth(req as Request);
      seenByApi.push(t.jti!);
      res.json({ clientId: t.clientId, scopes: t.scopes });
    });
    const introspecting = createVerifier({
      issuer: ts.issuer,
      audience: API,
      introspection: { clientId: 'sdk-introspector', clientSecret: secrets.introspector, cacheMaxSeconds: 0, inactiveCacheSeconds: 0 },
    });
    app.get('/ledger/strict', expressBearer({ verifier: introspecting }), (req, res) => {
      const t = bearerAuth(req as Request);
      seenByApi.push(t.jti!);
      res.json({ clientId: t.clientId });
    });
    api = await listen(app);
  });

  after(async () => {
    await api?.close();
    await ts?.close();
  });

  function sdk(clientId: string, auth: ClientAuth, extra: Partial<ConstructorParameters<typeof TokenClient>[0]> = {}): TokenClient {
    return new TokenClient({ issuer: ts.issuer, clientId, auth, fetch: countingFetch, maxRetries: 0, ...extra });
  }

  async function getAndVerify(client: TokenClient, clientId: string, scope = SCOPE) {
    const token = await client.getToken({ scope });
    assert.equal(token.tokenType, 'Bearer');
    assert.equal(token.scope, scope);
    const { payload, protectedHeader } = await verifyWithRemoteJwks(token.accessToken, `${ts.issuer}/jwks`, { issuer: ts.issuer, clientId, audience: API, scope, ttl: TTL });
    assert.equal(protectedHeader.alg, 'PS256');
    return { token, payload };
  }

  const methods: Array<[string, string, () => ClientAuth]> = [
    ['client_secret_basic', 'sdk-basic', () => ({ method: 'client_secret_basic', clientSecret: secrets.basic })],
    ['client_secret_post', 'sdk-post', () => ({ method: 'client_secret_post', clientSecret: secrets.post })],
    ['client_secret_jwt (HS512, alg pinned by the registration)', 'sdk-jwt', () => ({ method: 'client_secret_jwt', clientSecret: secrets.jwt, alg: 'HS512' })],
  ];
  for (const [label, clientId, auth] of methods) {
    it(`${label}: discovery then a token`, async () => {
      requests.length = 0;
      await getAndVerify(sdk(clientId, auth()), clientId);
      assert.deepEqual(requests, ['GET /.well-known/oauth-authorization-server', 'POST /oauth2/token']);
    });
  }

  it('private_key_jwt with an ES256 private JWK (kid from the JWK)', async () => {
    const privateJwk = { ...(await exportJWK(esKey.privateKey)), kid: esKey.kid, alg: 'ES256' };
    await getAndVerify(sdk('sdk-pkjwt', { method: 'private_key_jwt', privateKey: privateJwk }), 'sdk-pkjwt');
  });

  it('private_key_jwt with an Ed25519 KeyObject (alg EdDSA)', async () => {
    await getAndVerify(sdk('sdk-pkjwt', { method: 'private_key_jwt', privateKey: edPair.privateKey, kid: 'sdk-ed' }), 'sdk-pkjwt');
  });

  it('private_key_jwt with an RSA PEM: RS256 by default, PS256 when asked', async () => {
    const pem = rsaPair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    await getAndVerify(sdk('sdk-pkjwt', { method: 'private_key_jwt', privateKey: pem, kid: 'sdk-rsa' }), 'sdk-pkjwt');
    await getAndVerify(sdk('sdk-pkjwt', { method: 'private_key_jwt', privateKey: pem, kid: 'sdk-rsa', alg: 'PS256' }), 'sdk-pkjwt');
  });

  it("private_key_jwt with assertionAudience 'token_endpoint'", async () => {
    await getAndVerify(sdk('sdk-pkjwt', { method: 'private_key_jwt', privateKey: edPair.privateKey, kid: 'sdk-ed' }, { assertionAudience: 'token_endpoint' }), 'sdk-pkjwt');
  });

  it('caching: the second getToken is served from cache (same token, one token request)', async () => {
    requests.length = 0;
    const client = sdk('sdk-basic', { method: 'client_secret_basic', clientSecret: secrets.basic });
    const first = await client.getToken({ scope: SCOPE });
    const second = await client.getToken({ scope: SCOPE });
    assert.deepEqual(second, first);
    assert.deepEqual(requests, ['GET /.well-known/oauth-authorization-server', 'POST /oauth2/token']);
    // Concurrent callers for another scope share one request; a different scope is a different entry.
    const [a, b] = await Promise.all([client.getToken({ scope: 'ledger:write' }), client.getToken({ scope: ['ledger:write'] })]);
    assert.equal(a.accessToken, b.accessToken);
    assert.notEqual(a.accessToken, first.accessToken);
    assert.deepEqual(requests, ['GET /.well-known/oauth-authorization-server', 'POST /oauth2/token', 'POST /oauth2/token']);
    // invalidate() forces a new request.
    client.invalidate(SCOPE);
    const third = await client.getToken({ scope: SCOPE });
    assert.notEqual(third.accessToken, first.accessToken);
    assert.equal(requests.length, 4);
  });

  it('OAuth errors surface as TokenError with the exact code', async () => {
    await assert.rejects(sdk('sdk-basic', { method: 'client_secret_basic', clientSecret: 'wrong' }).getToken({ scope: SCOPE }), (err: unknown) => {
      assert.ok(err instanceof TokenError, 'a TokenError');
      assert.equal(err.error, 'invalid_client');
      assert.equal(err.status, 401);
      assert.equal(err.errorDescription, 'client authentication failed');
      return true;
    });
    await assert.rejects(sdk('sdk-post', { method: 'client_secret_post', clientSecret: secrets.post }).getToken({ scope: 'ledger:admin' }), (err: unknown) => {
      assert.ok(err instanceof TokenError, 'a TokenError');
      assert.equal(err.error, 'invalid_scope');
      assert.equal(err.status, 400);
      assert.equal(err.errorDescription, 'scope ledger:admin is not allowed for this client');
      return true;
    });
    // HS256 for a client pinned to HS512.
    await assert.rejects(sdk('sdk-jwt', { method: 'client_secret_jwt', clientSecret: secrets.jwt }).getToken({ scope: SCOPE }), (err: unknown) => {
      assert.ok(err instanceof TokenError, 'a TokenError');
      assert.equal(err.error, 'invalid_client');
      assert.equal(err.errorDescription, 'client authentication failed');
      return true;
    });
  });

  it('fetch() calls an API protected by expressBearer with a cached bearer token', async () => {
    const client = sdk('sdk-post', { method: 'client_secret_post', clientSecret: secrets.post });
    requests.length = 0;
    for (let i = 0; i < 2; i++) {
      const res = await client.fetch(`${api.url}/ledger`, undefined, { scope: SCOPE, resource: API });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { clientId: 'sdk-post', scopes: [SCOPE] });
    }
    assert.deepEqual(requests, ['GET /.well-known/oauth-authorization-server', 'POST /oauth2/token', 'GET /ledger', 'GET /ledger']);
    assert.equal(seenByApi.at(-1), seenByApi.at(-2));
  });

  it('fetch() with a token lacking the API scope gets the 403 insufficient_scope answer unchanged', async () => {
    const client = sdk('sdk-post', { method: 'client_secret_post', clientSecret: secrets.post });
    const res = await client.fetch(`${api.url}/ledger`, undefined, { scope: 'ledger:write', resource: API });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${API}", error="insufficient_scope", error_description="The access token lacks a required scope", scope="${SCOPE}"`);
  });

  it('fetch() renews once when the API answers invalid_token (token revoked, introspection-mode API)', async () => {
    const client = sdk('sdk-basic', { method: 'client_secret_basic', clientSecret: secrets.basic });
    const first = await client.fetch(`${api.url}/ledger/strict`, undefined, { scope: SCOPE, resource: API });
    assert.equal(first.status, 200);
    const revokedJti = seenByApi.at(-1)!;
    const cached = await client.getToken({ scope: SCOPE, resource: API });
    assert.equal(decodeParts(cached.accessToken).payload.jti, revokedJti);

    const revoke = await fetch(`${ts.issuer}/oauth2/revoke`, {
      method: 'POST',
      headers: { authorization: basic('sdk-basic', secrets.basic), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: cached.accessToken }),
    });
    assert.equal(revoke.status, 200);

    requests.length = 0;
    const second = await client.fetch(`${api.url}/ledger/strict`, undefined, { scope: SCOPE, resource: API });
    assert.equal(second.status, 200);
    assert.deepEqual(await second.json(), { clientId: 'sdk-basic' });
    assert.deepEqual(requests, ['GET /ledger/strict', 'POST /oauth2/token', 'GET /ledger/strict']);
    assert.notEqual(seenByApi.at(-1), revokedJti);
  });

  describe('realm acme (require_typ, audience token_endpoint)', () => {
    const acmeIssuer = () => `${ts.issuer}/realms/acme`;

    it('discovers the realm through the path-inserted URL and authenticates with typ client-authentication+jwt', async () => {
      requests.length = 0;
      const client = new TokenClient({
        issuer: acmeIssuer(),
        clientId: 'acme-sdk',
        auth: { method: 'client_secret_jwt', clientSecret: secrets.acme },
        assertionAudience: 'token_endpoint',
        assertionTyp: 'client-authentication+jwt',
        fetch: countingFetch,
        maxRetries: 0,
      });
      const token = await client.getToken({ scope: 'acme:read' });
      assert.deepEqual(requests, ['GET /.well-known/oauth-authorization-server/realms/acme', 'POST /realms/acme/oauth2/token']);
      // The realm inherits the top-level token policy (PS256, ttl) but has its own keys and issuer.
      await verifyWithRemoteJwks(token.accessToken, `${acmeIssuer()}/jwks`, { issuer: acmeIssuer(), clientId: 'acme-sdk', audience: acmeIssuer(), scope: 'acme:read', ttl: TTL }, ['PS256']);
      const realmKid = decodeParts(token.accessToken).header.kid;
      const defaultKids = ((await (await fetch(`${ts.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
      assert.ok(!defaultKids.includes(realmKid as string), 'the realm signs with its own key');
    });

    it('the SDK defaults (typ JWT, aud issuer) are refused by this realm with the exact reason', async () => {
      const withDefaults = new TokenClient({ issuer: acmeIssuer(), clientId: 'acme-sdk', auth: { method: 'client_secret_jwt', clientSecret: secrets.acme }, maxRetries: 0 });
      await assert.rejects(withDefaults.getToken({ scope: 'acme:read' }), (err: unknown) => {
        assert.ok(err instanceof TokenError, 'a TokenError');
        assert.equal(err.error, 'invalid_client');
        assert.equal(err.errorDescription, 'client authentication failed');
        return true;
      });
      const typOnly = new TokenClient({ issuer: acmeIssuer(), clientId: 'acme-sdk', auth: { method: 'client_secret_jwt', clientSecret: secrets.acme }, assertionTyp: 'client-authentication+jwt', maxRetries: 0 });
      await assert.rejects(typOnly.getToken({ scope: 'acme:read' }), (err: unknown) => {
        assert.ok(err instanceof TokenError, 'a TokenError');
        assert.equal(err.error, 'invalid_client');
        assert.equal(err.errorDescription, 'client_assertion aud must be the token endpoint URL');
        return true;
      });
    });
  });
});
