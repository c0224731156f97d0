/**
 * oauth4webapi v3 against a real Tessera on loopback: RFC 8414 discovery ('oauth2' algorithm),
 * the client credentials grant with each client authentication method, RFC 7662 introspection,
 * RFC 7009 revocation, and a realm discovered through its path-inserted metadata URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import {
  BASIC_CHALLENGE,
  decodeParts,
  expectOAuthFailure,
  generateClientKey,
  longSecret,
  oauthFailure,
  startJwksHost,
  verifyWithRemoteJwks,
  type ClientKeyPair,
  type JwksHost,
} from './helpers.ts';

const SCOPE = 'inventory:read';
const TTL = 600;
const INSECURE = { [oauth.allowInsecureRequests]: true } as const;

describe('oauth4webapi v3 interoperability', () => {
  let ts: TestServer;
  let as: oauth.AuthorizationServer;
  let jwksHost: JwksHost;
  let psKey: ClientKeyPair;
  let edKey: ClientKeyPair;
  let rsInline: ClientKeyPair;
  const secrets = { basic: 'o4-basic-secret-xyz', post: 'o4-post-secret-xyz', jwt: longSecret('o4-jwt'), introspector: 'o4-introspector-secret', acme: 'acme-secret-123' };

  before(async () => {
    psKey = await generateClientKey('PS256');
    edKey = await generateClientKey('EdDSA');
    rsInline = await generateClientKey('RS256');
    jwksHost = await startJwksHost([psKey.publicJwk, edKey.publicJwk]);
    ts = await startTestServer({
      config: {
        jwks_fetch: { allow: ['127.0.0.1'] }, // the client's key server is on loopback (SSRF rules)
        tokens: { signing_alg: 'RS256', ttl: TTL },
        clients: [
          { client_id: 'o4-basic', client_secret: secrets.basic, token_endpoint_auth_method: 'client_secret_basic', scope: SCOPE },
          { client_id: 'o4-post', client_secret: secrets.post, token_endpoint_auth_method: 'client_secret_post', scope: SCOPE },
          { client_id: 'o4-jwt', client_secret: secrets.jwt, token_endpoint_auth_method: 'client_secret_jwt', scope: SCOPE },
          { client_id: 'o4-pkjwt-uri', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksHost.jwksUri, scope: SCOPE },
          { client_id: 'o4-pkjwt-inline', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [rsInline.publicJwk] }, scope: SCOPE },
          { client_id: 'o4-introspector', client_secret: secrets.introspector, token_endpoint_auth_method: 'client_secret_basic', may_introspect: true },
        ],
        realms: [
          {
            name: 'acme',
            tokens: { signing_alg: 'ES256' },
            clients: [{ client_id: 'acme-svc', client_secret: secrets.acme, token_endpoint_auth_method: 'client_secret_basic', scope: 'acme:read', may_introspect: true }],
          },
        ],
      },
    });
    const issuer = new URL(ts.issuer);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...INSECURE }));
  });

  after(async () => {
    await ts?.close();
    await jwksHost?.close();
  });

  async function grant(authServer: oauth.AuthorizationServer, clientId: string, auth: oauth.ClientAuth, scope = SCOPE) {
    const c: oauth.Client = { client_id: clientId };
    const response = await oauth.clientCredentialsGrantRequest(authServer, c, auth, new URLSearchParams({ scope }), INSECURE);
    return oauth.processClientCredentialsResponse(authServer, c, response);
  }

  async function grantAndVerify(clientId: string, auth: oauth.ClientAuth) {
    const result = await grant(as, clientId, auth);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.expires_in, TTL);
    assert.equal(result.scope, SCOPE);
    const { protectedHeader } = await verifyWithRemoteJwks(result.access_token, as.jwks_uri!, { issuer: ts.issuer, clientId, audience: ts.issuer, scope: SCOPE, ttl: TTL });
    assert.equal(protectedHeader.alg, 'RS256');
    return result.access_token;
  }

  async function introspect(token: string, clientId = 'o4-introspector', secret = secrets.introspector, authServer = as) {
    const c: oauth.Client = { client_id: clientId };
    const response = await oauth.introspectionRequest(authServer, c, oauth.ClientSecretBasic(secret), token, INSECURE);
    return oauth.processIntrospectionResponse(authServer, c, response);
  }

  async function revoke(token: string, clientId: string, auth: oauth.ClientAuth) {
    const response = await oauth.revocationRequest(as, { client_id: clientId }, auth, token, INSECURE);
    assert.equal(response.status, 200);
    return oauth.processRevocationResponse(response);
  }

  it('discovers RFC 8414 metadata at /.well-known/oauth-authorization-server', () => {
    assert.deepEqual(
      { ...as },
      {
        issuer: ts.issuer,
        token_endpoint: `${ts.issuer}/oauth2/token`,
        jwks_uri: `${ts.issuer}/jwks`,
        introspection_endpoint: `${ts.issuer}/oauth2/introspect`,
        revocation_endpoint: `${ts.issuer}/oauth2/revoke`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'],
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'],
        introspection_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'],
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt'],
        revocation_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512'],
        scopes_supported: SCOPE.split(' ').sort(),
      },
    );
  });

  it('client_secret_basic', async () => {
    await grantAndVerify('o4-basic', oauth.ClientSecretBasic(secrets.basic));
  });

  it('client_secret_post', async () => {
    await grantAndVerify('o4-post', oauth.ClientSecretPost(secrets.post));
  });

  it('client_secret_jwt (HS256)', async () => {
    await grantAndVerify('o4-jwt', oauth.ClientSecretJwt(secrets.jwt));
  });

  it('private_key_jwt PS256 with a jwks_uri', async () => {
    await grantAndVerify('o4-pkjwt-uri', oauth.PrivateKeyJwt({ key: psKey.privateKey, kid: psKey.kid }));
  });

  it('private_key_jwt EdDSA (Ed25519 key, header alg set to EdDSA) with a jwks_uri', async () => {
    await grantAndVerify('o4-pkjwt-uri', oauth.PrivateKeyJwt({ key: edKey.privateKey, kid: edKey.kid }, { [oauth.modifyAssertion]: (h) => void (h.alg = 'EdDSA') }));
  });

  // oauth4webapi labels an Ed25519 assertion with the fully-specified alg "Ed25519" (RFC 9864).
  it('private_key_jwt with an Ed25519 key and oauth4webapi default header alg "Ed25519"', async () => {
    const outcome = await grant(as, 'o4-pkjwt-uri', oauth.PrivateKeyJwt({ key: edKey.privateKey, kid: edKey.kid })).then(() => 'token issued', (err: unknown) => oauthFailure(err));
    assert.equal(outcome, 'token issued', `Tessera refused the Ed25519-labelled assertion: ${JSON.stringify(outcome)}`);
  });

  it('private_key_jwt RS256 with an inline jwks', async () => {
    await grantAndVerify('o4-pkjwt-inline', oauth.PrivateKeyJwt({ key: rsInline.privateKey, kid: rsInline.kid }));
  });

  it('introspection of a live token answers every RFC 7662 member exactly', async () => {
    const token = await grantAndVerify('o4-basic', oauth.ClientSecretBasic(secrets.basic));
    const { payload } = decodeParts(token);
    const result = await introspect(token);
    assert.deepEqual(
      { ...result },
      {
        active: true,
        scope: SCOPE,
        client_id: 'o4-basic',
        token_type: 'Bearer',
        exp: payload.exp,
        iat: payload.iat,
        sub: 'o4-basic',
        aud: ts.issuer,
        iss: ts.issuer,
        jti: payload.jti,
      },
    );
  });

  it('introspection of garbage is {active: false}', async () => {
    assert.deepEqual({ ...(await introspect('not-a-token')) }, { active: false });
  });

  it('a client without may_introspect gets unauthorized_client', async () => {
    const token = await grantAndVerify('o4-basic', oauth.ClientSecretBasic(secrets.basic));
    const failure = await expectOAuthFailure(introspect(token, 'o4-basic', secrets.basic));
    assert.deepEqual(failure, { status: 400, error: 'unauthorized_client', error_description: 'the client is not allowed to use the introspection endpoint', challenge: null });
  });

  it('revocation by the owning client: the token then introspects active: false', async () => {
    const token = await grantAndVerify('o4-post', oauth.ClientSecretPost(secrets.post));
    assert.equal((await introspect(token)).active, true);
    assert.equal(await revoke(token, 'o4-post', oauth.ClientSecretPost(secrets.post)), undefined);
    assert.deepEqual({ ...(await introspect(token)) }, { active: false });
    // Revoking again, or an unknown token, is still a success (RFC 7009 §2.2).
    await revoke(token, 'o4-post', oauth.ClientSecretPost(secrets.post));
    await revoke('definitely-not-a-token', 'o4-post', oauth.ClientSecretPost(secrets.post));
  });

  it('revocation with private_key_jwt client authentication', async () => {
    const auth = () => oauth.PrivateKeyJwt({ key: psKey.privateKey, kid: psKey.kid });
    const token = await grantAndVerify('o4-pkjwt-uri', auth());
    await revoke(token, 'o4-pkjwt-uri', auth());
    assert.deepEqual({ ...(await introspect(token)) }, { active: false });
  });

  it("revoking another client's token is unauthorized_client and leaves it active", async () => {
    const token = await grantAndVerify('o4-basic', oauth.ClientSecretBasic(secrets.basic));
    const response = await oauth.revocationRequest(as, { client_id: 'o4-post' }, oauth.ClientSecretPost(secrets.post), token, INSECURE);
    const failure = await expectOAuthFailure(oauth.processRevocationResponse(response));
    assert.deepEqual(failure, { status: 400, error: 'unauthorized_client', error_description: 'the token was not issued to this client', challenge: null });
    assert.equal((await introspect(token)).active, true);
  });

  it('wrong client_secret_basic credentials are invalid_client with a Basic challenge', async () => {
    const failure = await expectOAuthFailure(grant(as, 'o4-basic', oauth.ClientSecretBasic('nope')));
    assert.deepEqual(failure, { status: 401, error: 'invalid_client', error_description: 'client authentication failed', challenge: BASIC_CHALLENGE });
  });

  it('a client using a method other than the registered one is invalid_client (no challenge: no Authorization header)', async () => {
    const failure = await expectOAuthFailure(grant(as, 'o4-basic', oauth.ClientSecretPost(secrets.basic)));
    assert.deepEqual(failure, { status: 401, error: 'invalid_client', error_description: 'client authentication failed', challenge: null });
  });

  describe('realm acme', () => {
    let acme: oauth.AuthorizationServer;
    const acmeIssuer = () => `${ts.issuer}/realms/acme`;

    before(async () => {
      const issuer = new URL(acmeIssuer());
      const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...INSECURE });
      assert.equal(response.url, `${ts.url}/.well-known/oauth-authorization-server/realms/acme`);
      acme = await oauth.processDiscoveryResponse(issuer, response);
    });

    it('discovery through the path-inserted metadata URL names the realm endpoints', () => {
      assert.equal(acme.issuer, acmeIssuer());
      assert.equal(acme.token_endpoint, `${acmeIssuer()}/oauth2/token`);
      assert.equal(acme.jwks_uri, `${acmeIssuer()}/jwks`);
      assert.equal(acme.introspection_endpoint, `${acmeIssuer()}/oauth2/introspect`);
      assert.equal(acme.revocation_endpoint, `${acmeIssuer()}/oauth2/revoke`);
    });

    it('issues realm tokens (realm issuer, realm keys, realm signing alg)', async () => {
      const result = await grant(acme, 'acme-svc', oauth.ClientSecretBasic(secrets.acme), 'acme:read');
      const { protectedHeader } = await verifyWithRemoteJwks(result.access_token, acme.jwks_uri!, { issuer: acmeIssuer(), clientId: 'acme-svc', audience: acmeIssuer(), scope: 'acme:read', ttl: TTL });
      assert.equal(protectedHeader.alg, 'ES256');
      // The realm's introspection knows the token; the default realm's does not.
      assert.equal((await introspect(result.access_token, 'acme-svc', secrets.acme, acme)).active, true);
      assert.deepEqual({ ...(await introspect(result.access_token)) }, { active: false });
    });

    it('clients of the default realm do not exist in the realm', async () => {
      const failure = await expectOAuthFailure(grant(acme, 'o4-basic', oauth.ClientSecretBasic(secrets.basic)));
      assert.deepEqual(failure, { status: 401, error: 'invalid_client', error_description: 'client authentication failed', challenge: BASIC_CHALLENGE });
    });

    it('a default-realm token is not valid against the realm keys', async () => {
      const token = await grantAndVerify('o4-basic', oauth.ClientSecretBasic(secrets.basic));
      assert.deepEqual({ ...(await introspect(token, 'acme-svc', secrets.acme, acme)) }, { active: false });
    });
  });
});
