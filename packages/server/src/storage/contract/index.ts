/**
 * The behavioural contract of the storage ports, as node:test suites. Every adapter runs it:
 *
 *   runStorageContract('sqlite', async () => ({ storage, cleanup }));
 *
 * The factory is called once per test. It must resolve a storage that is migrated and empty;
 * `cleanup` must close that storage and remove whatever it wrote. The suite uses nothing but the
 * Storage interface.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeEvent, ClientRecord, SigningKeyRecord, Storage } from '../../core/ports/index.ts';

import { runAdminStorageContract } from './admin.ts';

export type StorageFactory = () => Promise<{ storage: Storage; cleanup: () => Promise<void> }>;

/** Resolves once `condition` holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A complete client record, with nested members to catch shallow copies. */
function client(realm: string, clientId: string, changes: Partial<ClientRecord> = {}): ClientRecord {
  return {
    realm,
    clientId,
    clientName: `Client ${clientId}`,
    owners: ['team-a'],
    disabled: false,
    tokenEndpointAuthMethod: 'private_key_jwt',
    tokenEndpointAuthSigningAlg: 'ES256',
    jwks: { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'x-coordinate', y: 'y-coordinate' }] },
    grantTypes: ['client_credentials'],
    scopes: ['read', 'write'],
    defaultScopes: ['read'],
    allowedResources: ['https://api.example.com'],
    extraClaims: { tenant: { id: 7, tags: ['blue'] } },
    mayIntrospect: false,
    allowBasicWithAssertion: false,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...changes,
  };
}

function signingKey(realm: string, kid: string, activatesAt: number, changes: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  return {
    realm,
    kid,
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', kid, alg: 'ES256', use: 'sig', x: 'x', y: 'y' },
    privateKeyEncrypted: `encrypted-${kid}`,
    createdAt: 1_700_000_000_000,
    activatesAt,
    ...changes,
  };
}

