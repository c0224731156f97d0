/**
 * In-process microbenchmarks of the two libraries Tessera ships for the other side of the wire:
 * the SDK's TokenClient.getToken served from its cache (fresh, and due for renewal with the renewal
 * in flight), and the resource server's
 * verifyAccessToken with a warm JWKS cache (plus bare node:crypto verification of the same token
 * for scale). Both run against the Tessera server under test, while it is otherwise idle.
 */
import { createPublicKey, verify } from 'node:crypto';
import { TokenClient } from '../../packages/client/src/index.ts';
import { verifyAccessToken, type VerifierOptions } from '../../packages/resource-server/src/index.ts';
import type { Fixture } from './fixtures.ts';
import { basicHeader, FORM, PATHS, send, type RunningServer } from './servers.ts';

export interface MicroResult {
  id: 'sdk_get_token_cached' | 'sdk_get_token_renewal_due' | 'rs_verify_warm_jwks' | 'rs_verify_token_cache' | 'node_crypto_verify';
  label: string;
  unit: string;
  /** Operations per second, one per run. */
  perSec: number[];
}

async function measure(fn: () => Promise<unknown> | unknown, seconds: number): Promise<number> {
  const warm = performance.now() + Math.min(500, seconds * 250);
  while (performance.now() < warm) for (let i = 0; i < 64; i++) await fn();
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let now = t0;
  do {
    for (let i = 0; i < 256; i++) await fn();
    n += 256;
    now = performance.now();
  } while (now < end);
  return n / ((now - t0) / 1000);
}

export async function runMicro(tessera: RunningServer, fixture: Fixture, opts: { seconds: number; runs: number; log: (s: string) => void }): Promise<MicroResult[]> {
  const { basic } = fixture;
  // SDK: one real token request, then cache hits.
  const client = new TokenClient({
    issuer: tessera.issuer,
    clientId: basic.client_id,
    auth: { method: 'client_secret_basic', clientSecret: basic.secret },
    tokenEndpoint: tessera.origin + PATHS.tessera.token,
  });
  const first = await client.getToken({ scope: fixture.scope });
  const cached = async () => {
    const t = await client.getToken({ scope: fixture.scope });
    if (t !== first) throw new Error('TokenClient did not serve the token from its cache');
  };

  // SDK, renewal due: the clock is moved into the refresh margin and the renewal request never
  // completes, so every call serves the still-valid token while one renewal is in flight.
  let shift = 0;
  const tokenEndpoint = tessera.origin + PATHS.tessera.token;
  const renewing = new TokenClient({
    issuer: tessera.issuer,
    clientId: basic.client_id,
    auth: { method: 'client_secret_basic', clientSecret: basic.secret },
    tokenEndpoint,
    now: () => Date.now() + shift,
    totalTimeoutMs: 3_600_000,
    timeoutMs: 3_600_000,
    connectTimeoutMs: 3_600_000,
    fetch: (input, init) => (shift === 0 ? fetch(input, init) : new Promise<Response>(() => undefined)),
  });
  const before = await renewing.getToken({ scope: fixture.scope });
  shift = Math.max(0, before.expiresAt - Date.now() - 20_000);
  const dueForRenewal = async () => {
    const t = await renewing.getToken({ scope: fixture.scope });
    if (t !== before) throw new Error('TokenClient did not serve the valid token while renewing');
  };

  // Resource server: a real Tessera token, keys discovered and fetched once.
  const res = await send(tessera.origin, {
    method: 'POST',
    path: PATHS.tessera.token,
    headers: { 'content-type': FORM, authorization: basicHeader(basic.client_id, basic.secret) },
    body: `grant_type=client_credentials&scope=${fixture.scope}`,
  });
  const token = (JSON.parse(res.body) as { access_token: string }).access_token;
  const options: VerifierOptions = { issuer: tessera.issuer, audience: fixture.api, scopes: [fixture.scope] };
  const verified = await verifyAccessToken(token, options);
  if (verified.clientId !== basic.client_id) throw new Error('verifier returned the wrong client');
  const verifyOnce = () => verifyAccessToken(token, options);
  // The same, answered by the verified-token cache (signature checked once, then until min(ttl, exp)).
  const cachingOptions: VerifierOptions = { ...options, tokenCache: { ttlMs: 60_000 } };
  await verifyAccessToken(token, cachingOptions);
  const verifyCached = () => verifyAccessToken(token, cachingOptions);

  // For scale: what node:crypto alone costs (split, decode, ES256 verify, parse, three checks).
  const jwks = JSON.parse((await send(tessera.origin, { method: 'GET', path: PATHS.tessera.jwks })).body) as { keys: Array<Record<string, unknown>> };
  const [h] = token.split('.') as [string];
  const kid = (JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string }).kid;
  const key = createPublicKey({ key: jwks.keys.find((k) => k.kid === kid) as never, format: 'jwk' });
  const bare = () => {
    const [h2, p2, s2] = token.split('.') as [string, string, string];
    if (!verify('sha256', Buffer.from(`${h2}.${p2}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s2, 'base64url'))) throw new Error('bad signature');
    const c = JSON.parse(Buffer.from(p2, 'base64url').toString('utf8')) as { iss: string; aud: string; exp: number };
    if (c.iss !== tessera.issuer || c.aud !== fixture.api || c.exp < Date.now() / 1000) throw new Error('bad claims');
  };

  const cases: Array<[MicroResult['id'], string, string, () => unknown]> = [
    ['sdk_get_token_cached', 'SDK TokenClient.getToken (cache hit)', 'calls/s', cached],
    ['sdk_get_token_renewal_due', 'SDK TokenClient.getToken (renewal due, in flight)', 'calls/s', dueForRenewal],
    ['rs_verify_warm_jwks', 'resource-server verifyAccessToken (warm JWKS)', 'verifications/s', verifyOnce],
    ['rs_verify_token_cache', 'resource-server verifyAccessToken (verified-token cache)', 'verifications/s', verifyCached],
    ['node_crypto_verify', 'bare node:crypto ES256 verify + claims (for scale)', 'verifications/s', bare],
  ];
  const results: MicroResult[] = cases.map(([id, label, unit]) => ({ id, label, unit, perSec: [] }));
  for (let r = 0; r < opts.runs; r++) {
    for (const [i, [, label, unit, fn]] of cases.entries()) {
      const perSec = await measure(fn, opts.seconds);
      results[i]!.perSec.push(perSec);
      opts.log(`  micro ${label}: ${Math.round(perSec).toLocaleString('en-US')} ${unit} (run ${r + 1}/${opts.runs})`);
    }
  }
  return results;
}
