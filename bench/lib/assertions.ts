/**
 * Pre-minted client assertions: every request of a client_secret_jwt / private_key_jwt run carries
 * its own assertion with a fresh jti, signed before the measured window. Minting uses worker
 * threads (one per core) while no server is under load.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { JWT_BEARER, type Fixture, type Jwk } from './fixtures.ts';

export type AssertionScenarioAlg = 'HS256' | 'ES256' | 'RS256' | 'PS256' | 'EdDSA';

export interface MintJob {
  alg: AssertionScenarioAlg;
  clientId: string;
  kid: string | undefined;
  /** Private JWK (asymmetric) or the client secret (HS256). */
  key: Jwk | string;
  audience: string;
  /** Form fields before client_assertion, already encoded. */
  prefix: string;
  count: number;
}

// Plain JavaScript, run with `eval: true`: the worker needs nothing but node:crypto.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac, createPrivateKey, randomBytes, sign, constants } = require('node:crypto');
const { alg, clientId, kid, key, audience, prefix, count, seed } = workerData;
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const header = b64(kid === undefined ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid });
const priv = alg === 'HS256' ? Buffer.from(key, 'utf8') : createPrivateKey({ key, format: 'jwk' });
const signer = {
  HS256: (d) => createHmac('sha256', priv).update(d).digest(),
  ES256: (d) => sign('sha256', d, { key: priv, dsaEncoding: 'ieee-p1363' }),
  RS256: (d) => sign('sha256', d, priv),
  PS256: (d) => sign('sha256', d, { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
  EdDSA: (d) => sign(null, d, priv),
}[alg];
const now = Math.floor(Date.now() / 1000);
const out = new Array(count);
const base = seed + '-' + randomBytes(6).toString('base64url') + '-';
for (let i = 0; i < count; i++) {
  const input = header + '.' + b64({ iss: clientId, sub: clientId, aud: audience, iat: now, exp: now + 240, jti: base + i });
  out[i] = prefix + '&client_assertion=' + input + '.' + signer(Buffer.from(input)).toString('base64url');
}
parentPort.postMessage(out);
`;

/** Mints `job.count` request bodies, each with a distinct assertion. */
export async function mintBodies(job: MintJob): Promise<string[]> {
  if (job.count <= 0) return [];
  const workers = Math.max(1, Math.min(availableParallelism(), Math.ceil(job.count / 2000)));
  const per = Math.ceil(job.count / workers);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const count = Math.min(per, job.count - w * per);
      return new Promise<string[]>((resolve, reject) => {
        const worker = new Worker(WORKER, { eval: true, workerData: { ...job, count, seed: `w${w}` } });
        worker.once('message', (m: string[]) => resolve(m));
        worker.once('error', reject);
        worker.once('exit', (code) => code !== 0 && reject(new Error(`mint worker exited with ${code}`)));
      });
    }),
  );
  return parts.flat();
}

/** The mint job for an assertion scenario against a server with issuer `audience`. */
export function mintJob(fixture: Fixture, alg: AssertionScenarioAlg, audience: string, count: number): MintJob {
  if (alg === 'HS256') {
    const c = fixture.hs256;
    return { alg, clientId: c.client_id, kid: undefined, key: c.secret, audience, prefix: prefix(fixture), count };
  }
  const c = fixture.keyClients[alg];
  return { alg, clientId: c.client_id, kid: c.kid, key: c.privateJwk, audience, prefix: prefix(fixture), count };
}

function prefix(fixture: Fixture): string {
  return `grant_type=client_credentials&scope=${encodeURIComponent(fixture.scope)}&client_assertion_type=${encodeURIComponent(JWT_BEARER)}`;
}
