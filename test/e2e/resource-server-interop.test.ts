/**
 * Tessera's access tokens at third-party and first-party resource servers, over real sockets:
 * Auth0's express-oauth2-jwt-bearer in an Express app, plain jose (createRemoteJWKSet + jwtVerify
 * with the RFC 9068 profile), and Tessera's own resource-server verifier and Express middleware.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import express, { type ErrorRequestHandler, type Request } from 'express';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { createVerifier, BearerError } from '../../packages/resource-server/src/index.ts';
import { expressBearer, requireScopes, bearerAuth } from '../../packages/resource-server/src/express.ts';
import { basic } from '../fixtures/assertions.ts';
import { assertRfc9068, decodeParts, generateClientKey, listen, verifyWithRemoteJwks, type Listening } from './helpers.ts';

const API = 'https://orders.api.example';
const OTHER_API = 'https://billing.api.example';
const TTL = 1800;
const SECRET = 'rs-interop-secret-42';
const INTROSPECTOR_SECRET = 'rs-introspector-secret-42';
/** express-oauth2-jwt-bearer 1.10 appends a DPoP challenge to every 401 (DPoP is enabled by default). */
const AUTH0_DPOP = ', DPoP algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES256K ES384 ES512 EdDSA"';

/** Flips one character of the payload so the signature no longer matches. */
function tamper(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  claims.scope = 'orders:read orders:write orders:admin';
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

describe('resource-server interoperability', () => {
  let ts: TestServer;
  let api: Listening;
  let tokenFor: (resource: string, scope?: string) => Promise<string>;

  before(async () => {
    ts = await startTestServer({
      config: {
        tokens: { signing_alg: 'ES256', ttl: TTL },
        clients: [{ client_id: 'rs-caller', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', scope: 'orders:read orders:write', allowed_resources: [API, OTHER_API] },
          { client_id: 'rs-introspector', client_secret: INTROSPECTOR_SECRET, token_endpoint_auth_method: 'client_secret_basic', may_introspect: true },
        ],
      },
    });
    tokenFor = async (resource, scope = 'orders:read') => {
      const res = await fetch(`${ts.issuer}/oauth2/token`, {
        method: 'POST',
        headers: { authorization: basic('rs-caller', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { access_token: string }).access_token;
    };

    const app = express();
    const jwksUri = `${ts.issuer}/jwks`;
    // express-oauth2-jwt-bearer with explicit issuer + jwksUri, RFC 9068 strict mode.
    app.get('/auth0/explicit', auth({ issuer: ts.issuer, jwksUri, audience: API, tokenSigningAlg: 'ES256', strict: true }), (req, res) => {
      res.json({ sub: req.auth?.payload.sub, scope: req.auth?.payload.scope, typ: req.auth?.header.typ });
    });
    // express-oauth2-jwt-bearer discovering the jwks_uri from the issuer.
    app.get('/auth0/discovered', auth({ issuerBaseURL: ts.issuer, audience: API, tokenSigningAlg: 'ES256' }), requiredScopes('orders:write'), (req, res) => {
      res.json({ client_id: req.auth?.payload.client_id });
    });
    // Tessera's own middleware.
    app.get('/tessera/orders', expressBearer({ issuer: ts.issuer, audience: API }), requireScopes(['orders:read']), (req, res) => {
      const t = bearerAuth(req as Request);
      res.json({ clientId: t.clientId, scopes: t.scopes, audience: t.audience });
    });
    const onError: ErrorRequestHandler = (err: { status?: number; code?: string; headers?: Record<string, string>; message?: string }, _req, res, _next) => {
      res.status(err.status ?? 500).set(err.headers ?? {}).json({ error: err.code ?? 'server_error', message: err.message });
    };
    app.use(onError);
    api = await listen(app);
  });

  after(async () => {
    await api?.close();
    await ts?.close();
  });

  const call = (path: string, token?: string) => fetch(`${api.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  describe('express-oauth2-jwt-bearer', () => {
    it('accepts a Tessera token (issuer + jwksUri, strict RFC 9068 mode)', async () => {
      const res = await call('/auth0/explicit', await tokenFor(API));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { sub: 'rs-caller', scope: 'orders:read', typ: 'at+jwt' });
    });

    it('accepts a Tessera token with issuerBaseURL discovery, and checks scopes', async () => {
      const ok = await call('/auth0/discovered', await tokenFor(API, 'orders:read orders:write'));
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { client_id: 'rs-caller' });
      const weak = await call('/auth0/discovered', await tokenFor(API, 'orders:read'));
      assert.equal(weak.status, 403);
      assert.equal(weak.headers.get('www-authenticate'), 'Bearer realm="api", error="insufficient_scope", error_description="Insufficient Scope", scope="orders:write"');
    });

    it('rejects a tampered token: 401 invalid_token', async () => {
      const res = await call('/auth0/explicit', tamper(await tokenFor(API)));
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { error: 'invalid_token', message: 'signature verification failed' });
      assert.equal(res.headers.get('www-authenticate'), `Bearer realm="api", error="invalid_token", error_description="signature verification failed"${AUTH0_DPOP}`);
    });

    it('rejects a token issued for another audience: 401 invalid_token', async () => {
      const other = await tokenFor(OTHER_API);
      assert.equal(decodeParts(other).payload.aud, OTHER_API);
      for (const path of ['/auth0/explicit', '/auth0/discovered']) {
        const res = await call(path, other);
        assert.equal(res.status, 401, path);
        assert.deepEqual(await res.json(), { error: 'invalid_token', message: "Unexpected 'aud' value" }, path);
      }
    });

    it('without a token: 401 with a challenge carrying no error code', async () => {
      const res = await call('/auth0/explicit');
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), `Bearer realm="api"${AUTH0_DPOP}`);
    });
  });

  describe('jose createRemoteJWKSet + jwtVerify (RFC 9068)', () => {
    it('verifies with issuer, audience, typ at+jwt and the RFC 9068 claims', async () => {
      const token = await tokenFor(API, 'orders:read orders:write');
      const { protectedHeader } = await verifyWithRemoteJwks(token, `${ts.issuer}/jwks`, { issuer: ts.issuer, clientId: 'rs-caller', audience: API, scope: 'orders:read orders:write', ttl: TTL }, ['ES256']);
      assert.deepEqual(Object.keys(protectedHeader).sort(), ['alg', 'kid', 'typ']);
      assert.equal(protectedHeader.alg, 'ES256');
    });

    it('refuses the token where typ JWT is demanded; a forgery reusing the server kid fails the signature', async () => {
      const token = await tokenFor(API);
      const jwks = createRemoteJWKSet(new URL(`${ts.issuer}/jwks`));
      await assert.rejects(jwtVerify(token, jwks, { issuer: ts.issuer, audience: API, typ: 'JWT' }), (err: unknown) => {
        assert.ok(err instanceof joseErrors.JWTClaimValidationFailed, 'typ mismatch is a claim validation failure');
        assert.equal(err.claim, 'typ');
        return true;
      });
      // A token shaped like Tessera's, with its kid, but signed by another key.
      const { privateKey } = await generateClientKey('ES256');
      const forged = await new SignJWT({ client_id: 'rs-caller', scope: 'orders:read' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeParts(token).header.kid as string })
        .setIssuer(ts.issuer).setSubject('rs-caller').setAudience(API).setIssuedAt().setExpirationTime('5m').setJti('x')
        .sign(privateKey);
      await assert.rejects(jwtVerify(forged, jwks, { issuer: ts.issuer, audience: API, typ: 'at+jwt' }), joseErrors.JWSSignatureVerificationFailed);
    });

    it('refuses a tampered token and another audience', async () => {
      const jwks = createRemoteJWKSet(new URL(`${ts.issuer}/jwks`));
      await assert.rejects(jwtVerify(tamper(await tokenFor(API)), jwks, { issuer: ts.issuer, audience: API, typ: 'at+jwt' }), joseErrors.JWSSignatureVerificationFailed);
      await assert.rejects(jwtVerify(await tokenFor(OTHER_API), jwks, { issuer: ts.issuer, audience: API, typ: 'at+jwt' }), (err: unknown) => {
        assert.ok(err instanceof joseErrors.JWTClaimValidationFailed, 'aud is a claim validation failure');
        assert.equal(err.claim, 'aud');
        return true;
      });
    });
  });

  describe("Tessera's own resource-server verifier", () => {
    it('createVerifier (discovering jwks_uri) accepts the token with the exact verified view', async () => {
      const token = await tokenFor(API, 'orders:write orders:read');
      const { payload, header } = decodeParts(token);
      const verifier = createVerifier({ issuer: ts.issuer, audience: API });
      const v = await verifier.verify(token, { scopes: ['orders:write'] });
      assert.deepEqual(
        { ...v, claims: { ...v.claims } },
        {
          clientId: 'rs-caller',
          subject: 'rs-caller',
          scopes: ['orders:write', 'orders:read'],
          audience: [API],
          issuer: ts.issuer,
          expiresAt: (payload.exp as number) * 1000,
          jti: payload.jti,
          claims: payload,
        },
      );
      assertRfc9068(v.claims, header, { issuer: ts.issuer, clientId: 'rs-caller', audience: API, scope: 'orders:write orders:read', ttl: TTL });
    });

    it('createVerifier rejects tampered, other-audience and under-scoped tokens with exact errors', async () => {
      const verifier = createVerifier({ issuer: ts.issuer, audience: API, jwks: { uri: `${ts.issuer}/jwks` } });
      const expectBearer = async (p: Promise<unknown>, status: number, error: string) =>
        assert.rejects(p, (err: unknown) => {
          assert.ok(err instanceof BearerError, 'a BearerError');
          assert.equal(err.status, status);
          assert.equal(err.error, error);
          return true;
        });
      await expectBearer(verifier.verify(tamper(await tokenFor(API))), 401, 'invalid_token');
      await expectBearer(verifier.verify(await tokenFor(OTHER_API)), 401, 'invalid_token');
      await expectBearer(verifier.verify(await tokenFor(API, 'orders:read'), { scopes: ['orders:write'] }), 403, 'insufficient_scope');
    });

    it('expressBearer + requireScopes in Express: 200 for a good token, exact RFC 6750 challenges otherwise', async () => {
      const ok = await call('/tessera/orders', await tokenFor(API));
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { clientId: 'rs-caller', scopes: ['orders:read'], audience: [API] });

      const tampered = await call('/tessera/orders', tamper(await tokenFor(API)));
      assert.equal(tampered.status, 401);
      assert.equal(tampered.headers.get('www-authenticate'), `Bearer realm="${API}", error="invalid_token", error_description="The access token is invalid"`);
      assert.deepEqual(await tampered.json(), { error: 'invalid_token', error_description: 'The access token is invalid' });

      const foreign = await call('/tessera/orders', await tokenFor(OTHER_API));
      assert.equal(foreign.status, 401);
      assert.deepEqual(await foreign.json(), { error: 'invalid_token', error_description: 'The access token is invalid' });

      const none = await call('/tessera/orders');
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), `Bearer realm="${API}"`);
      assert.equal(await none.text(), '');

      const underScoped = await call('/tessera/orders', await tokenFor(API, 'orders:write'));
      assert.equal(underScoped.status, 403);
      assert.equal(underScoped.headers.get('www-authenticate'), `Bearer realm="${API}", error="insufficient_scope", error_description="The access token lacks a required scope", scope="orders:read"`);
    });

    it('revocation: JWT mode still accepts a revoked token (local check); introspection mode refuses it', async () => {
      const token = await tokenFor(API);
      const jwtMode = createVerifier({ issuer: ts.issuer, audience: API });
      const introspectionMode = createVerifier({ issuer: ts.issuer, audience: API, introspection: { clientId: 'rs-introspector', clientSecret: INTROSPECTOR_SECRET, inactiveCacheSeconds: 0, cacheMaxSeconds: 0 } });
      const live = await introspectionMode.verify(token);
      assert.equal(live.clientId, 'rs-caller');
      assert.deepEqual(live.scopes, ['orders:read']);
      assert.deepEqual(live.audience, [API]);
      const res = await fetch(`${ts.issuer}/oauth2/revoke`, {
        method: 'POST',
        headers: { authorization: basic('rs-caller', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      });
      assert.equal(res.status, 200);
      assert.equal((await jwtMode.verify(token)).clientId, 'rs-caller');
      await assert.rejects(introspectionMode.verify(token), (err: unknown) => {
        assert.ok(err instanceof BearerError, 'a BearerError');
        assert.equal(err.status, 401);
        assert.equal(err.error, 'invalid_token');
        assert.equal(err.reason, 'token is not active');
        return true;
      });
    });
  });
});
