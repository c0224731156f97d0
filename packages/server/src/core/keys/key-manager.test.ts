import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { resolveConfig } from '../config/index.ts';
import { createKek } from '../crypto/kek.ts';
import { createMemoryStorage } from '../../storage/memory/index.ts';
import { TestClock } from '../../../../../test/fixtures/server.ts';
import { generateSigningKey, jwkThumbprint, KeyManager } from './key-manager.ts';

function setup(prePublish = 600, maxTtl = 3600) {
  const clock = new TestClock(1_800_000_000_000);
  const config = resolveConfig({ issuer: 'https://as.example.com', keys: { pre_publish: prePublish }, tokens: { max_ttl: maxTtl } });
  const storage = createMemoryStorage();
  const kek = createKek(randomBytes(32));
  const keys = new KeyManager({ store: storage.keys, kek, clock, realms: config.realms });
  return { clock, storage, keys, kek, config };
}

describe('signing keys', () => {
  it('creates the first key on init, encrypted at rest', async () => {
    const { keys, storage } = setup();
    await keys.init();
    const [stored] = await storage.keys.list('default');
    assert.ok(stored);
    assert.equal(stored.alg, 'ES256');
    assert.match(stored.privateKeyEncrypted, /^v1\./);
    assert.equal((stored.publicJwk as Record<string, unknown>).d, undefined);
    assert.equal(keys.signingKey('default').kid, stored.kid);
    await keys.init();
    assert.equal((await storage.keys.list('default')).length, 1, 'init is idempotent');
  });
  it('rotation pre-publishes, then signs, and keeps the old key until its tokens expired', async () => {
    const { keys, clock } = setup(600, 3600);
    await keys.init();
    const old = keys.signingKey('default').kid;
    const next = await keys.rotate('default');
    assert.deepEqual(keys.jwks('default').keys.map((k) => k.kid).sort(), [old, next.kid].sort());
    assert.equal(keys.signingKey('default').kid, old, 'the next key signs nothing during pre-publication');
    assert.deepEqual(keys.describe('default').map((k) => k.state), ['active', 'next']);
    clock.advance(600_000);
    assert.equal(keys.signingKey('default').kid, next.kid);
    assert.ok(keys.verificationKey('default', old), 'retired key still verifies');
    assert.deepEqual(keys.describe('default').map((k) => k.state), ['retired', 'active']);
    clock.advance(3600_000 + 5 * 60_000 + 1);
    assert.deepEqual(keys.jwks('default').keys.map((k) => k.kid), [next.kid]);
    assert.equal(keys.verificationKey('default', old), undefined);
  });
  it('a revoked key disappears at once', async () => {
    const { keys } = setup();
    await keys.init();
    const old = keys.signingKey('default').kid;
    await keys.rotate('default', { immediate: true });
    assert.equal(await keys.revoke('default', old), true);
    assert.equal(keys.verificationKey('default', old), undefined);
    assert.ok(!keys.jwks('default').keys.some((k) => k.kid === old));
  });
  it('instances starting together on a fresh backend create one first key between them', async () => {
    const { storage, kek, config, clock } = setup();
    const managers = Array.from({ length: 4 }, () => new KeyManager({ store: storage.keys, kek, clock, realms: config.realms }));
    await Promise.all(managers.map((m) => m.init()));
    assert.equal((await storage.keys.list('default')).length, 1);
    assert.equal(new Set(managers.map((m) => m.signingKey('default').kid)).size, 1);
  });
  it('an instance whose start-up read the clock before another created the first key adds no second key', async () => {
    // Seen in the cluster test on a loaded machine: B read its clock, A then created the first key
    // (active from A's later reading), and B, finding it "not yet active", added a key of its own.
    const { storage, kek, config, clock } = setup();
    const a = new KeyManager({ store: storage.keys, kek, clock, realms: config.realms });
    const store = {
      ...storage.keys,
      async createFirst(key: Parameters<typeof storage.keys.createFirst>[0]) {
        clock.advance(5);
        await a.init(); // A starts meanwhile and wins
        return storage.keys.createFirst(key);
      },
    };
    const b = new KeyManager({ store, kek, clock, realms: config.realms });
    await b.init();
    assert.equal((await storage.keys.list('default')).length, 1, 'one key between them');
    assert.equal(b.signingKey('default').kid, a.signingKey('default').kid);
  });
  it('a different key-encryption key is refused with a clear message', async () => {
    const { keys, storage, config, clock } = setup();
    await keys.init();
    const other = new KeyManager({ store: storage.keys, kek: createKek(randomBytes(32)), clock, realms: config.realms });
    await assert.rejects(other.init(), /cannot be decrypted: this key-encryption key is not the one it was stored with/);
  });
  it('a second process sharing storage loads the same keys', async () => {
    const { keys, storage, kek, config, clock } = setup();
    await keys.init();
    const other = new KeyManager({ store: storage.keys, kek, clock, realms: config.realms });
    await other.init();
    assert.equal(other.signingKey('default').kid, keys.signingKey('default').kid);
  });
});

it('no kid begins with "-" (it would read as an option: tessera keys revoke KID), and each is the key\'s thumbprint', () => {
  const kek = createKek(randomBytes(32));
  // 1 thumbprint in 64 begins with '-': 400 keys hold one with probability 1 - (63/64)^400 > 99.8 %.
  for (let i = 0; i < 400; i++) {
    const k = generateSigningKey('r', i % 2 ? 'EdDSA' : 'ES256', kek, 0, 0);
    assert.doesNotMatch(k.kid, /^-/);
    const { kid: _kid, alg: _alg, use: _use, ...pub } = k.publicJwk;
    assert.equal(k.kid, jwkThumbprint(pub as Parameters<typeof jwkThumbprint>[0]));
  }
});

