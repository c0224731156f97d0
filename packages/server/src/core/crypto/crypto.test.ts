import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createKek, parseKek } from './kek.ts';
import { decodeCompactJws, keyFitsAlg, signAsymmetric, verifyAsymmetric, ASYMMETRIC_ALGS } from './jws.ts';

describe('key-encryption key', () => {
  it('round-trips and binds ciphertext to its associated data', () => {
    const kek = createKek(randomBytes(32));
    const c = kek.encrypt(Buffer.from('private'), 'signing-key:default:k1');
    assert.match(c, /^v1\./);
    assert.equal(kek.decrypt(c, 'signing-key:default:k1').toString(), 'private');
    assert.throws(() => kek.decrypt(c, 'signing-key:other:k1'));
    assert.throws(() => createKek(randomBytes(32)).decrypt(c, 'signing-key:default:k1'));
  });
  it('parses base64url and hex keys of 32 bytes only', () => {
    assert.equal(parseKek(randomBytes(32).toString('base64url')).length, 32);
    assert.equal(parseKek('ab'.repeat(32)).length, 32);
    assert.throws(() => parseKek('short'), /32 bytes/);
  });
});

describe('JWS on node:crypto', () => {
  const keys = {
    RS: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    ES384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    EdDSA: generateKeyPairSync('ed25519'),
  };
  const pairFor = (alg: string) => (alg.startsWith('RS') || alg.startsWith('PS') ? keys.RS : alg === 'ES256' ? keys.ES256 : alg === 'ES384' ? keys.ES384 : keys.EdDSA);
  for (const alg of ASYMMETRIC_ALGS) {
    it(`${alg}: signs, verifies, and rejects a changed input`, async () => {
      const pair = pairFor(alg);
      assert.ok(keyFitsAlg(pair.publicKey, alg));
      const sig = Buffer.from(await signAsymmetric(alg, pair.privateKey, 'a.b'), 'base64url');
      assert.equal(await verifyAsymmetric(alg, pair.publicKey, 'a.b', sig), true);
      assert.equal(await verifyAsymmetric(alg, pair.publicKey, 'a.c', sig), false);
      assert.equal(await verifyAsymmetric(alg, pair.publicKey, 'a.b', Buffer.alloc(3)), false);
    });
  }
  it('refuses keys of the wrong type, curve or size', () => {
    assert.equal(keyFitsAlg(keys.ES384.publicKey, 'ES256'), false);
    assert.equal(keyFitsAlg(keys.EdDSA.publicKey, 'ES256'), false);
    assert.equal(keyFitsAlg(keys.ES256.publicKey, 'RS256'), false);
    assert.equal(keyFitsAlg(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, 'RS256'), false);
  });
  it('rejects a DER-encoded ECDSA signature (only IEEE P1363 is JWS)', async () => {
    const der = Buffer.from(await signAsymmetric('ES256', keys.ES256.privateKey, 'a.b'), 'base64url');
    assert.equal(await verifyAsymmetric('ES256', keys.ES256.publicKey, 'a.b', Buffer.concat([der, Buffer.alloc(8)])), false);
  });
  it('decodes compact JWS and explains malformed input', () => {
    assert.equal(decodeCompactJws('a.b.c.d.e'), 'encrypted (JWE) tokens are not accepted');
    assert.equal(decodeCompactJws('a.b'), 'not a compact JWS (three base64url parts)');
    assert.equal(decodeCompactJws('a+.b.c'), 'malformed base64url in JWS');
    const h = Buffer.from('{"alg":"ES256"}').toString('base64url');
    assert.equal(decodeCompactJws(`${h}.${Buffer.from('[1]').toString('base64url')}.AA`), 'JWS payload is not a JSON object');
    const ok = decodeCompactJws(`${h}.${Buffer.from('{"a":1}').toString('base64url')}.AA`);
    assert.ok(typeof ok !== 'string' && ok.payload.a === 1);
  });
});
