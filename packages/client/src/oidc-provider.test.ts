/**
 * Interop: the SDK's client-credentials flow against a real oidc-provider (v9) on a loopback port,
 * and the resulting RFC 9068 JWT accepted by this package's resource-server verifier.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { TokenClient, TokenError } from './index.ts';
import { BearerError, createVerifier } from '../../resource-server/src/index.ts';

const API = 'https://api.example.test/';
/** A resource whose tokens are opaque: oidc-provider only introspects those. */
const OPAQUE_API = 'https://opaque.example.test/';
const BASIC_SECRET = 'interop:secret%with+odd chars';

let server: Server;
let issuer: string;
let clientKey: JWK;

/** Loaded through a non-literal specifier: oidc-provider ships no type declarations. */
async function loadProvider(): Promise<{
  Provider: new (issuer: string, configuration: object) => { callback(): (...args: unknown[]) => void };
  InvalidTarget: new (description: string) => Error;
}> {
  const specifier = 'oidc-provider';
  const module = (await import(specifier)) as { default: never; errors: { InvalidTarget: never } };
  return { Provider: module.default, InvalidTarget: module.errors.InvalidTarget };
}

before(async () => {
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const signing = await generateKeyPair('ES256', { extractable: true });
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const client = await generateKeyPair('ES256', { extractable: true });
  clientKey = { ...(await exportJWK(client.privateKey)), kid: 'client-key-1' };
  const clientPublic = { ...(await exportJWK(client.publicKey)), kid: 'client-key-1', use: 'sig' };

  const { Provider, InvalidTarget } = await loadProvider();
  const provider = new Provider(issuer, {
    jwks: {
      keys: [
        { ...(await exportJWK(signing.privateKey)), kid: 'as-es256', use: 'sig', alg: 'ES256' },
        { ...(await exportJWK(rsa.privateKey)), kid: 'as-rs256', use: 'sig', alg: 'RS256' },
      ],
    },
    clients: [
      {
        client_id: 'basic-client',
        client_secret: BASIC_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'payments read',
      },
      {
        client_id: 'jwt-client',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [clientPublic] },
        scope: 'payments read',
      },
    ],
    scopes: ['payments', 'read'],
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: () => true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource === API) {
            return { scope: 'payments read', audience: API, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
          }
          if (resource === OPAQUE_API) return { scope: 'payments read', audience: OPAQUE_API, accessTokenTTL: 300, accessTokenFormat: 'opaque' };
          throw new InvalidTarget('unknown resource');
        },
      },
    },
  });
  server.on('request', provider.callback());
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('against oidc-provider', () => {
  it('client_secret_basic: discovery (OIDC fallback), token, and verification by the resource server', async () => {
    const client = new TokenClient({ issuer, clientId: 'basic-client', auth: { method: 'client_secret_basic', clientSecret: BASIC_SECRET } });
    const token = await client.getToken({ scope: 'payments', resource: API });
    assert.equal(token.tokenType, 'Bearer');
    assert.equal(token.scope, 'payments');
    assert.ok(token.expiresAt > Date.now() + 200_000);
    assert.equal(await client.getToken({ scope: 'payments', resource: API }), token);

    const verifier = createVerifier({ issuer, audience: API, scopes: ['payments'] });
    const verified = await verifier.verify(token.accessToken);
    assert.equal(verified.clientId, 'basic-client');
    assert.deepEqual(verified.scopes, ['payments']);
    assert.deepEqual(verified.audience, [API]);
  });

  it('private_key_jwt with issuer and token-endpoint audiences', async () => {
    for (const assertionAudience of ['issuer', 'token_endpoint'] as const) {
      const client = new TokenClient({
        issuer,
        clientId: 'jwt-client',
        auth: { method: 'private_key_jwt', privateKey: clientKey },
        assertionAudience,
      });
      const token = await client.getToken({ scope: 'read payments', resource: API });
      assert.equal(token.scope, 'payments read');
      const verified = await createVerifier({ issuer, audience: API }).verify(token.accessToken);
      assert.equal(verified.clientId, 'jwt-client');
    }
  });

  it('introspection mode verifies an opaque token at the provider', async () => {
    const client = new TokenClient({ issuer, clientId: 'basic-client', auth: { method: 'client_secret_basic', clientSecret: BASIC_SECRET } });
    const token = await client.getToken({ scope: 'read', resource: OPAQUE_API });
    const verifier = createVerifier({
      issuer,
      audience: OPAQUE_API,
      introspection: { clientId: 'basic-client', clientSecret: BASIC_SECRET },
    });
    const verified = await verifier.verify(token.accessToken, { scopes: ['read'] });
    assert.equal(verified.clientId, 'basic-client');
    await assert.rejects(
      createVerifier({ issuer, audience: API, introspection: { clientId: 'basic-client', clientSecret: BASIC_SECRET } }).verify(token.accessToken),
      (e: unknown) => e instanceof BearerError && e.error === 'invalid_token',
    );
  });

  it('surfaces the provider’s OAuth errors as TokenError', async () => {
    const wrongSecret = new TokenClient({ issuer, clientId: 'basic-client', auth: { method: 'client_secret_basic', clientSecret: 'wrong' } });
    await assert.rejects(wrongSecret.getToken({ resource: API }), (e: unknown) => e instanceof TokenError && e.error === 'invalid_client' && e.status === 401);
    const client = new TokenClient({ issuer, clientId: 'basic-client', auth: { method: 'client_secret_basic', clientSecret: BASIC_SECRET } });
    await assert.rejects(client.getToken({ resource: 'https://elsewhere.example.test/' }), (e: unknown) => e instanceof TokenError && e.status === 400);
  });
});
