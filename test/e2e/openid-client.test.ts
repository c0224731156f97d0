/**
 * openid-client v6 against a real Tessera on loopback: discovery from the issuer, then the client
 * credentials grant with each client authentication method. Every token is verified with jose
 * against the jwks_uri the discovered metadata names, with the RFC 9068 checks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { BASIC_CHALLENGE, expectOAuthFailure, generateClientKey, longSecret, oauthFailure, startJwksHost, verifyWithRemoteJwks, type ClientKeyPair, type JwksHost, type KeyAlg } from './helpers.ts';

const API = 'https://api.example.com';
const SCOPE = 'orders:read orders:write';
const TTL = 900;

describe('openid-client v6 interoperability', () => {
  let ts: TestServer;
  let jwksHost: JwksHost;
  const uriKeys = new Map<KeyAlg, ClientKeyPair>();
  let inlineKey: ClientKeyPair;
  const basicSecret = 'basic-secret-0123456789';
  const postSecret = 'post-secret-0123456789';
  const jwtSecret = longSecret('oc-jwt');

  before(async () => {
    for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA'] as const) uriKeys.set(alg, await generateClientKey(alg));
    inlineKey = await generateClientKey('ES256');
    jwksHost = await startJwksHost([...uriKeys.values()].map((k) => k.publicJwk));
    const common = { scope: SCOPE, allowed_resources: [API], default_resource: API };
    ts = await startTestServer({
      config: {
        jwks_fetch: { allow: ['127.0.0.1'] }, // the client's key server is on loopback (SSRF rules)
        tokens: { ttl: TTL },
        clients: [
          { client_id: 'oc-basic', client_secret: basicSecret, token_endpoint_auth_method: 'client_secret_basic', ...common },
          { client_id: 'oc-post', client_secret: postSecret, token_endpoint_auth_method: 'client_secret_post', ...common },
          { client_id: 'oc-jwt', client_secret: jwtSecret, token_endpoint_auth_method: 'client_secret_jwt', ...common },
          { client_id: 'oc-pkjwt-uri', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksHost.jwksUri, ...common },
          { client_id: 'oc-pkjwt-inline', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [inlineKey.publicJwk] }, ...common },
        ],
        realms: [{ name: 'acme', clients: [{ client_id: 'oc-acme', client_secret: basicSecret, token_endpoint_auth_method: 'client_secret_basic', scope: 'acme:read' }] }],
      },
    });
  });

  after(async () => {
    await ts?.close();
    await jwksHost?.close();
  });

  async function configFor(clientId: string, auth: client.ClientAuth, metadata?: Partial<client.ClientMetadata>): Promise<client.Configuration> {
    return client.discovery(new URL(ts.issuer), clientId, metadata, auth, { execute: [client.allowInsecureRequests] });
  }

  async function grantAndVerify(config: client.Configuration, clientId: string, params: Record<string, string> = { scope: SCOPE }) {
    const response = await client.clientCredentialsGrant(config, params);
    assert.equal(response.token_type, 'bearer'); // oauth4webapi lower-cases token_type
    assert.equal(response.expires_in, TTL);
    assert.equal(response.scope, params.scope ?? SCOPE);
    assert.equal(response.refresh_token, undefined);
    const jwksUri = config.serverMetadata().jwks_uri!;
    assert.equal(jwksUri, `${ts.issuer}/jwks`);
    const { payload, protectedHeader } = await verifyWithRemoteJwks(response.access_token, jwksUri, {
      issuer: ts.issuer,
      clientId,
      audience: API,
      scope: params.scope ?? SCOPE,
      ttl: TTL,
    });
    assert.equal(protectedHeader.alg, 'ES256'); // the server's default signing alg
    return { response, payload };
  }

  it('discovers the issuer metadata (OpenID location) with exact endpoints', async () => {
    const config = await configFor('oc-basic', client.ClientSecretBasic(basicSecret));
    const md = config.serverMetadata();
    assert.equal(md.issuer, ts.issuer);
    assert.equal(md.token_endpoint, `${ts.issuer}/oauth2/token`);
    assert.equal(md.introspection_endpoint, `${ts.issuer}/oauth2/introspect`);
    assert.equal(md.revocation_endpoint, `${ts.issuer}/oauth2/revoke`);
    assert.deepEqual(md.grant_types_supported, ['client_credentials']);
    assert.deepEqual(md.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt']);
  });

  it('client_secret_basic (ClientSecretBasic)', async () => {
    const config = await configFor('oc-basic', client.ClientSecretBasic(basicSecret));
    await grantAndVerify(config, 'oc-basic');
  });

  it('client_secret_post (ClientSecretPost)', async () => {
    const config = await configFor('oc-post', client.ClientSecretPost(postSecret));
    await grantAndVerify(config, 'oc-post', { scope: 'orders:read' });
  });

  it('client_secret_post as openid-client default from a string client_secret', async () => {
    const config = await client.discovery(new URL(ts.issuer), 'oc-post', postSecret, undefined, { execute: [client.allowInsecureRequests] });
    await grantAndVerify(config, 'oc-post');
  });

  it('client_secret_jwt (ClientSecretJwt, HS256)', async () => {
    const config = await configFor('oc-jwt', client.ClientSecretJwt(jwtSecret));
    await grantAndVerify(config, 'oc-jwt');
  });

  for (const alg of ['RS256', 'PS256', 'ES256'] as const) {
    it(`private_key_jwt (PrivateKeyJwt, ${alg}) with keys from a jwks_uri`, async () => {
      const key = uriKeys.get(alg)!;
      const config = await configFor('oc-pkjwt-uri', client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }));
      await grantAndVerify(config, 'oc-pkjwt-uri');
    });
  }

  it('private_key_jwt (PrivateKeyJwt, Ed25519 key, header alg rewritten to EdDSA) with keys from a jwks_uri', async () => {
    const key = uriKeys.get('EdDSA')!;
    const auth = client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }, {
      [client.modifyAssertion]: (header) => {
        assert.equal(header.alg, 'Ed25519'); // what openid-client v6 emits for an Ed25519 key
        header.alg = 'EdDSA';
      },
    });
    const config = await configFor('oc-pkjwt-uri', auth);
    await grantAndVerify(config, 'oc-pkjwt-uri');
  });

  // openid-client v6 labels Ed25519 assertions with the fully-specified JWS alg "Ed25519" (RFC 9864).
  it('private_key_jwt (PrivateKeyJwt, Ed25519 key, openid-client default header alg "Ed25519")', async () => {
    const key = uriKeys.get('EdDSA')!;
    const config = await configFor('oc-pkjwt-uri', client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }));
    const outcome = await client.clientCredentialsGrant(config, { scope: SCOPE }).then(() => 'token issued', (err: unknown) => oauthFailure(err));
    assert.equal(outcome, 'token issued', `Tessera refused the Ed25519-labelled assertion: ${JSON.stringify(outcome)}`);
    await grantAndVerify(config, 'oc-pkjwt-uri');
  });

  it('private_key_jwt (PrivateKeyJwt, ES256) with an inline jwks', async () => {
    const config = await configFor('oc-pkjwt-inline', client.PrivateKeyJwt({ key: inlineKey.privateKey, kid: inlineKey.kid }));
    await grantAndVerify(config, 'oc-pkjwt-inline');
  });

  it('private_key_jwt with the inline key but no kid (single fitting key is selected)', async () => {
    const config = await configFor('oc-pkjwt-inline', client.PrivateKeyJwt(inlineKey.privateKey));
    await grantAndVerify(config, 'oc-pkjwt-inline');
  });

  it('the resource parameter (RFC 8707) is honoured and an unknown resource is invalid_target', async () => {
    const config = await configFor('oc-basic', client.ClientSecretBasic(basicSecret));
    await grantAndVerify(config, 'oc-basic', { scope: SCOPE, resource: API });
    const failure = await expectOAuthFailure(client.clientCredentialsGrant(config, { scope: SCOPE, resource: 'https://other.example.com' }));
    assert.deepEqual(failure, { status: 400, error: 'invalid_target', error_description: 'resource https://other.example.com is not allowed for this client', challenge: null });
  });

  it('a wrong secret is invalid_client (401 with a Basic challenge)', async () => {
    const config = await configFor('oc-basic', client.ClientSecretBasic('wrong-secret'));
    const failure = await expectOAuthFailure(client.clientCredentialsGrant(config, { scope: SCOPE }));
    assert.deepEqual(failure, { status: 401, error: 'invalid_client', error_description: 'client authentication failed', challenge: BASIC_CHALLENGE });
  });

  it('a scope outside the registration is invalid_scope', async () => {
    const config = await configFor('oc-post', client.ClientSecretPost(postSecret));
    const failure = await expectOAuthFailure(client.clientCredentialsGrant(config, { scope: 'orders:read admin' }));
    assert.deepEqual(failure, { status: 400, error: 'invalid_scope', error_description: 'scope admin is not allowed for this client', challenge: null });
  });

  it('private_key_jwt signed by an unregistered key (same kid) is invalid_client', async () => {
    const stranger = await generateClientKey('ES256', uriKeys.get('ES256')!.kid);
    const config = await configFor('oc-pkjwt-uri', client.PrivateKeyJwt({ key: stranger.privateKey, kid: stranger.kid }));
    const failure = await expectOAuthFailure(client.clientCredentialsGrant(config, { scope: SCOPE }));
    assert.deepEqual(failure, { status: 401, error: 'invalid_client', error_description: 'client authentication failed', challenge: null });
  });

  it('client_secret_jwt with a wrong secret is invalid_client', async () => {
    const config = await configFor('oc-jwt', client.ClientSecretJwt(longSecret('not-the-one')));
    const failure = await expectOAuthFailure(client.clientCredentialsGrant(config, { scope: SCOPE }));
    assert.deepEqual(failure, { status: 401, error: 'invalid_client', error_description: 'client authentication failed', challenge: null });
  });
  it('a client rotating its key at the jwks_uri is picked up (re-fetch on an unknown kid)', async () => {
    const fetchesBefore = jwksHost.fetches();
    const next = await generateClientKey('ES256');
    jwksHost.setKeys([...[...uriKeys.values()].map((k) => k.publicJwk), next.publicJwk]);
    const config = await configFor('oc-pkjwt-uri', client.PrivateKeyJwt({ key: next.privateKey, kid: next.kid }));
    await grantAndVerify(config, 'oc-pkjwt-uri');
    assert.equal(jwksHost.fetches(), fetchesBefore + 1);
  });

  it('a realm is discovered at its issuer (OpenID appended location) and issues realm tokens', async () => {
    const realmIssuer = `${ts.issuer}/realms/acme`;
    const config = await client.discovery(new URL(realmIssuer), 'oc-acme', undefined, client.ClientSecretBasic(basicSecret), { execute: [client.allowInsecureRequests] });
    assert.equal(config.serverMetadata().issuer, realmIssuer);
    assert.equal(config.serverMetadata().token_endpoint, `${realmIssuer}/oauth2/token`);
    const response = await client.clientCredentialsGrant(config, { scope: 'acme:read' });
    await verifyWithRemoteJwks(response.access_token, config.serverMetadata().jwks_uri!, { issuer: realmIssuer, clientId: 'oc-acme', audience: realmIssuer, scope: 'acme:read', ttl: TTL });
  });
});
