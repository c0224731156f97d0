/**
 * The administration part of the storage contract (issue 9): client compare-and-set and
 * tombstones, the audit chain, recorded failures, runtime realms and leases; and console sessions
 * (issue 10). Run by
 * runStorageContract for every adapter.
 */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AUDIT_GENESIS_HASH, type AuditEventRecord, type AuditEventInput, type AuditStore, type AuthFailureRecord, type ClientRecord, type ConsoleSessionRecord, type Storage } from '../../core/ports/index.ts';
import type { StorageFactory } from './index.ts';

/**
 * The suite's own hash function for AuditStore.append: storage must store what the function
 * returns and link each event to the previous one; which hash the server uses (core/admin/audit.ts,
 * canonical JSON of the whole event) is not the storage's business, and test/admin/admin.test.ts
 * verifies that one end to end on every backend (tampering included).
 */
const chainHash = (r: Omit<AuditEventRecord, 'hash'>): string => createHash('sha256').update(JSON.stringify([r.seq, r.at, r.type, r.realm, r.clientId, r.prevHash])).digest('hex');

/** Walks the stored chain from its anchor: consecutive seqs, each prevHash the previous hash, each hash the function's. */
async function checkChain(store: AuditStore): Promise<{ ok: boolean; checked: number }> {
  const anchor = await store.anchor();
  let prev = anchor?.hash ?? AUDIT_GENESIS_HASH;
  let seq = anchor?.seq ?? 0;
  let checked = 0;
  for (const e of await store.list({ after: seq })) {
    if (e.seq !== seq + 1 || e.prevHash !== prev || e.hash !== chainHash(e)) return { ok: false, checked };
    checked++;
    seq = e.seq;
    prev = e.hash;
  }
  return { ok: true, checked };
}

function client(realm: string, clientId: string, updatedAt: number): ClientRecord {
  return {
    realm,
    clientId,
    owners: [],
    disabled: false,
    tokenEndpointAuthMethod: 'client_secret_basic',
    secretHash: 'sha256$x',
    grantTypes: ['client_credentials'],
    scopes: ['read'],
    mayIntrospect: false,
    allowBasicWithAssertion: false,
    createdAt: 1_700_000_000_000,
    updatedAt,
  };
}

function event(i: number, changes: Partial<AuditEventInput> = {}): AuditEventInput {
  return { at: 1_700_000_000_000 + i * 1000, type: 'client.updated', realm: 'default', clientId: `c${i}`, actor: { id: 'admin-1', source: '127.0.0.1', requestId: `r${i}` }, data: { n: i, nested: { b: 2, a: [1, 'x'] } }, ...changes };
}

function failure(changes: Partial<AuthFailureRecord> = {}): AuthFailureRecord {
  return { realm: 'default', clientId: 'c1', endpoint: 'token', method: 'client_secret_basic', source: '10.0.0.1', error: 'invalid_client', reason: 'secret_mismatch', facts: { n: 1 }, count: 1, firstSeen: 1000, lastSeen: 1000, ...changes };
}

