/**
 * Equal work for unknown clients (issue 13 item 10): when the client an assertion names is unknown,
 * disabled, registered otherwise, or has no key that fits, the same signature verification still
 * runs — on a process-local dummy key of the same alg — so that the time taken does not tell
 * whether a client id exists. Dummy keys are generated once per alg, on first need.
 */
import { generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { verifyAsymmetric, verifyHmac, type AsymmetricAlg, type HmacAlg } from '../crypto/jws.ts';

const dummyKeys = new Map<string, Promise<KeyObject>>();

function keyFor(alg: AsymmetricAlg): Promise<KeyObject> {
  const family = alg.startsWith('RS') || alg.startsWith('PS') ? 'rsa' : alg === 'ES256' ? 'p256' : alg === 'ES384' ? 'p384' : 'ed25519';
  let p = dummyKeys.get(family);
  if (!p) {
    p = new Promise<KeyObject>((resolve, reject) => {
      const done = (err: Error | null, publicKey: KeyObject) => (err ? reject(err) : resolve(publicKey));
      if (family === 'rsa') generateKeyPair('rsa', { modulusLength: 2048 }, done);
      else if (family === 'ed25519') generateKeyPair('ed25519', {}, done);
      else generateKeyPair('ec', { namedCurve: family === 'p256' ? 'P-256' : 'P-384' }, done);
    });
    dummyKeys.set(family, p);
  }
  return p;
}

/** Runs a verification that always fails, costing what a real one with this alg costs. */
export async function dummyVerifyAsymmetric(alg: AsymmetricAlg, signingInput: string, signature: Buffer): Promise<void> {
  await verifyAsymmetric(alg, await keyFor(alg), signingInput, signature);
}

const DUMMY_HMAC_KEY = randomBytes(64);

export function dummyVerifyHmac(alg: HmacAlg, signingInput: string, signature: Buffer): void {
  verifyHmac(alg, DUMMY_HMAC_KEY, signingInput, signature);
}

/** Generates the dummy keys ahead of time (so the first unknown-client request is not slower). */
export async function warmDummyKeys(): Promise<void> {
  await Promise.all((['RS256', 'ES256', 'ES384', 'EdDSA'] as const).map(keyFor));
}

/** How many dummy key families have been generated or are being generated (tests). */
export function dummyKeyCount(): number {
  return dummyKeys.size;
}
