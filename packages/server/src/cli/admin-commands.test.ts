/**
 * Local admin commands of issue 9 as an operator runs them (real processes on a SQLite file):
 * audit verify / list / export (and a tampered row), tokens revoke, clients revoke-tokens,
 * rotate-secret --grace, disable --revoke-tokens, keys revoke refused without --promote, failures.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const BIN = new URL('../../bin/tessera.mjs', import.meta.url).pathname;
let dir: string;
let env: NodeJS.ProcessEnv;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, cwd: dir }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
async function json(args: string[]) {
  const r = await run(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-admin-cli-'));
  env = { PATH: process.env.PATH, HOME: process.env.HOME, USER: 'operator-7', TESSERA_STORAGE_URL: `sqlite:${join(dir, 'data', 'tessera.db')}`, TESSERA_KEK_FILE: join(dir, 'data', 'kek.key'), TESSERA_LOG_LEVEL: 'error' };
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('tessera admin commands (local)', () => {
  it('audit trail: changes are audited as cli:<user>; verify passes, then names the row edited with SQL', async () => {
    await json(['clients', 'create', '--id', 'svc-a', '--scope', 'read']);
    await json(['clients', 'disable', 'svc-a', '--revoke-tokens']);
    const rotated = await json(['clients', 'rotate-secret', 'svc-a', '--grace', '3600']);
    assert.ok(rotated.previous_secret_expires_at > Date.now() / 1000);
    await json(['clients', 'revoke-tokens', 'svc-a']);
    assert.deepEqual(await json(['tokens', 'revoke', 'some-jti']), { revoked: 'some-jti' });
    const listed = await json(['audit', 'list', '--client', 'svc-a']);
    assert.deepEqual(
      listed.events.map((e: { type: string }) => e.type),
      ['client.created', 'client.disabled', 'client.secret_rotated', 'client.tokens_revoked'],
    );
    assert.ok(listed.events.every((e: { actor: { id: string } }) => e.actor.id === 'cli:operator-7'));
    const exported = await run(['audit', 'export', '--type', 'client.*']);
    assert.equal(exported.code, 0, exported.stderr);
    const lines = exported.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.deepEqual(await json(['audit', 'verify']), { ok: true, checked: 5 });

    const db = new Database(join(dir, 'data', 'tessera.db'));
    db.prepare("UPDATE audit_events SET type = 'client.enabled' WHERE seq = 2").run();
    db.close();
    const broken = await run(['audit', 'verify']);
    assert.equal(broken.code, 12, 'EXIT.checkFailed (docs/cli.md)');
    const report = JSON.parse(broken.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.first_broken_seq, 2);
  });

  it('keys revoke of the active key is refused while its successor is pre-published; --promote does it', async () => {
    const first = await json(['keys', 'rotate', '--now']); // no server has run: the first key
    const next = await json(['keys', 'rotate']);
    const refused = await run(['keys', 'revoke', first.kid]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /pre-published/);
    assert.deepEqual(await json(['keys', 'revoke', first.kid, '--promote']), { revoked: first.kid });
    const keys = await json(['keys', 'list']);
    assert.deepEqual(keys.map((k: { kid: string; state: string }) => [k.kid, k.state]), [[next.kid, 'active']]);
    const only = await run(['keys', 'revoke', next.kid]);
    assert.equal(only.code, 2, only.stderr);
    assert.match(only.stderr, /only key/);
  });

  it('bad input gets one line and exit 2; a merge patch updates a client; failures lists', async () => {
    const bad = await run(['clients', 'rotate-secret', 'svc-a', '--grace', 'soon']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--grace/);
    writeFileSync(join(dir, 'patch.json'), JSON.stringify({ client_name: 'Service A', scope: 'read write' }));
    const updated = await json(['clients', 'update', 'svc-a', '--patch', join(dir, 'patch.json')]);
    assert.equal(updated.client.client_name, 'Service A');
    const stale = await run(['clients', 'update', 'svc-a', '--patch', join(dir, 'patch.json'), '--if-version', '1']);
    assert.equal(stale.code, 2);
    assert.match(stale.stderr, /read it again/);
    assert.deepEqual(await json(['failures']), []);
  });

  it('realms create (settings file, --scope, --profile) | list | show | delete on local storage; clients register in the new realm', async () => {
    writeFileSync(join(dir, 'realm.yaml'), 'tokens:\n  ttl: 300\nscopes:\n  - name: payments\n    description: make payments\n');
    const created = await json(['realms', 'create', 'banking', '--settings', join(dir, 'realm.yaml'), '--scope', 'accounts', '--profile', 'jack-henry']);
    assert.equal(created.name, 'banking');
    assert.equal(created.source, 'runtime');
    assert.match(created.issuer, /\/realms\/banking$/);
    const client = await json(['clients', 'create', '--realm', 'banking', '--id', 'bank-svc', '--scope', 'payments accounts']);
    assert.equal(client.client.client_id, 'bank-svc');
    const realms = await json(['realms', 'list']);
    assert.deepEqual(realms.map((r: { name: string; source: string; client_count: number }) => [r.name, r.source]).sort(), [['admin', 'config'], ['banking', 'runtime'], ['default', 'config']]);
    assert.equal((await json(['realms', 'show', 'banking'])).client_count, 1);
    const [audited] = (await json(['audit', 'list', '--type', 'realm.*'])).events;
    assert.equal(audited.type, 'realm.created');
    assert.equal(audited.actor.id, 'cli:operator-7');
    assert.equal(audited.data.after.profile, 'jack-henry');

    const refused = [
      [['realms', 'create', 'banking'], 2, /banking exists/],
      [['realms', 'create', 'Not_A_Name'], 2, /lowercase letters/],
      [['realms', 'create', 'other', '--profile', 'nope'], 3, /nope/],
      [['realms', 'delete', 'default'], 2, /declared in the configuration file/],
      [['realms', 'show', 'nowhere'], 2, /unknown realm nowhere/],
    ] as const;
    for (const [args, code, message] of refused) {
      const r = await run([...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.deepEqual(await json(['realms', 'delete', 'banking']), { deleted: 'banking' });
    assert.deepEqual((await json(['realms', 'list'])).map((r: { name: string }) => r.name).sort(), ['admin', 'default']);
    assert.equal((await run(['clients', 'show', 'bank-svc', '--realm', 'banking'])).code, 2, 'the realm is gone with its clients');
  });
});
