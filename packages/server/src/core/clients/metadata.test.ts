import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createKek } from '../crypto/kek.ts';
import { buildClientRecord, toClientMetadata } from './metadata.ts';
import { generateTestKey } from '../../../../../test/fixtures/assertions.ts';

const opts = { kek: createKek(randomBytes(32)), now: 1, maxTtlSeconds: 3600 };
const build = (input: Record<string, unknown>) => buildClientRecord('default', { client_id: 'c', ...input } as never, opts);

describe('client metadata', () => {
  it('generates a secret when none is given, stored only as a hash', async () => {
    const { record, generatedSecret } = await build({ scope: 'a b' });
    assert.ok(generatedSecret && generatedSecret.length >= 43);
    assert.equal(record.tokenEndpointAuthMethod, 'client_secret_basic');
    assert.match(record.secretHash!, /^sha256\$/);
    assert.equal(record.secretEncrypted, undefined);
    assert.ok(!JSON.stringify(record).includes(generatedSecret));
    assert.deepEqual(record.scopes, ['a', 'b']);
    assert.deepEqual(record.grantTypes, ['client_credentials']);
    const view = toClientMetadata(record);
    assert.equal(view.client_secret, undefined);
    assert.ok(!JSON.stringify(view).includes('sha256'));
  });
  it('client_secret_jwt keeps the secret encrypted (it is an HMAC key) and needs 32 bytes at least', async () => {
    const { record, generatedSecret } = await build({ token_endpoint_auth_method: 'client_secret_jwt' });
    assert.equal(Buffer.from(generatedSecret!, 'base64url').length, 64);
    assert.match(record.secretEncrypted!, /^v1\./);
    await assert.rejects(build({ token_endpoint_auth_method: 'client_secret_jwt', client_secret: 'short' }), /at least 32 bytes/);
    await assert.rejects(build({ token_endpoint_auth_method: 'client_secret_jwt', client_secret: 'x'.repeat(40), token_endpoint_auth_signing_alg: 'HS512' }), /at least 64 bytes/);
  });
  it('private_key_jwt needs exactly one of jwks and jwks_uri, with usable public keys', async () => {
    const key = generateTestKey('ES256', 'k');
    const { record } = await build({ jwks: { keys: [key.publicJwk] } });
    assert.equal(record.tokenEndpointAuthMethod, 'private_key_jwt');
    await assert.rejects(build({ token_endpoint_auth_method: 'private_key_jwt' }), /exactly one of jwks and jwks_uri/);
    await assert.rejects(build({ jwks: { keys: [key.publicJwk] }, jwks_uri: 'https://x.example/jwks' }), /exactly one/);
    await assert.rejects(build({ jwks: { keys: [{ ...key.publicJwk, d: 'secret' }] } }), /jwks\.keys\.0: contains private key material \(d\); register only the public key/);
    await assert.rejects(build({ jwks: { keys: [key.publicJwk, key.publicJwk] } }), /duplicate kid/);
    await assert.rejects(build({ jwks_uri: 'http://example.com/jwks' }), /must be https/);
    await assert.rejects(build({ jwks: { keys: [key.publicJwk] }, client_secret: 'x' }), /not used by private_key_jwt/);
    await assert.rejects(build({ jwks: { keys: [key.publicJwk] }, token_endpoint_auth_signing_alg: 'none' }), /not an asymmetric alg/);
    await assert.rejects(build({ jwks: { keys: [key.publicJwk] }, token_endpoint_auth_signing_alg: 'RS256' }), /does not fit RS256/);
  });
  it('refuses inconsistent settings', async () => {
    await assert.rejects(build({ scope: 'a', default_scopes: 'b' }), /default_scopes: b is not in scope/);
    await assert.rejects(build({ grant_types: ['authorization_code'] }), /not supported/);
    await assert.rejects(build({ access_token_ttl: 7200 }), /at most 3600/);
    await assert.rejects(build({ allowed_resources: ['not a uri'] }), /absolute URI/);
    await assert.rejects(build({ extra_claims: { sub: 'admin' } }), /reserved claim/);
    await assert.rejects(build({ client_id: 'has space' }), /client_id/);
    await assert.rejects(build({ scope: 'a"b' }), /not a valid scope list/);
    await assert.rejects(build({ allow_basic_with_assertion: true }), /only for private_key_jwt/);
  });
  it('keeps the stored secret when an update names none', async () => {
    const first = await build({ scope: 'a' });
    const { record, generatedSecret } = await buildClientRecord('default', { client_id: 'c', scope: 'a b' }, { ...opts, existing: first.record });
    assert.equal(generatedSecret, undefined);
    assert.equal(record.secretHash, first.record.secretHash);
  });
});
