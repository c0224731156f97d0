/**
 * Issue 13 item 10: an unknown client costs what a known one costs, for every method, and gets the
 * same public words. Distributions are compared robustly: interleaved samples, medians, a generous
 * ratio bound (or a small absolute one for checks that take microseconds), and up to three
 * attempts (the machine is shared). Before the fix, an unknown private_key_jwt client skipped the
 * signature verification (≈ 600 µs against ≈ 880 µs). A chosen (scrypt) secret that has not yet
 * been used since the process started costs a KDF per wrong guess, which an unknown id cannot
 * imitate without turning every unknown id into a KDF (docs/security.md): generated secrets, the
 * default, have no such window.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '../../../../../test/fixtures/server.ts';
import { basic, generateTestKey, JWT_BEARER, signAssertion, type TestKey } from '../../../../../test/fixtures/assertions.ts';
import { OAuthError } from '../errors/index.ts';
import { AUTH_FAILED } from './assertion.ts';
import { warmDummyKeys } from './dummy.ts';

const HS = 'k'.repeat(64);
let t: TestServer;
let es: TestKey, stranger: TestKey;

before(async () => {
  es = generateTestKey('ES256', 'es-1');
  stranger = generateTestKey('ES256', 'es-1');
  await warmDummyKeys();
  t = await startTestServer({
    inject: true,
    config: {
      clients: [
        { client_id: 'pk', jwks: { keys: [es.publicJwk] }, scope: 'read' },
        { client_id: 'hs', token_endpoint_auth_method: 'client_secret_jwt', client_secret: HS, scope: 'read' },
        { client_id: 'chosen', client_secret: 'a secret a person chose', scope: 'read' },
      ],
    },
  });
  // Generated secrets (the default, stored as SHA-256).
  await t.server.createClient('default', { client_id: 'basic', scope: 'read' });
  await t.server.createClient('default', { client_id: 'post', token_endpoint_auth_method: 'client_secret_post', scope: 'read' });
  // A chosen secret is stored with scrypt; after its first success the process keeps an HMAC of it.
  await t.server.token({ realm: t.server.realm('default')!, params: new Map([['grant_type', ['client_credentials']]]), authorization: basic('chosen', 'a secret a person chose') });
});
after(async () => {
  await t.close();
});

type Req = { params: Map<string, string[]>; authorization?: string };

/** Runs the request through the core facade; returns elapsed µs and the refusal. */
async function timeOne(req: Req): Promise<{ us: number; err: OAuthError }> {
  const realm = t.server.realm('default')!;
  const start = process.hrtime.bigint();
  let err: unknown;
  try {
    await t.server.token({ realm, params: req.params, authorization: req.authorization });
  } catch (e) {
    err = e;
  }
  const us = Number(process.hrtime.bigint() - start) / 1000;
  assert.ok(err instanceof OAuthError, 'the request must be refused');
  return { us, err };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/**
 * Interleaves `n` known/unknown pairs and compares medians; retries up to three times. Also checks
 * that both answers carry the same public description and the expected private reasons.
 */
async function compare(known: () => Req, unknown: () => Req, reasons: [string, string], n = 150): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    for (let i = 0; i < 20; i++) {
      await timeOne(known());
      await timeOne(unknown());
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = await timeOne(known());
      const u = await timeOne(unknown());
      assert.equal(k.err.description, AUTH_FAILED);
      assert.equal(u.err.description, AUTH_FAILED);
      assert.equal(k.err.reason, reasons[0]);
      assert.equal(u.err.reason, reasons[1]);
      a.push(k.us);
      b.push(u.us);
    }
    const ratio = median(a) / median(b);
    last = `known median ${median(a).toFixed(0)} µs, unknown median ${median(b).toFixed(0)} µs, ratio ${ratio.toFixed(2)}`;
    // Within 30 %, or within 40 µs for the sub-100 µs secret checks (scheduling noise at that scale).
    if ((ratio > 1 / 1.3 && ratio < 1.3) || Math.abs(median(a) - median(b)) < 40) return;
  }
  assert.fail(`timing differs between known and unknown clients: ${last}`);
}

const now = () => Math.floor(Date.now() / 1000);
const assertionReq = (sub: string, alg: string, key: TestKey['privateKey'] | string): Req => ({
  params: new Map([
    ['grant_type', ['client_credentials']],
    ['client_assertion_type', [JWT_BEARER]],
    ['client_assertion', [signAssertion({ alg, kid: 'es-1' }, { iss: sub, sub, aud: t.issuer, iat: now(), exp: now() + 60, jti: randomUUID() }, key)]],
  ]),
});

describe('unknown clients cost what known ones cost (issue 13 item 10)', () => {
  it('private_key_jwt: a bad signature of a known client ≈ an unknown client (dummy ES256 verification)', async () => {
    await compare(() => assertionReq('pk', 'ES256', stranger.privateKey), () => assertionReq(`ghost-${randomUUID()}`, 'ES256', stranger.privateKey), ['signature_invalid', 'client_unknown']);
  });
  it('client_secret_jwt: a bad MAC of a known client ≈ an unknown client (dummy HMAC)', async () => {
    await compare(() => assertionReq('hs', 'HS256', 'x'.repeat(64)), () => assertionReq(`ghost-${randomUUID()}`, 'HS256', 'x'.repeat(64)), ['signature_invalid', 'client_unknown']);
  });
  it('client_secret_basic: a wrong secret ≈ an unknown client (dummy hash comparison)', async () => {
    const grant = new Map([['grant_type', ['client_credentials']]]);
    await compare(() => ({ params: grant, authorization: basic('basic', 'wrong-secret') }), () => ({ params: grant, authorization: basic(`ghost-${randomUUID()}`, 'wrong-secret') }), ['secret_mismatch', 'client_unknown']);
  });
  it('client_secret_basic with a chosen (scrypt) secret, once used: a wrong secret ≈ an unknown client', async () => {
    const grant = new Map([['grant_type', ['client_credentials']]]);
    await compare(() => ({ params: grant, authorization: basic('chosen', 'wrong-secret') }), () => ({ params: grant, authorization: basic(`ghost-${randomUUID()}`, 'wrong-secret') }), ['secret_mismatch', 'client_unknown']);
  });
  it('client_secret_post: a wrong secret ≈ an unknown client', async () => {
    const req = (id: string): Req => ({ params: new Map([['grant_type', ['client_credentials']], ['client_id', [id]], ['client_secret', ['wrong-secret']]]) });
    await compare(() => req('post'), () => req(`ghost-${randomUUID()}`), ['secret_mismatch', 'client_unknown']);
  });
});
