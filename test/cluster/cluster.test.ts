/**
 * Three real `tessera serve` processes behind no load balancer, sharing one PostgreSQL schema (and,
 * in one run, one Redis) and one KEK, as a cluster deployment runs them. What one instance or the
 * admin CLI does must be seen by the others: tokens, revocations, single-use assertions, disabled
 * clients (within a second), rotated keys (within a second). Runs once with Redis (replay store
 * and change feed on Redis) and once on PostgreSQL only (LISTEN/NOTIFY, replay table).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import {
  cliAnswer,
  closeAdmin,
  decodeJwt,
  dropBackends,
  introspect,
  jwtClient,
  killAll,
  newKek,
  redisKeyCount,
  redisPrefixOf,
  REDIS_URL,
  requireServers,
  revoke,
  runClientId,
  schemaUrl,
  sleep,
  startInstance,
  tempDir,
  tokenAssertion,
  tokenBasic,
  uniqueSchema,
  type Env,
  type Instance,
} from './helpers.ts';

const ISSUER = 'https://tessera.cluster.test';
/** The issue's bound for a change made on one instance to reach the others. */
const PROPAGATION_MS = 1000;
/** Polling interval when measuring propagation. */
const POLL_MS = 50;

after(async () => {
  await killAll();
  await closeAdmin();
});

/** Propagation times measured, printed at the end for the record. */
const measured: string[] = [];
after(() => {
  if (measured.length) console.log(`# propagation: ${measured.join('; ')}`);
});

