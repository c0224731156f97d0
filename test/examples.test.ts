/** The runnable examples work, as a user would run them (one command each). */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const run = (script: string) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', script], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );

it('payments example: a private_key_jwt job calls a scope-protected API', async () => {
  const out = await run('examples/payments/run.ts');
  assert.match(out, /POST \/v1\/payments 10\.00 → 201 .*"created_by":"payments-job"/);
  assert.match(out, /POST \/v1\/payments 25\.50 → 201/);
  assert.match(out, /GET \/v1\/balance → 200 .*"client":"payments-job"/);
});

it('identity-cloud example: client_secret_basic token, introspected', async () => {
  const out = await run('examples/identity-cloud/run.ts');
  assert.match(out, /token for myClient: scope=write/);
  assert.match(out, /introspection: active=true client_id=myClient scope=write/);
});
