import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SecretVerifier, generateSecret, hashSecret } from './secrets.ts';

describe('client secrets', () => {
  it('generated secrets carry 256 bits and are stored as SHA-256', async () => {
    const s = generateSecret();
    assert.equal(Buffer.from(s, 'base64url').length, 32);
    const h = await hashSecret(s, true);
    assert.match(h, /^sha256\$[A-Za-z0-9_-]{43}$/);
    assert.ok(!h.includes(s));
    const v = new SecretVerifier();
    assert.equal(await v.verify(h, s), true);
    assert.equal(await v.verify(h, s + 'x'), false);
    assert.equal(await v.verify(h, ''), false);
  });
  it('chosen secrets are stored with scrypt and a random salt', async () => {
    const a = await hashSecret('forgerock', false);
    const b = await hashSecret('forgerock', false);
    assert.match(a, /^scrypt\$16384\$8\$1\$/);
    assert.notEqual(a, b);
    const v = new SecretVerifier();
    assert.equal(await v.verify(a, 'forgerock'), true);
    // served from the per-process memo afterwards, still exact
    assert.equal(await v.verify(a, 'forgerock'), true);
    assert.equal(await v.verify(a, 'forgerocK'), false);
    assert.equal(await v.verify(b, 'wrong'), false);
  });
  it('concurrent checks of one chosen secret all answer exactly (they share one scrypt)', async () => {
    const h = await hashSecret('shared one', false);
    const v = new SecretVerifier();
    const results = await Promise.all([...Array(16).fill('shared one'), 'shared two', 'shared onE'].map((p) => v.verify(h, p)));
    assert.deepEqual(results, [...Array(16).fill(true), false, false]);
  });
  it('an unknown client never verifies', async () => {
    assert.equal(await new SecretVerifier().verify(undefined, 'x'), false);
    assert.equal(await new SecretVerifier().verify('md5$abc', 'x'), false);
  });
});