export function runAdminStorageContract(name: string, factory: StorageFactory): void {
  describe(`storage contract (administration): ${name}`, () => {
    let storage: Storage;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ storage, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('clients: compare-and-set and tombstones', () => {
      it('update writes only when the stored version is the expected one', async () => {
        await storage.clients.create(client('default', 'a', 10));
        assert.equal(await storage.clients.update({ ...client('default', 'a', 11), clientName: 'first' }, 10), true);
        assert.equal(await storage.clients.update({ ...client('default', 'a', 12), clientName: 'stale' }, 10), false);
        const stored = await storage.clients.get('default', 'a');
        assert.equal(stored?.clientName, 'first');
        assert.equal(stored?.updatedAt, 11);
        assert.equal(await storage.clients.update(client('default', 'missing', 2), 1), false);
        assert.equal(await storage.clients.get('default', 'missing'), undefined);
      });

      it('concurrent updates from the same version: exactly one wins', async () => {
        await storage.clients.create(client('default', 'a', 10));
        const results = await Promise.all([1, 2, 3, 4].map((i) => storage.clients.update({ ...client('default', 'a', 10 + i), clientName: `w${i}` }, 10)));
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('delete leaves a tombstone with the time of deletion; never-deleted ids have none', async () => {
        await storage.clients.create(client('default', 'a', 10));
        assert.equal(await storage.clients.deletedAt('default', 'a'), undefined);
        const before = Date.now();
        assert.equal(await storage.clients.delete('default', 'a'), true);
        const at = await storage.clients.deletedAt('default', 'a');
        assert.ok(at !== undefined && at >= before && at <= Date.now(), `tombstone ${at}`);
        assert.equal(await storage.clients.deletedAt('other', 'a'), undefined);
        assert.equal(await storage.clients.delete('default', 'a'), false);
      });
    });

    describe('audit chain', () => {
      it('append numbers events from 1 and links each to the previous hash; verification passes', async () => {
        const first = await storage.audit.append([event(1), event(2)], chainHash);
        const [third] = await storage.audit.append([event(3)], chainHash);
        assert.deepEqual([...first, third!].map((e) => e.seq), [1, 2, 3]);
        assert.equal(first[0]!.prevHash, AUDIT_GENESIS_HASH);
        assert.equal(first[1]!.prevHash, first[0]!.hash);
        assert.equal(third!.prevHash, first[1]!.hash);
        const listed = await storage.audit.list();
        assert.deepEqual(listed, [...first, third!]);
        assert.deepEqual(await checkChain(storage.audit), { ok: true, checked: 3 });
      });

      it('list filters by after, time, realm, client, type (exact and prefix) and limit', async () => {
        await storage.audit.append(
          [event(1), event(2, { realm: 'other', type: 'key.rotated', clientId: null }), event(3, { type: 'client.created' }), event(4, { clientId: 'x' })],
          chainHash,
        );
        const seqs = async (o: Parameters<Storage['audit']['list']>[0]) => (await storage.audit.list(o)).map((e) => e.seq);
        assert.deepEqual(await seqs({ after: 2 }), [3, 4]);
        assert.deepEqual(await seqs({ since: event(2).at, until: event(4).at }), [2, 3]);
        assert.deepEqual(await seqs({ realm: 'other' }), [2]);
        assert.deepEqual(await seqs({ clientId: 'x' }), [4]);
        assert.deepEqual(await seqs({ type: 'client.*' }), [1, 3, 4]);
        assert.deepEqual(await seqs({ type: 'client.created' }), [3]);
        assert.deepEqual(await seqs({ limit: 2 }), [1, 2]);
      });

      it('concurrent appends keep one valid chain', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => storage.audit.append([event(i)], chainHash)));
        const all = await storage.audit.list();
        assert.deepEqual(all.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1));
        assert.equal((await checkChain(storage.audit)).ok, true);
      });

      it('prune removes old events and keeps the chain verifiable from an anchor', async () => {
        await storage.audit.append([event(1), event(2), event(3)], chainHash);
        assert.equal(await storage.audit.prune(event(3).at), 2);
        const anchor = await storage.audit.anchor();
        assert.equal(anchor?.seq, 2);
        const [fourth] = await storage.audit.append([event(4)], chainHash);
        assert.equal(fourth!.seq, 4);
        const result = await checkChain(storage.audit);
        assert.equal(result.ok, true);
        assert.equal(result.checked, 2);
        assert.equal(await storage.audit.prune(0), 0);
      });
    });

    describe('recorded failures', () => {
      it('aggregates repeats: counts add, first/last seen widen, latest facts win', async () => {
        await storage.failures.record([failure({ count: 2, firstSeen: 1000, lastSeen: 2000 })], { perClient: 10, perRealm: 100 });
        await storage.failures.record([failure({ count: 3, firstSeen: 1500, lastSeen: 3000, facts: { n: 2 } })], { perClient: 10, perRealm: 100 });
        const [row, ...rest] = await storage.failures.list('default');
        assert.equal(rest.length, 0);
        assert.equal(row!.count, 5);
        assert.equal(row!.firstSeen, 1000);
        assert.equal(row!.lastSeen, 3000);
        assert.deepEqual(row!.facts, { n: 2 });
      });

      it('lists newest first, filters by client, keeps unknown (null) client ids apart', async () => {
        await storage.failures.record(
          [failure({ lastSeen: 1000 }), failure({ clientId: 'c2', lastSeen: 3000 }), failure({ clientId: null, reason: 'client_unknown', lastSeen: 2000 })],
          { perClient: 10, perRealm: 100 },
        );
        assert.deepEqual((await storage.failures.list('default')).map((f) => f.clientId), ['c2', null, 'c1']);
        assert.deepEqual((await storage.failures.list('default', { clientId: 'c1' })).map((f) => f.lastSeen), [1000]);
        assert.equal((await storage.failures.list('default', { limit: 1 })).length, 1);
        assert.deepEqual(await storage.failures.list('other'), []);
      });

      it('keeps at most perClient aggregates per client and perRealm per realm, dropping the oldest', async () => {
        const batch = Array.from({ length: 6 }, (_, i) => failure({ source: `10.0.0.${i}`, lastSeen: 1000 + i }));
        await storage.failures.record(batch, { perClient: 4, perRealm: 100 });
        assert.deepEqual((await storage.failures.list('default')).map((f) => f.source), ['10.0.0.5', '10.0.0.4', '10.0.0.3', '10.0.0.2']);
        const many = Array.from({ length: 5 }, (_, i) => failure({ clientId: `x${i}`, lastSeen: 5000 + i }));
        await storage.failures.record(many, { perClient: 4, perRealm: 6 });
        assert.equal((await storage.failures.list('default')).length, 6);
        assert.equal((await storage.failures.list('default'))[0]!.clientId, 'x4');
      });
    });

    describe('runtime realms and leases', () => {
      it('realms: create once, list by name, delete', async () => {
        assert.equal(await storage.realms.create({ name: 'b', settings: { tokens: { ttl: 60 } }, createdAt: 1 }), true);
        assert.equal(await storage.realms.create({ name: 'a', settings: {}, createdAt: 2 }), true);
        assert.equal(await storage.realms.create({ name: 'a', settings: {}, createdAt: 3 }), false);
        assert.deepEqual(await storage.realms.list(), [
          { name: 'a', settings: {}, createdAt: 2 },
          { name: 'b', settings: { tokens: { ttl: 60 } }, createdAt: 1 },
        ]);
        assert.equal(await storage.realms.delete('a'), true);
        assert.equal(await storage.realms.delete('a'), false);
      });

      it('realms: get by name (a copy), undefined once deleted; a deleted name can be created again', async () => {
        const settings = { profile: 'standard', scopes: [{ name: 'read', description: 'Read' }], tokens: { ttl: 120, signing_alg: 'EdDSA' }, keys: { pre_publish: 0 } };
        assert.equal(await storage.realms.get('r1'), undefined);
        assert.equal(await storage.realms.create({ name: 'r1', settings, createdAt: 1000 }), true);
        const got = await storage.realms.get('r1');
        assert.deepEqual(got, { name: 'r1', settings, createdAt: 1000 });
        (got!.settings as { tokens: { ttl: number } }).tokens.ttl = 1;
        assert.equal(((await storage.realms.get('r1'))!.settings as { tokens: { ttl: number } }).tokens.ttl, 120, 'a returned record is a copy');
        assert.equal(await storage.realms.delete('r1'), true);
        assert.equal(await storage.realms.get('r1'), undefined);
        assert.equal(await storage.realms.create({ name: 'r1', settings: {}, createdAt: 2000 }), true);
        assert.deepEqual(await storage.realms.get('r1'), { name: 'r1', settings: {}, createdAt: 2000 });
      });

      it('realms: concurrent creates of one name: exactly one wins', async () => {
        const got = await Promise.all([1, 2, 3, 4].map((i) => storage.realms.create({ name: 'race', settings: { tokens: { ttl: i * 60 } }, createdAt: i })));
        assert.equal(got.filter(Boolean).length, 1);
        assert.equal((await storage.realms.list()).length, 1);
      });

      it('leases: one holder at a time until expiry; the holder renews', async () => {
        assert.equal(await storage.leases.acquire('job', 'i1', 1000, 10_000), true);
        assert.equal(await storage.leases.acquire('job', 'i2', 1000, 10_500), false);
        assert.equal(await storage.leases.acquire('job', 'i1', 1000, 10_600), true);
        assert.equal(await storage.leases.acquire('job', 'i2', 1000, 11_500), false);
        assert.equal(await storage.leases.acquire('job', 'i2', 1000, 11_600), true);
        assert.equal(await storage.leases.acquire('other', 'i1', 1000, 11_600), true);
      });

      it('concurrent acquires of a free lease: exactly one holder', async () => {
        const got = await Promise.all(['a', 'b', 'c', 'd'].map((h) => storage.leases.acquire('race', h, 60_000, 1000)));
        assert.equal(got.filter(Boolean).length, 1);
      });
    });

    describe('console sessions', () => {
      const T0 = 1_700_000_000_000;
      const session = (idHash: string, changes: Partial<ConsoleSessionRecord> = {}): ConsoleSessionRecord => ({
        idHash,
        subject: 'alice@example.com',
        scope: 'tessera:clients:read tessera:audit:read',
        createdAt: T0,
        lastSeen: T0,
        expiresAt: T0 + 3600_000,
        ...changes,
      });

      it('touch resolves a live session (a copy) and moves lastSeen forward, never back', async () => {
        assert.equal(await storage.consoleSessions.touch('none', T0, 600_000), undefined);
        await storage.consoleSessions.create(session('h1'));
        const got = await storage.consoleSessions.touch('h1', T0 + 1000, 600_000);
        assert.deepEqual(got, session('h1', { lastSeen: T0 + 1000 }));
        got!.scope = 'mutated';
        const again = await storage.consoleSessions.touch('h1', T0 + 500, 600_000);
        assert.equal(again?.scope, 'tessera:clients:read tessera:audit:read', 'a returned record is a copy');
        assert.equal(again?.lastSeen, T0 + 1000, 'an instance with an earlier clock does not move lastSeen back');
      });

      it('idle timeout: refused (and deleted) once unused longer than idleMs; each use restarts it', async () => {
        await storage.consoleSessions.create(session('idle'));
        assert.ok(await storage.consoleSessions.touch('idle', T0 + 600_000, 600_000), 'exactly idleMs unused is still live');
        assert.ok(await storage.consoleSessions.touch('idle', T0 + 1_100_000, 600_000));
        assert.equal(await storage.consoleSessions.touch('idle', T0 + 1_700_001, 600_000), undefined);
        assert.equal(await storage.consoleSessions.delete('idle'), false, 'a timed-out session is deleted by the touch that refused it');
      });

      it('absolute timeout: refused from expiresAt however busy', async () => {
        await storage.consoleSessions.create(session('old', { expiresAt: T0 + 2000 }));
        assert.ok(await storage.consoleSessions.touch('old', T0 + 1000, 600_000));
        assert.ok(await storage.consoleSessions.touch('old', T0 + 1999, 600_000));
        assert.equal(await storage.consoleSessions.touch('old', T0 + 2000, 600_000), undefined);
        assert.equal(await storage.consoleSessions.touch('old', T0 + 1999, 600_000), undefined, 'gone for good');
      });

      it('delete ends a session at once; the others stay', async () => {
        await storage.consoleSessions.create(session('a'));
        await storage.consoleSessions.create(session('b', { subject: 'bob@example.com' }));
        assert.equal(await storage.consoleSessions.delete('a'), true);
        assert.equal(await storage.consoleSessions.delete('a'), false);
        assert.equal(await storage.consoleSessions.touch('a', T0 + 1, 600_000), undefined);
        assert.equal((await storage.consoleSessions.touch('b', T0 + 1, 600_000))?.subject, 'bob@example.com');
      });

      it('purgeExpired removes sessions past expiresAt or idle since before idleBefore, and only those', async () => {
        await storage.consoleSessions.create(session('expired', { expiresAt: T0 + 1000 }));
        await storage.consoleSessions.create(session('idle', { lastSeen: T0 }));
        await storage.consoleSessions.create(session('live', { lastSeen: T0 + 5000 }));
        assert.equal(await storage.consoleSessions.purgeExpired(T0 + 2000, T0 + 1000), 2);
        assert.equal(await storage.consoleSessions.purgeExpired(T0 + 2000, T0 + 1000), 0);
        assert.equal(await storage.consoleSessions.delete('expired'), false);
        assert.equal(await storage.consoleSessions.delete('idle'), false);
        assert.ok(await storage.consoleSessions.touch('live', T0 + 6000, 600_000));
        assert.equal(await storage.consoleSessions.purgeExpired(T0 + 2000), 0, 'without idleBefore only expiresAt counts');
      });
    });
    describe('activity per minute', () => {
      const M = 29_000_000;
      it('add sums the counts of the same (realm, client, minute) across calls; range reads one series, oldest first', async () => {
        await storage.activity.add([
          { realm: 'r', clientId: null, minute: M, issued: 2, failed: 1 },
          { realm: 'r', clientId: 'svc', minute: M, issued: 2, failed: 0 },
          { realm: 'r', clientId: null, minute: M + 1, issued: 1, failed: 0 },
        ]);
        await storage.activity.add([
          { realm: 'r', clientId: null, minute: M, issued: 3, failed: 4 },
          { realm: 'other', clientId: null, minute: M, issued: 9, failed: 9 },
        ]);
        await storage.activity.add([]);
        assert.deepEqual(await storage.activity.range('r', null, M - 5, M + 5), [
          { minute: M, issued: 5, failed: 5 },
          { minute: M + 1, issued: 1, failed: 0 },
        ]);
        assert.deepEqual(await storage.activity.range('r', 'svc', M - 5, M + 5), [{ minute: M, issued: 2, failed: 0 }]);
        assert.deepEqual(await storage.activity.range('r', null, M + 1, M + 1), [{ minute: M + 1, issued: 1, failed: 0 }]);
        assert.deepEqual(await storage.activity.range('r', 'nobody', M - 5, M + 5), []);
      });

      it('purge deletes the minutes before the given one, and only those', async () => {
        await storage.activity.add([
          { realm: 'p', clientId: null, minute: M, issued: 1, failed: 0 },
          { realm: 'p', clientId: 'c', minute: M, issued: 1, failed: 0 },
          { realm: 'p', clientId: null, minute: M + 10, issued: 1, failed: 0 },
        ]);
        assert.ok((await storage.activity.purge(M + 1)) >= 2);
        assert.deepEqual(await storage.activity.range('p', null, 0, M + 100), [{ minute: M + 10, issued: 1, failed: 0 }]);
        assert.deepEqual(await storage.activity.range('p', 'c', 0, M + 100), []);
      });
    });
  });
}
