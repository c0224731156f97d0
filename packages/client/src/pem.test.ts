/**
 * Private keys without node:crypto: PKCS#8, PKCS#1 (RSA) and SEC1 (EC) PEMs, JWKs, KeyObjects and
 * CryptoKeys all sign verifiable assertions, with the algorithm following the key type.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { generateKeyPair, jwtVerify } from 'jose';
import { createClientAssertion, privateKeySigner } from './assertion.ts';

const claims = { clientId: 'svc', audience: 'https://as.example', typ: 'JWT', now: Date.now() };

async function signsWith(privateKey: Parameters<typeof privateKeySigner>[0], publicKey: Parameters<typeof jwtVerify>[1], alg: string): Promise<void> {
  const signer = privateKeySigner(privateKey);
  assert.equal(signer.alg, alg);
  const jwt = await createClientAssertion(signer, claims);
  const { protectedHeader, payload } = await jwtVerify(jwt, publicKey, { issuer: 'svc', audience: 'https://as.example' });
  assert.equal(protectedHeader.alg, alg);
  assert.equal(payload.sub, 'svc');
}

describe('private keys for private_key_jwt', () => {
  it('PEM in PKCS#8, PKCS#1 and SEC1 form, for RSA, RSA-PSS, P-256/384/521 and Ed25519', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await signsWith(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, rsa.publicKey, 'RS256');
    await signsWith(rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string, rsa.publicKey, 'RS256');
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    assert.equal(privateKeySigner(pss.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string).alg, 'PS256');
    for (const [curve, alg] of [['P-256', 'ES256'], ['P-384', 'ES384'], ['P-521', 'ES512']] as const) {
      const ec = generateKeyPairSync('ec', { namedCurve: curve });
      await signsWith(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, ec.publicKey, alg);
      await signsWith(ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string, ec.publicKey, alg);
    }
    const ed = generateKeyPairSync('ed25519');
    await signsWith(ed.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, ed.publicKey, 'EdDSA');
  });

  it('KeyObject, CryptoKey and JWK inputs', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await signsWith(ec.privateKey, ec.publicKey, 'ES256');
    await signsWith({ ...ec.privateKey.export({ format: 'jwk' }) } as never, ec.publicKey, 'ES256');
    const web = await generateKeyPair('ES384');
    await signsWith(web.privateKey, web.publicKey, 'ES384');
  });

  it('refuses public keys, encrypted or malformed PEMs and symmetric JWKs synchronously', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const encrypted = ec.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }) as string;
    for (const bad of [
      'not a pem',
      encrypted,
      ec.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----',
      ec.publicKey,
      { kty: 'oct', k: 'AAAA' },
      { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' },
    ]) {
      assert.throws(() => privateKeySigner(bad as never), TypeError, String(bad));
    }
    assert.throws(() => privateKeySigner(ec.privateKey, { alg: 'HS256' }), TypeError);
  });
});
