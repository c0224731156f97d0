/**
 * Key hygiene of the resource-server verifier against a real Tessera server (issue 12): a warm
 * verifier picks up an immediate rotation at once, and stops accepting a revoked key's tokens on
 * `reload()` or when the JWKS `Cache-Control: max-age` (300 s at Tessera) runs out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../fixtures/server.ts';
import { basic } from '../fixtures/assertions.ts';
import { BearerError, createVerifier, type VerifierOptions } from '../../packages/resource-server/src/index.ts';
import { decodeParts } from './helpers.ts';

const SECRET = 'rs-keys-secret-123';
const clients = [{ client_id: 'rs-keys', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', scope: 'svc' }];

async function issue(ts: TestServer): Promise<string> {
  const res = await fetch(`${ts.issuer}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: basic('rs-keys', SECRET), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

const kidOf = (token: string) => decodeParts(token).header.kid as string;

async function refusal(promise: Promise<unknown>): Promise<BearerError> {
  const error = await promise.then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(error instanceof BearerError, String(error));
  assert.equal(error.status, 401);
  return error;
}

describe('resource-server key hygiene against Tessera', () => {
  let ts: TestServer;
  let clock = Date.now();
  const options = (): VerifierOptions => ({ issuer: ts.issuer, audience: ts.issuer, now: () => clock });

  before(async () => {
    ts = await startTestServer({ config: { clients, tokens: { ttl: 3600 } } });
  });
  after(async () => {
    await ts?.close();
  });

  it('after keys rotate --now, a warm verifier accepts new-key tokens at once (one JWKS refetch)', async () => {
    const verifier = createVerifier(options());
    const before = await issue(ts);
    assert.equal((await verifier.verify(before)).clientId, 'rs-keys');
    const rotated = await ts.server.rotateKeys('default', { immediate: true });
    const next = await issue(ts);
    assert.equal(kidOf(next), rotated.kid);
    assert.equal((await verifier.verify(next)).clientId, 'rs-keys');
    assert.equal((await verifier.verify(before)).clientId, 'rs-keys', 'the old key stays published');
  });

  it('after keys revoke, reload() stops the revoked key at once; otherwise the JWKS max-age bounds it', async () => {
    const oldToken = await issue(ts);
    const oldKid = kidOf(oldToken);
    const withReload = createVerifier(options());
    const waiting = createVerifier({ ...options(), tokenCache: true });
    assert.equal((await withReload.verify(oldToken)).clientId, 'rs-keys');
    assert.equal((await waiting.verify(oldToken)).clientId, 'rs-keys');

    await ts.server.rotateKeys('default', { immediate: true });
    await ts.server.revokeKey('default', oldKid);
    const jwks = await fetch(`${ts.issuer}/jwks`);
    assert.match(jwks.headers.get('cache-control') ?? '', /max-age=300/);
    assert.ok(!((await jwks.json()) as { keys: Array<{ kid: string }> }).keys.some((k) => k.kid === oldKid));

    await withReload.reload();
    await refusal(withReload.verify(oldToken));

    // Without reload(): accepted while the JWKS is fresh (Tessera says max-age=300), refused after.
    clock += 299_000;
    assert.equal((await waiting.verify(oldToken)).clientId, 'rs-keys');
    clock += 2_000;
    await refusal(waiting.verify(oldToken));
    assert.equal((await waiting.verify(await issue(ts))).clientId, 'rs-keys');
  });
});
