/**
 * client_secret_jwt: an assertion MACed with the client secret (HS256/384/512), RFC 7523 §2.2.
 * During a secret rotation's overlap, an assertion MACed with the previous secret is accepted too,
 * until previous_secret_expires_at, as for the other secret methods.
 */
import { hmacMinKeyBytes, isHmacAlg, verifyHmac, type HmacAlg } from '../crypto/jws.ts';
import type { ClientAuthMethod } from './types.ts';
import { assertionClient, authFailed, checkAssertionClaims, extractAssertion, type AssertionCredentials, type PreProofRefusal } from './assertion.ts';
import { dummyVerifyHmac } from './dummy.ts';

export const name = 'client_secret_jwt' as const;

export const clientSecretJwt: ClientAuthMethod<AssertionCredentials> = {
  name,
  extract(req) {
    const creds = extractAssertion(req);
    return creds && isHmacAlg(creds.alg) ? creds : undefined;
  },
  async verify(creds, req, deps) {
    const alg = creds.alg as HmacAlg;
    const found = await assertionClient(creds, name, req, deps);
    let refusal: PreProofRefusal | undefined = found.refusal;
    const key = found.client?.hmacKey;
    if (!refusal && (!key || key.length < hmacMinKeyBytes(alg))) refusal = { reason: 'hmac_key_too_short', facts: { alg } };
    if (refusal || !key || !found.client) {
      dummyVerifyHmac(alg, creds.jws.signingInput, creds.jws.signature);
      throw authFailed(refusal?.reason ?? 'client_unknown', refusal?.facts);
    }
    if (!verifyHmac(alg, key, creds.jws.signingInput, creds.jws.signature)) {
      const previous = found.client.previousHmacKey;
      const overlap = previous !== undefined && (found.client.record.previousSecretExpiresAt ?? 0) > deps.clock.now() && previous.length >= hmacMinKeyBytes(alg);
      if (!overlap || !verifyHmac(alg, previous, creds.jws.signingInput, creds.jws.signature)) throw authFailed('signature_invalid', { alg });
    }
    await checkAssertionClaims(creds, found.client, req, deps);
    return found.client;
  },
};
