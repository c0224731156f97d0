/**
 * Signing-key rotation seen from outside: /jwks and the kid of issued tokens, verified with jose.
 * Immediate rotation keeps the old key published for tokens already out; pre-publication puts the
 * next key in /jwks before it signs, so resource servers that cached the set keep working.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { startTestServer, TestClock, type TestServer } from '../fixtures/server.ts';
import { basic } from '../fixtures/assertions.ts';
import { decodeParts, fetchJwks, verifyWithFreshJwks } from './helpers.ts';

const SECRET = 'rotation-secret-123';
const TTL = 3600;
const clients = [{ client_id: 'rotator', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', scope: 'svc', may_introspect: true }];

async function issue(ts: TestServer): Promise<string> {
  const res = await fetch(`${ts.issuer}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic('rotator', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function introspect(ts: TestServer, token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${ts.issuer}/oauth2/introspect`, {
    method: 'POST',
    headers: { authorization: basic('rotator', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

const kidOf = (token: string) => decodeParts(token).header.kid as string;
const kidsIn = async (ts: TestServer) => (await fetchJwks(`${ts.issuer}/jwks`)).keys.map((k) => k.kid!).sort();
const expected = (ts: TestServer) => ({ issuer: ts.issuer, clientId: 'rotator', audience: ts.issuer, scope: 'svc', ttl: TTL });

describe('key rotation', () => {
  describe('immediate rotation', () => {
    let ts: TestServer;
    before(async () => {
      ts = await startTestServer({ config: { clients, tokens: { ttl: TTL } } });
    });
    after(async () => {
      await ts?.close();
    });

    it('a token signed before rotateKeys(immediate) still verifies through /jwks; new tokens use the new kid', async () => {
      const before = await issue(ts);
      const oldKid = kidOf(before);
      assert.deepEqual(await kidsIn(ts), [oldKid]);

      const rotated = await ts.server.rotateKeys('default', { immediate: true });
      assert.notEqual(rotated.kid, oldKid);

      const afterRotation = await issue(ts);
      assert.equal(kidOf(afterRotation), rotated.kid);
      assert.deepEqual(await kidsIn(ts), [oldKid, rotated.kid].sort());

      // Both verify against the JWK Set as served now (fetched fresh, and through jose's remote set).
      await verifyWithFreshJwks(before, `${ts.issuer}/jwks`, expected(ts));
      await verifyWithFreshJwks(afterRotation, `${ts.issuer}/jwks`, expected(ts));
      const remote = createRemoteJWKSet(new URL(`${ts.issuer}/jwks`));
      for (const token of [before, afterRotation]) await jwtVerify(token, remote, { issuer: ts.issuer, audience: ts.issuer, typ: 'at+jwt' });

      // The server itself still honours the old token.
      assert.equal((await introspect(ts, before)).active, true);
      assert.equal((await introspect(ts, afterRotation)).active, true);
    });

    it('publishes keys as public JWKs only (kid = RFC 7638 thumbprint, alg, use)', async () => {
      const { keys } = await fetchJwks(`${ts.issuer}/jwks`);
      assert.equal(keys.length, 2);
      for (const k of keys) {
        assert.deepEqual(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
        assert.equal(k.alg, 'ES256');
        assert.equal(k.use, 'sig');
        assert.equal(k.crv, 'P-256');
        assert.equal(k.kid, await calculateJwkThumbprint({ kty: k.kty!, crv: k.crv, x: k.x!, y: k.y! }, 'sha256'));
      }
    });
  });

  describe('pre-publication (keys.pre_publish: 3600)', () => {
    let ts: TestServer;
    const clock = new TestClock();
    before(async () => {
      // Tokens outlive the pre-publication period, so a token from before activation is still live after it.
      ts = await startTestServer({ clock, config: { clients, tokens: { ttl: 2 * 3600 }, keys: { pre_publish: 3600 } } });
    });
    after(async () => {
      await ts?.close();
    });

    it('the next key is in /jwks at once while tokens keep the old kid; after activation both kids stay', async () => {
      const first = await issue(ts);
      const oldKid = kidOf(first);

      // A resource server that fetched the JWK Set right after the rotation and then never again.
      let jwksFetches = 0;
      const cachedSet = createRemoteJWKSet(new URL(`${ts.issuer}/jwks`), {
        cooldownDuration: 24 * 3600 * 1000,
        cacheMaxAge: 24 * 3600 * 1000,
        [customFetch]: (...args: Parameters<typeof fetch>) => {
          jwksFetches++;
          return fetch(...args);
        },
      });

      const startedAt = clock.now();
      const rotated = await ts.server.rotateKeys('default');
      assert.equal(rotated.activatesAt, startedAt + 3600 * 1000);
      assert.deepEqual(await kidsIn(ts), [oldKid, rotated.kid].sort());
      assert.deepEqual(
        (await ts.server.listKeys('default')).map((k) => [k.kid, k.state]).sort(),
        [[oldKid, 'active'], [rotated.kid, 'next']].sort(),
      );

      const beforeActivation = await issue(ts);
      assert.equal(kidOf(beforeActivation), oldKid);
      await jwtVerify(beforeActivation, cachedSet, { issuer: ts.issuer, audience: ts.issuer, typ: 'at+jwt', currentDate: new Date(clock.now()) });
      assert.equal(jwksFetches, 1);

      clock.advance(3600 * 1000);
      const afterActivation = await issue(ts);
      assert.equal(kidOf(afterActivation), rotated.kid);
      assert.deepEqual(await kidsIn(ts), [oldKid, rotated.kid].sort());
      assert.deepEqual(
        (await ts.server.listKeys('default')).map((k) => [k.kid, k.state]).sort(),
        [[oldKid, 'retired'], [rotated.kid, 'active']].sort(),
      );

      // The resource server's cached set already had the new key: no re-fetch needed.
      const now = { currentDate: new Date(clock.now()) };
      await jwtVerify(afterActivation, cachedSet, { issuer: ts.issuer, audience: ts.issuer, typ: 'at+jwt', ...now });
      await jwtVerify(beforeActivation, cachedSet, { issuer: ts.issuer, audience: ts.issuer, typ: 'at+jwt', ...now });
      assert.equal(jwksFetches, 1);

      assert.equal((await introspect(ts, beforeActivation)).active, true);
      assert.equal((await introspect(ts, afterActivation)).active, true);
    });
  });

  describe('rotation with a clock that has not moved', () => {
    let ts: TestServer;
    const clock = new TestClock();
    before(async () => {
      ts = await startTestServer({ clock, config: { clients, tokens: { ttl: TTL } } });
    });
    after(async () => {
      await ts?.close();
    });

    // An immediate rotation (e.g. after a key compromise) must take effect even within the same millisecond.
    it('rotateKeys(immediate) makes the new key sign even within the same millisecond', async () => {
      const outcomes: string[] = [];
      for (let i = 0; i < 6; i++) {
        const rotated = await ts.server.rotateKeys('default', { immediate: true });
        const signedBy = kidOf(await issue(ts));
        outcomes.push(signedBy === rotated.kid ? 'new key signs' : `old key ${signedBy} still signs instead of ${rotated.kid}`);
      }
      assert.deepEqual(outcomes, Array(6).fill('new key signs'));
    });
  });
});