for (const withRedis of [true, false]) {
  const mode = withRedis ? 'postgres+redis' : 'postgres only';

  describe(`a three-instance cluster (${mode})`, { timeout: 120_000 }, () => {
    const schema = uniqueSchema();
    // Client ids unique to the run: the throttle's failure counters on Redis are keyed by client id.
    const ids = { svc: runClientId(schema, 'svc'), introspector: runClientId(schema, 'introspector'), victim: runClientId(schema, 'victim'), jwt: runClientId(schema, 'jwt') };
    const secrets = { svc: randomBytes(24).toString('base64url'), introspector: randomBytes(24).toString('base64url'), victim: randomBytes(24).toString('base64url') };
    const jwt = jwtClient(ids.jwt);
    let env: Env;
    let instances: Instance[] = [];
    let A: Instance, B: Instance, C: Instance;

    before(async () => {
      await requireServers();
      const dir = tempDir();
      const config = join(dir, 'tessera.yaml');
      writeFileSync(
        config,
        JSON.stringify({
          demo_client: false,
          clients: [
            { client_id: ids.svc, client_secret: secrets.svc, scope: 'read write' },
            { client_id: ids.introspector, client_secret: secrets.introspector, may_introspect: true },
            { client_id: ids.victim, client_secret: secrets.victim, scope: 'read' },
            { client_id: jwt.clientId, token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [jwt.key.publicJwk] }, scope: 'read' },
          ],
        }),
      );
      env = {
        TESSERA_STORAGE_URL: schemaUrl(schema),
        TESSERA_KEK: newKek(),
        TESSERA_ISSUER: ISSUER,
        TESSERA_CONFIG: config,
        ...(withRedis && { TESSERA_REDIS_URL: REDIS_URL }),
      };
      // All three start at once on the fresh schema, as a deployment's instances do.
      instances = await Promise.all(['A', 'B', 'C'].map((name) => startInstance({ name, env, cwd: dir })));
      [A, B, C] = instances as [Instance, Instance, Instance];
    });

    after(async () => {
      const codes = await Promise.all(instances.map((i) => i.stop()));
      await killAll();
      await dropBackends(schema, Object.values(ids));
      assert.deepEqual(codes, [0, 0, 0], 'every instance stops cleanly on SIGTERM');
      assert.equal(await redisKeyCount(schema, Object.values(ids)), 0, 'no Redis key left behind');
    });

    it('all three publish the same JWKS after starting together on a fresh schema', async () => {
      const sets = await Promise.all(instances.map(async (i) => (await fetch(`${i.url}/jwks`)).json() as Promise<{ keys: Array<{ kid: string }> }>));
      const kids = sets.map((s) => s.keys.map((k) => k.kid).sort());
      assert.ok(kids[0]!.length >= 1);
      assert.deepEqual(kids[1], kids[0], 'B and A publish the same keys');
      assert.deepEqual(kids[2], kids[0], 'C and A publish the same keys');
    });

    it('a token issued by A introspects active on B and C', async () => {
      const issued = await tokenBasic(A.url, ids.svc, secrets.svc);
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      const token = issued.body.access_token as string;
      for (const other of [B, C]) {
        const res = await introspect(other.url, ids.introspector, secrets.introspector, token);
        assert.equal(res.status, 200);
        assert.equal(res.body.active, true, `${other.name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.client_id, ids.svc);
        assert.equal(res.body.iss, ISSUER);
      }
    });

    it('a revocation on B is seen at once by introspection on C (and A)', async () => {
      const issued = await tokenBasic(C.url, ids.svc, secrets.svc);
      assert.equal(issued.status, 200);
      const token = issued.body.access_token as string;
      assert.equal((await introspect(C.url, ids.introspector, secrets.introspector, token)).body.active, true);
      const revoked = await revoke(B.url, ids.svc, secrets.svc, token);
      assert.equal(revoked.status, 200);
      assert.deepEqual((await introspect(C.url, ids.introspector, secrets.introspector, token)).body, { active: false });
      assert.deepEqual((await introspect(A.url, ids.introspector, secrets.introspector, token)).body, { active: false });
    });

    it('one client assertion sent to A and B at the same moment succeeds exactly once (10 rounds)', async () => {
      for (let round = 0; round < 10; round++) {
        const assertion = jwt.assertion(ISSUER);
        const answers = await Promise.all([tokenAssertion(A.url, jwt.clientId, assertion), tokenAssertion(B.url, jwt.clientId, assertion)]);
        const statuses = answers.map((a) => a.status).sort();
        assert.deepEqual(statuses, [200, 401], `round ${round}: ${JSON.stringify(answers.map((a) => a.body))}`);
        const refused = answers.find((a) => a.status === 401)!;
        assert.equal(refused.body.error, 'invalid_client');
        // And a third try anywhere is refused too (a few rounds only: each refusal counts towards
        // the client's brute-force throttle, 20 failures a minute by default).
        if (round < 3) assert.equal((await tokenAssertion(C.url, jwt.clientId, assertion)).status, 401);
      }
    });

    it('keeps replay records where the mode says: Redis under the schema prefix, or the replay table', async () => {
      const keys = await redisKeyCount(schema); // the schema's prefix only
      if (withRedis) assert.ok(keys >= 2, `replay records under ${redisPrefixOf(schema)}, found ${keys} keys`);
      else assert.equal(keys, 0, 'nothing on Redis without Redis');
    });

    it(`a client disabled through the admin CLI is refused by C within ${PROPAGATION_MS} ms`, async () => {
      // Every instance has the client cached: the change must reach them to take effect.
      for (const i of instances) assert.equal((await tokenBasic(i.url, ids.victim, secrets.victim)).status, 200);
      const { value, answeredAt, exited } = await cliAnswer<{ disabled: boolean }>(['clients', 'disable', ids.victim], env);
      assert.equal(value.disabled, true);
      let refusedBy: number | undefined;
      for (let pollAt = Date.now() - answeredAt; pollAt <= PROPAGATION_MS; pollAt = Date.now() - answeredAt) {
        const res = await tokenBasic(C.url, ids.victim, secrets.victim);
        if (res.status === 401) {
          refusedBy = pollAt;
          break;
        }
        assert.equal(res.status, 200, JSON.stringify(res.body));
        await sleep(POLL_MS);
      }
      assert.ok(refusedBy !== undefined, `C still accepted the disabled client after ${PROPAGATION_MS} ms`);
      measured.push(`${mode} disable→C refused by a poll at ${refusedBy} ms`);
      // The others too, by now.
      for (const i of [A, B]) assert.equal((await tokenBasic(i.url, ids.victim, secrets.victim)).status, 401, i.name);
      await exited;
    });

    it(`after keys rotate --now all three serve the same JWKS within ${PROPAGATION_MS} ms, and sign with the new key`, async () => {
      const { value: rotated, answeredAt, exited } = await cliAnswer<{ kid: string }>(['keys', 'rotate', '--now'], env);
      type Jwks = { keys: Array<{ kid: string }> };
      const fetchAll = () => Promise.all(instances.map(async (i) => ((await (await fetch(`${i.url}/jwks`)).json()) as Jwks).keys.map((k) => k.kid).sort()));
      let convergedBy: number | undefined;
      let last: string[][] = [];
      for (let pollAt = Date.now() - answeredAt; pollAt <= PROPAGATION_MS; pollAt = Date.now() - answeredAt) {
        last = await fetchAll();
        if (last.every((kids) => kids.includes(rotated.kid) && JSON.stringify(kids) === JSON.stringify(last[0]))) {
          convergedBy = pollAt;
          break;
        }
        await sleep(POLL_MS);
      }
      assert.ok(convergedBy !== undefined, `JWKS not converged after ${PROPAGATION_MS} ms: ${JSON.stringify(last)}`);
      measured.push(`${mode} keys rotate→same JWKS on all three by a poll at ${convergedBy} ms`);

      const tokens = await Promise.all(instances.map((i) => tokenBasic(i.url, ids.svc, secrets.svc)));
      for (const [n, t] of tokens.entries()) {
        assert.equal(t.status, 200);
        assert.equal(decodeJwt(t.body.access_token as string).header.kid, rotated.kid, `${instances[n]!.name} signs with the new key`);
      }
      // Every token verifies against every instance's JWKS, fetched as a resource server does.
      for (const i of instances) {
        const jwks = createRemoteJWKSet(new URL(`${i.url}/jwks`));
        for (const t of tokens) {
          const { payload, protectedHeader } = await jwtVerify(t.body.access_token as string, jwks, { issuer: ISSUER, typ: 'at+jwt' });
          assert.equal(payload.client_id, ids.svc);
          assert.equal(protectedHeader.kid, rotated.kid);
        }
      }
      await exited;
    });
  });
}
