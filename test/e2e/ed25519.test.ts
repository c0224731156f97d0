/**
 * Ed25519 = EdDSA on an Ed25519 key, both ways (issue 11): openid-client v6 labels its Ed25519
 * assertions with the fully-specified alg "Ed25519" (RFC 9864); a client registered with
 * token_endpoint_auth_signing_alg EdDSA gets its token, and a client registered with Ed25519 is
 * served an assertion labelled EdDSA. Metadata lists both names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { generateClientKey, type ClientKeyPair } from './helpers.ts';

let ts: TestServer;
let key: ClientKeyPair;
let es: ClientKeyPair;

before(async () => {
  key = await generateClientKey('EdDSA', 'ed-1');
  es = await generateClientKey('ES256', 'es-1');
  ts = await startTestServer({
    config: {
      clients: [
        { client_id: 'pinned-eddsa', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'EdDSA', jwks: { keys: [key.publicJwk] }, scope: 'read' },
        { client_id: 'pinned-ed25519', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'Ed25519', jwks: { keys: [key.publicJwk] }, scope: 'read' },
        { client_id: 'pinned-es256', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [es.publicJwk] }, scope: 'read' },
      ],
    },
  });
});
after(async () => {
  await ts?.close();
});

const configFor = (clientId: string, auth: client.ClientAuth) => client.discovery(new URL(ts.issuer), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });

describe('openid-client Ed25519', () => {
  it('metadata lists EdDSA and Ed25519', async () => {
    const config = await configFor('pinned-eddsa', client.None());
    const algs = config.serverMetadata().token_endpoint_auth_signing_alg_values_supported;
    assert.ok(algs?.includes('EdDSA') && algs.includes('Ed25519'), String(algs));
  });

  it('alg "Ed25519" (openid-client default) for a client pinned to EdDSA gets a token', async () => {
    let seen: string | undefined;
    const auth = client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }, { [client.modifyAssertion]: (header) => void (seen = String(header.alg)) });
    const config = await configFor('pinned-eddsa', auth);
    const token = await client.clientCredentialsGrant(config, { scope: 'read' });
    assert.equal(seen, 'Ed25519');
    assert.equal(typeof token.access_token, 'string');
  });

  it('alg "EdDSA" for a client pinned to Ed25519 gets a token', async () => {
    const auth = client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }, { [client.modifyAssertion]: (header) => void (header.alg = 'EdDSA') });
    const token = await client.clientCredentialsGrant(await configFor('pinned-ed25519', auth), { scope: 'read' });
    assert.equal(typeof token.access_token, 'string');
  });

  it('an Ed25519 assertion for a client pinned to another alg is refused', async () => {
    const config = await configFor('pinned-es256', client.PrivateKeyJwt({ key: key.privateKey, kid: key.kid }));
    await assert.rejects(client.clientCredentialsGrant(config, { scope: 'read' }), (err: unknown) => {
      assert.equal((err as { error?: string }).error, 'invalid_client');
      return true;
    });
  });
});