const ids = (clients: ClientRecord[]): string[] => clients.map((c) => c.clientId);
const kids = (keys: SigningKeyRecord[]): string[] => keys.map((k) => k.kid);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Registers the contract suite for one adapter. */
export function runStorageContract(name: string, factory: StorageFactory): void {
  runAdminStorageContract(name, factory);
  describe(`storage contract: ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ storage, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('clients', () => {
      it('get resolves undefined for an unknown client', async () => {
        assert.equal(await storage.clients.get('r1', 'nobody'), undefined);
      });

      it('create stores the record and get returns it unchanged', async () => {
        const record = client('r1', 'c1');
        assert.equal(await storage.clients.create(record), true);
        assert.deepEqual(await storage.clients.get('r1', 'c1'), record);
      });

      it('create resolves false for a taken id and overwrites nothing', async () => {
        const original = client('r1', 'c1');
        await storage.clients.create(original);
        assert.equal(await storage.clients.create(client('r1', 'c1', { clientName: 'Impostor', owners: ['x'] })), false);
        assert.deepEqual(await storage.clients.get('r1', 'c1'), original);
        assert.equal(await storage.clients.count('r1'), 1);
      });

      it('keeps realms apart: the same id in another realm is another client', async () => {
        await storage.clients.create(client('r1', 'c1'));
        assert.equal(await storage.clients.get('r2', 'c1'), undefined);
        const other = client('r2', 'c1', { clientName: 'Other realm' });
        assert.equal(await storage.clients.create(other), true);
        assert.deepEqual(await storage.clients.get('r2', 'c1'), other);
        assert.equal((await storage.clients.get('r1', 'c1'))?.clientName, 'Client c1');
      });

      it('put inserts a new client and replaces an existing one whole', async () => {
        const first = client('r1', 'c1');
        await storage.clients.put(first);
        assert.deepEqual(await storage.clients.get('r1', 'c1'), first);

        const { defaultScopes: _dropped, ...withoutDefaults } = first;
        const second: ClientRecord = { ...withoutDefaults, scopes: ['admin'], disabled: true, updatedAt: first.updatedAt + 1 };
        await storage.clients.put(second);
        const stored = await storage.clients.get('r1', 'c1');
        assert.deepEqual(stored, second);
        assert.equal(stored !== undefined && 'defaultScopes' in stored, false);
        assert.equal(await storage.clients.count('r1'), 1);
      });

      it('list orders clients by id in code point order', async () => {
        const unordered = ['b', 'B', 'a10', 'a2', 'A', '_x', '1', 'é', '\u{1F600}', '\uFB00'];
        for (const id of unordered) await storage.clients.create(client('r1', id));
        assert.deepEqual(ids(await storage.clients.list('r1')), ['1', 'A', 'B', '_x', 'a10', 'a2', 'b', 'é', '\uFB00', '\u{1F600}']);
      });

      it('list pages with after and limit', async () => {
        for (const id of ['c5', 'c3', 'c1', 'c4', 'c2']) await storage.clients.create(client('r1', id));
        assert.deepEqual(ids(await storage.clients.list('r1', { limit: 2 })), ['c1', 'c2']);
        assert.deepEqual(ids(await storage.clients.list('r1', { after: 'c2', limit: 2 })), ['c3', 'c4']);
        assert.deepEqual(ids(await storage.clients.list('r1', { after: 'c4', limit: 2 })), ['c5']);
        assert.deepEqual(ids(await storage.clients.list('r1', { after: 'c5', limit: 2 })), []);
        // `after` need not name an existing client.
        assert.deepEqual(ids(await storage.clients.list('r1', { after: 'c2x' })), ['c3', 'c4', 'c5']);
        assert.deepEqual(ids(await storage.clients.list('r1', { limit: 0 })), []);
      });

      it('list walks every client of a realm page by page, and only that realm', async () => {
        const all = Array.from({ length: 23 }, (_, i) => `client-${String(i).padStart(3, '0')}`);
        for (const id of all) await storage.clients.create(client('r1', id));
        await storage.clients.create(client('r0', 'client-000a'));
        await storage.clients.create(client('r2', 'client-000a'));

        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await storage.clients.list('r1', after === undefined ? { limit: 5 } : { after, limit: 5 });
          assert.ok(page.length <= 5);
          assert.ok(page.every((c) => c.realm === 'r1'));
          if (page.length === 0) break;
          seen.push(...ids(page));
          after = page.at(-1)!.clientId;
        }
        assert.deepEqual(seen, all);
        assert.deepEqual(await storage.clients.list('r3'), []);
      });

      it('delete resolves true once, then false, and leaves other realms alone', async () => {
        await storage.clients.create(client('r1', 'c1'));
        await storage.clients.create(client('r2', 'c1'));
        assert.equal(await storage.clients.delete('r1', 'c1'), true);
        assert.equal(await storage.clients.get('r1', 'c1'), undefined);
        assert.equal(await storage.clients.delete('r1', 'c1'), false);
        assert.equal(await storage.clients.delete('r1', 'never'), false);
        assert.equal((await storage.clients.get('r2', 'c1'))?.clientId, 'c1');
        assert.equal(await storage.clients.create(client('r1', 'c1')), true, 'a deleted id can be reused');
      });

      it('count counts the clients of one realm', async () => {
        assert.equal(await storage.clients.count('r1'), 0);
        for (const id of ['a', 'b', 'c']) await storage.clients.create(client('r1', id));
        await storage.clients.create(client('r2', 'a'));
        await storage.clients.put(client('r1', 'a', { disabled: true }));
        assert.equal(await storage.clients.count('r1'), 3);
        assert.equal(await storage.clients.count('r2'), 1);
        await storage.clients.delete('r1', 'b');
        assert.equal(await storage.clients.count('r1'), 2);
      });

      it('hands out copies: mutating a returned or a passed record changes nothing stored', async () => {
        const original = client('r1', 'c1');
        const passed = structuredClone(original);
        await storage.clients.create(passed);
        passed.scopes.push('from-caller');
        passed.jwks!.keys[0]!.kid = 'from-caller';

        const fetched = (await storage.clients.get('r1', 'c1'))!;
        fetched.owners.push('intruder');
        fetched.jwks!.keys[0]!.kid = 'changed';
        (fetched.extraClaims!.tenant as { tags: string[] }).tags.push('red');
        const [listed] = await storage.clients.list('r1');
        listed!.scopes.length = 0;

        assert.deepEqual(await storage.clients.get('r1', 'c1'), original);
        assert.deepEqual(await storage.clients.list('r1'), [original]);
      });
    });

    describe('signing keys', () => {
      it('list resolves an empty array for a realm without keys', async () => {
        assert.deepEqual(await storage.keys.list('r1'), []);
      });

      it('createFirst inserts only into a realm without keys, once among concurrent callers', async () => {
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) => storage.keys.createFirst(signingKey('r1', `first-${i}`, 1000))));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal((await storage.keys.list('r1')).length, 1);
        assert.equal(await storage.keys.createFirst(signingKey('r2', 'other-realm', 1000)), true);
        assert.equal(await storage.keys.createFirst(signingKey('r1', 'late', 1000)), false);
      });

      it('list orders keys by activatesAt, then kid', async () => {
        await storage.keys.put(signingKey('r1', 'k-late', 3000));
        await storage.keys.put(signingKey('r1', 'k-b', 2000));
        await storage.keys.put(signingKey('r1', 'k-first', 1000));
        await storage.keys.put(signingKey('r1', 'k-a', 2000));
        assert.deepEqual(kids(await storage.keys.list('r1')), ['k-first', 'k-a', 'k-b', 'k-late']);
      });

      it('put replaces the key with the same kid whole', async () => {
        const key = signingKey('r1', 'k1', 1000);
        await storage.keys.put(key);
        await storage.keys.put(signingKey('r1', 'k2', 2000));
        const revoked = { ...key, activatesAt: 5000, revokedAt: 4000 };
        await storage.keys.put(revoked);
        assert.deepEqual(await storage.keys.list('r1'), [signingKey('r1', 'k2', 2000), revoked]);
      });

      it('delete resolves true once, then false', async () => {
        await storage.keys.put(signingKey('r1', 'k1', 1000));
        await storage.keys.put(signingKey('r1', 'k2', 2000));
        assert.equal(await storage.keys.delete('r1', 'k1'), true);
        assert.equal(await storage.keys.delete('r1', 'k1'), false);
        assert.equal(await storage.keys.delete('r1', 'unknown'), false);
        assert.deepEqual(kids(await storage.keys.list('r1')), ['k2']);
      });

      it('keeps realms apart', async () => {
        await storage.keys.put(signingKey('r1', 'k1', 1000));
        await storage.keys.put(signingKey('r2', 'k1', 2000, { alg: 'RS256' }));
        assert.equal(await storage.keys.delete('r3', 'k1'), false);
        assert.deepEqual(await storage.keys.list('r1'), [signingKey('r1', 'k1', 1000)]);
        assert.deepEqual(await storage.keys.list('r2'), [signingKey('r2', 'k1', 2000, { alg: 'RS256' })]);
        await storage.keys.delete('r1', 'k1');
        assert.deepEqual(kids(await storage.keys.list('r2')), ['k1']);
      });

      it('hands out copies', async () => {
        const key = signingKey('r1', 'k1', 1000);
        await storage.keys.put(key);
        const [fetched] = await storage.keys.list('r1');
        fetched!.publicJwk.kid = 'changed';
        fetched!.revokedAt = 1;
        key.privateKeyEncrypted = 'changed';
        assert.deepEqual(await storage.keys.list('r1'), [signingKey('r1', 'k1', 1000)]);
      });
    });

    describe('revocations', () => {
      const later = () => Date.now() + 3_600_000;

      it('isRevoked is false until revoke, then true', async () => {
        assert.equal(await storage.revocations.isRevoked('r1', 'jti-1'), false);
        await storage.revocations.revoke('r1', 'jti-1', later());
        assert.equal(await storage.revocations.isRevoked('r1', 'jti-1'), true);
        assert.equal(await storage.revocations.isRevoked('r1', 'jti-2'), false);
      });

      it('revoke is idempotent', async () => {
        const expiresAt = later();
        await storage.revocations.revoke('r1', 'jti-1', expiresAt);
        await storage.revocations.revoke('r1', 'jti-1', expiresAt);
        assert.equal(await storage.revocations.isRevoked('r1', 'jti-1'), true);
        assert.equal(await storage.revocations.purgeExpired(expiresAt + 1), 1, 'one entry, not two');
        assert.equal(await storage.revocations.isRevoked('r1', 'jti-1'), false);
      });

      it('keeps an entry until the latest expiresAt it was given', async () => {
        const t = later();
        await storage.revocations.revoke('r1', 'extended', t + 1000);
        await storage.revocations.revoke('r1', 'extended', t + 10_000);
        await storage.revocations.revoke('r1', 'not-shortened', t + 10_000);
        await storage.revocations.revoke('r1', 'not-shortened', t + 1000);
        assert.equal(await storage.revocations.purgeExpired(t + 5000), 0);
        assert.equal(await storage.revocations.isRevoked('r1', 'extended'), true);
        assert.equal(await storage.revocations.isRevoked('r1', 'not-shortened'), true);
      });

      it('purgeExpired removes the entries that expired before now and counts them', async () => {
        const t = later();
        await storage.revocations.revoke('r1', 'before', t - 1);
        await storage.revocations.revoke('r2', 'before-other-realm', t - 500);
        await storage.revocations.revoke('r1', 'at', t);
        await storage.revocations.revoke('r1', 'after', t + 1);
        assert.equal(await storage.revocations.purgeExpired(t), 2);
        assert.equal(await storage.revocations.isRevoked('r1', 'before'), false);
        assert.equal(await storage.revocations.isRevoked('r2', 'before-other-realm'), false);
        assert.equal(await storage.revocations.isRevoked('r1', 'at'), true);
        assert.equal(await storage.revocations.isRevoked('r1', 'after'), true);
        assert.equal(await storage.revocations.purgeExpired(t), 0);
      });

      it('keeps realms apart', async () => {
        await storage.revocations.revoke('r1', 'jti-1', later());
        assert.equal(await storage.revocations.isRevoked('r2', 'jti-1'), false);
      });

      it('lists a realm entries ordered by jti', async () => {
        const t = later();
        await storage.revocations.revoke('r1', 'b', t + 2);
        await storage.revocations.revoke('r1', 'a', t + 1);
        await storage.revocations.revoke('r2', 'c', t);
        assert.deepEqual(await storage.revocations.list('r1'), [{ jti: 'a', expiresAt: t + 1 }, { jti: 'b', expiresAt: t + 2 }]);
        assert.deepEqual(await storage.revocations.list('r3'), []);
      });
    });

    describe('replay', () => {
      const later = () => Date.now() + 60_000;

      it('the first consume resolves true, every later one false', async () => {
        const expiresAt = later();
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-1', expiresAt), true);
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-1', expiresAt), false);
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-1', expiresAt + 60_000), false);
      });

      it('the same jti of another client or another realm is another record', async () => {
        const expiresAt = later();
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-1', expiresAt), true);
        assert.equal(await storage.replay.consume('r1', 'c2', 'jti-1', expiresAt), true);
        assert.equal(await storage.replay.consume('r2', 'c1', 'jti-1', expiresAt), true);
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-2', expiresAt), true);
        assert.equal(await storage.replay.consume('r2', 'c1', 'jti-1', expiresAt), false);
      });

      it('a record past its expiresAt counts as absent', async () => {
        const expiresAt = Date.now() + 150;
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-1', expiresAt), true);
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-1', expiresAt), false);
        await sleep(Math.max(0, expiresAt - Date.now()) + 20);
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-1', later()), true);
        assert.equal(await storage.replay.consume('r1', 'c1', 'jti-1', later()), false, 'the new record lives');
      });

      it('exactly one of 20 concurrent consumes resolves true', async () => {
        const expiresAt = later();
        const results = await Promise.all(
          Array.from({ length: 20 }, () => storage.replay.consume('r1', 'c1', 'jti-race', expiresAt)),
        );
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('concurrent consumes of different records each get their own answer', async () => {
        const expiresAt = later();
        assert.equal(await storage.replay.consume('r1', 'c1', 'used-before', expiresAt), true);
        const calls: Array<[string, string, string]> = [
          ['r1', 'c1', 'a'], ['r1', 'c1', 'b'], ['r1', 'c2', 'a'], ['r1', 'c1', 'a'], ['r2', 'c1', 'a'],
          ['r1', 'c1', 'used-before'], ['r1', 'c1', 'b'], ['r1', 'c3', 'z'],
        ];
        const results = await Promise.all(calls.map(([realm, client, jti]) => storage.replay.consume(realm, client, jti, expiresAt)));
        assert.deepEqual(results, [true, true, true, false, true, false, false, true]);
        assert.equal(await storage.replay.consume('r1', 'c3', 'z', expiresAt), false, 'written before answering');
      });

      it('a jti with NUL or a lone surrogate fails no other consume and is refused when repeated', async () => {
        const expiresAt = later();
        const odd = ['nul\u0000jti', 'lone\ud800jti', 'low\udc00'];
        const results = await Promise.all([
          storage.replay.consume('r1', 'c1', 'plain', expiresAt),
          ...odd.map((jti) => storage.replay.consume('r1', 'c1', jti, expiresAt)),
        ]);
        assert.deepEqual(results, [true, true, true, true]);
        for (const jti of odd) assert.equal(await storage.replay.consume('r1', 'c1', jti, expiresAt), false, JSON.stringify(jti));
        assert.equal(await storage.replay.consume('r1', 'c1', 'plain', expiresAt), false);
      });

      it('purgeExpired removes the records that expired before now and counts them', async () => {
        const t = later();
        await storage.replay.consume('r1', 'c1', 'short', t - 1);
        await storage.replay.consume('r2', 'c9', 'short', t - 500);
        await storage.replay.consume('r1', 'c1', 'at', t);
        await storage.replay.consume('r1', 'c1', 'long', t + 1);
        assert.equal(await storage.replay.purgeExpired(t), 2);
        assert.equal(await storage.replay.purgeExpired(t), 0);
        assert.equal(await storage.replay.consume('r1', 'c1', 'at', t), false, 'kept: not before now');
        assert.equal(await storage.replay.consume('r1', 'c1', 'long', t), false, 'kept');
      });
    });

    describe('change feed', () => {
      const clientChange: ChangeEvent = { realm: 'r1', kind: 'client', id: 'c1' };
      const keysChange: ChangeEvent = { realm: 'r2', kind: 'keys', id: '' };
      const realmChange: ChangeEvent = { realm: 'r3', kind: 'realm', id: '' };

      it('delivers published events to a subscriber, in order', async () => {
        const received: ChangeEvent[] = [];
        const unsubscribe = storage.changes.subscribe((event) => received.push(event));
        try {
          await storage.changes.publish(clientChange);
          await storage.changes.publish(keysChange);
          await waitFor(() => received.length >= 2, 'two events');
          assert.deepEqual(received, [clientChange, keysChange]);
        } finally {
          unsubscribe();
        }
      });

      it("carries 'realm' events (a runtime realm created or deleted)", async () => {
        const received: ChangeEvent[] = [];
        const unsubscribe = storage.changes.subscribe((event) => received.push(event));
        try {
          await storage.changes.publish(realmChange);
          await storage.changes.publish(clientChange);
          await waitFor(() => received.length >= 2, 'two events');
          assert.deepEqual(received, [realmChange, clientChange]);
        } finally {
          unsubscribe();
        }
      });

      it('stops delivering to a listener that unsubscribed', async () => {
        const removed: ChangeEvent[] = [];
        const kept: ChangeEvent[] = [];
        const unsubscribeRemoved = storage.changes.subscribe((event) => removed.push(event));
        const unsubscribeKept = storage.changes.subscribe((event) => kept.push(event));
        try {
          unsubscribeRemoved();
          unsubscribeRemoved(); // a second call is harmless
          await storage.changes.publish(clientChange);
          // Both listeners would have been called in the same round.
          await waitFor(() => kept.length >= 1, 'the remaining listener');
          assert.deepEqual(kept, [clientChange]);
          assert.deepEqual(removed, []);
        } finally {
          unsubscribeKept();
        }
      });

      it('a throwing listener neither fails the publisher nor starves other listeners', async () => {
        const received: ChangeEvent[] = [];
        const unsubscribeThrowing = storage.changes.subscribe(() => {
          throw new Error('listener failure');
        });
        const unsubscribe = storage.changes.subscribe((event) => received.push(event));
        try {
          await storage.changes.publish(clientChange);
          await storage.changes.publish(keysChange);
          await waitFor(() => received.length >= 2, 'two events');
          assert.deepEqual(received, [clientChange, keysChange]);
        } finally {
          unsubscribeThrowing();
          unsubscribe();
        }
      });
    });

    describe('lifecycle', () => {
      it('ping resolves', async () => {
        assert.equal(await storage.ping(), undefined);
      });

      it('migrate() again is harmless: data stays and the stores keep working', async () => {
        await storage.clients.create(client('r1', 'c1'));
        await storage.migrate();
        await storage.migrate();
        assert.deepEqual(await storage.clients.get('r1', 'c1'), client('r1', 'c1'));
        assert.equal(await storage.clients.create(client('r1', 'c2')), true);
        assert.equal(await storage.clients.count('r1'), 2);
      });

      it('kind names the adapter', () => {
        assert.equal(typeof storage.kind, 'string');
        assert.notEqual(storage.kind, '');
      });
    });
  });
}
