/**
 * Assertions without `jti` (realms with assertions.require_jti false, e.g. forgerock-openbanking)
 * are single-use by the SHA-256 of the whole assertion — on every storage backend and across a
 * cluster: two Tessera instances on one database (and one Redis) each with their own connections;
 * an assertion spent at one is refused at the other.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import postgres from 'postgres';
import { resolveConfig } from '../../packages/server/src/core/config/index.ts';
import { createKek } from '../../packages/server/src/core/crypto/kek.ts';
import { OAuthError } from '../../packages/server/src/core/errors/index.ts';
import type { Storage } from '../../packages/server/src/core/ports/index.ts';
import { AuthorizationServer } from '../../packages/server/src/core/server.ts';
import { createMemoryStorage } from '../../packages/server/src/storage/memory/index.ts';
import { createPostgresStorage } from '../../packages/server/src/storage/postgres/index.ts';
import { createSqliteStorage } from '../../packages/server/src/storage/sqlite/index.ts';
import { generateTestKey, JWT_BEARER, signAssertion } from '../fixtures/assertions.ts';

const PG_URL = process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ISSUER = 'http://127.0.0.1:8080';
const key = generateTestKey('ES256', 'ob-1');
const kek = createKek(randomBytes(32));
const config = resolveConfig({
  issuer: ISSUER,
  demo_client: false,
  throttle: { max_failures: 0 },
  realms: [{ name: 'ob', profile: 'forgerock-openbanking', clients: [{ client_id: 'tpp', jwks: { keys: [key.publicJwk] }, scope: 'accounts' }] }],
});
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function outcome(server: AuthorizationServer, assertion: string): Promise<string> {
  try {
    await server.token({ realm: server.realm('ob')!, params: new Map([['grant_type', ['client_credentials']], ['client_assertion_type', [JWT_BEARER]], ['client_assertion', [assertion]]]), authorization: undefined });
    return 'token';
  } catch (err) {
    if (err instanceof OAuthError) return `${err.error}:${err.reason}`;
    throw err;
  }
}

const jtiLess = () => signAssertion({ alg: 'ES256', kid: 'ob-1' }, { iss: 'tpp', sub: 'tpp', aud: `${ISSUER}/realms/ob`, exp: Math.floor(Date.now() / 1000) + 60 }, key.privateKey);

async function cluster(open: () => Promise<Storage> | Storage): Promise<[AuthorizationServer, AuthorizationServer]> {
  const a = await AuthorizationServer.create({ config, storage: await open(), kek });
  const b = await AuthorizationServer.create({ config, storage: await open(), kek });
  cleanups.push(async () => {
    for (const s of [a, b]) {
      s.close();
      await s.storage.close();
    }
  });
  return [a, b];
}

async function check(a: AuthorizationServer, b: AuthorizationServer): Promise<void> {
  const first = jtiLess();
  assert.equal(await outcome(a, first), 'token');
  assert.equal(await outcome(b, first), 'invalid_client:assertion_replayed');
  assert.equal(await outcome(a, first), 'invalid_client:assertion_replayed');
  // Two requests racing with one assertion: exactly one token.
  const second = jtiLess();
  const results = await Promise.all([outcome(a, second), outcome(b, second), outcome(a, second)]);
  assert.equal(results.filter((r) => r === 'token').length, 1, results.join());
}

describe('jti-less assertions are single-use on every backend and across instances', () => {
  it('memory (one instance)', async () => {
    const server = await AuthorizationServer.create({ config, storage: createMemoryStorage(), kek });
    cleanups.push(async () => {
      server.close();
      await server.storage.close();
    });
    const a = jtiLess();
    assert.equal(await outcome(server, a), 'token');
    assert.equal(await outcome(server, a), 'invalid_client:assertion_replayed');
  });

  it('SQLite: two instances on one file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-jtiless-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const [a, b] = await cluster(() => createSqliteStorage({ path: join(dir, 'db.sqlite') }));
    await check(a, b);
  });

  for (const withRedis of [false, true]) {
    it(`PostgreSQL${withRedis ? ' + Redis' : ''}: two instances on one schema`, async () => {
      const schema = `t_jtiless_${process.pid}_${randomBytes(3).toString('hex')}`;
      const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
      cleanups.push(async () => {
        await admin`DROP SCHEMA IF EXISTS ${admin(schema)} CASCADE`;
        await admin.end();
      });
      const [a, b] = await cluster(() => createPostgresStorage({ url: PG_URL, schema, ...(withRedis ? { redis: REDIS_URL, redisPrefix: `tessera-test:${schema}:` } : {}) }));
      await check(a, b);
    });
  }
});
