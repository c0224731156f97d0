/**
 * Issue 9 on a three-instance PostgreSQL cluster (real `tessera serve` processes, one schema, one
 * KEK): an operator's disable of a client declared in the config file survives a restart of any
 * instance (before, the start-up upsert re-enabled it for the whole cluster); a secret rotation
 * with overlap works on every instance; a failure refused by one instance is listed from the
 * shared storage; concurrent admin writers keep one valid audit chain.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cliJson,
  closeAdmin,
  dropBackends,
  killAll,
  newKek,
  requireServers,
  runCli,
  runClientId,
  schemaUrl,
  sleep,
  startInstance,
  tempDir,
  tokenBasic,
  uniqueSchema,
  type Env,
  type Instance,
} from './helpers.ts';

const ISSUER = 'https://tessera.cluster.test';

after(async () => {
  await killAll();
  await closeAdmin();
});

describe('administration on a three-instance cluster (postgres only)', { timeout: 400_000 }, () => {
  const schema = uniqueSchema();
  const victim = runClientId(schema, 'declared');
  const secret = randomBytes(24).toString('base64url');
  let env: Env;
  let dir: string;
  let instances: Instance[] = [];

  before(async () => {
    await requireServers();
    dir = tempDir();
    const config = join(dir, 'tessera.yaml');
    writeFileSync(config, JSON.stringify({ demo_client: false, clients: [{ client_id: victim, client_secret: secret, scope: 'read' }] }));
    env = { TESSERA_STORAGE_URL: schemaUrl(schema), TESSERA_KEK: newKek(), TESSERA_ISSUER: ISSUER, TESSERA_CONFIG: config, USER: 'oncall' };
    instances = await Promise.all(['A', 'B', 'C'].map((name) => startInstance({ name, env, cwd: dir, timeoutMs: 120_000 })));
  });

  after(async () => {
    const codes = await Promise.all(instances.map((i) => i.stop()));
    await killAll();
    await dropBackends(schema, [victim]);
    assert.deepEqual(codes, [0, 0, 0], 'every instance stops cleanly on SIGTERM');
  });

  const statuses = async (id: string, s: string) => Promise.all(instances.map(async (i) => (await tokenBasic(i.url, id, s)).status));

  it('a disable of a declared client survives the restart of an instance (the start-up no longer undoes it)', async () => {
    assert.deepEqual(await statuses(victim, secret), [200, 200, 200]);
    const { value } = await cliJson<{ disabled: boolean }>(['clients', 'disable', victim], env, dir);
    assert.equal(value.disabled, true);
    await sleep(1000);
    assert.deepEqual(await statuses(victim, secret), [401, 401, 401]);
    // Restart B with the same config file.
    const b = instances[1]!;
    assert.equal(await b.stop(), 0);
    instances[1] = await startInstance({ name: 'B2', env, cwd: dir, port: b.port, timeoutMs: 120_000 });
    await sleep(1000);
    assert.deepEqual(await statuses(victim, secret), [401, 401, 401], 'still refused on every instance after the restart');
    const shown = await cliJson<Record<string, unknown>>(['clients', 'show', victim], env, dir);
    assert.equal(shown.value.disabled, true);
    const applied = await cliJson<{ events: unknown[] }>(['audit', 'list', '--type', 'client.config_applied'], env, dir);
    assert.deepEqual(applied.value.events, [], 'an unchanged file applies nothing');
    await cliJson(['clients', 'enable', victim], env, dir);
    await sleep(1000);
    assert.deepEqual(await statuses(victim, secret), [200, 200, 200]);
  });

  it('a secret rotated with a grace period: old and new secrets work on every instance', async () => {
    const { value } = await cliJson<{ client_secret: string }>(['clients', 'rotate-secret', victim, '--grace', '600'], env, dir);
    await sleep(1000);
    assert.deepEqual(await statuses(victim, value.client_secret), [200, 200, 200]);
    assert.deepEqual(await statuses(victim, secret), [200, 200, 200], 'the previous secret still works during the grace period');
  });

  it('a failure refused by A is listed from the shared storage', async () => {
    const ghost = runClientId(schema, 'ghost');
    assert.equal((await tokenBasic(instances[0]!.url, ghost, 'nope')).status, 401);
    let listed: Array<{ client_id: string; count: number; error: string }> = [];
    for (let i = 0; i < 30 && !listed.some((f) => f.client_id === ghost); i++) {
      await sleep(200);
      listed = (await cliJson<typeof listed>(['failures', '--client', ghost], env, dir)).value;
    }
    const f = listed.find((x) => x.client_id === ghost);
    assert.ok(f, 'the failure is listed');
    assert.equal(f.error, 'invalid_client');
    assert.equal(f.count, 1);
  });

  it('concurrent admin writers (CLI processes and instances) keep one valid audit chain', async () => {
    const creates = Array.from({ length: 6 }, (_, i) => runCli(['clients', 'create', '--id', `${runClientId(schema, 'c')}-${i}`, '--scope', 'read'], env, dir));
    const results = await Promise.all(creates);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const verified = await cliJson<{ ok: boolean; checked: number }>(['audit', 'verify'], env, dir);
    assert.equal(verified.value.ok, true);
    assert.ok(verified.value.checked >= 6 + 4);
    const creations = await cliJson<{ events: Array<{ actor: { id: string } }> }>(['audit', 'list', '--type', 'client.created'], env, dir);
    // Six by the CLI processes, and the declared client created by the start-up sync (actor config).
    assert.equal(creations.value.events.filter((e) => e.actor.id === 'cli:oncall').length, 6);
    assert.deepEqual([...new Set(creations.value.events.map((e) => e.actor.id))].sort(), ['cli:oncall', 'config']);
  });
});
