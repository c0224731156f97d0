/** client_secret_jwt: an assertion MACed with the client secret (HS256/384/512), RFC 7523 §2.2. */
import { InvalidClientError } from '../errors/index.ts';
import { hmacMinKeyBytes, isHmacAlg, verifyHmac } from '../crypto/jws.ts';
import type { ClientAuthMethod } from './types.ts';
import { assertionClient, checkAssertionClaims, extractAssertion, NO_KEY, type AssertionCredentials } from './assertion.ts';

export const name = 'client_secret_jwt' as const;

export const clientSecretJwt: ClientAuthMethod<AssertionCredentials> = {
  name,
  extract(req) {
    const creds = extractAssertion(req);
    return creds && isHmacAlg(creds.alg) ? creds : undefined;
  },
  async verify(creds, req, deps) {
    const client = await assertionClient(creds, name, req, deps);
    const alg = creds.alg;
    if (!isHmacAlg(alg)) throw new InvalidClientError(NO_KEY);
    const key = client.hmacKey;
    if (!key || key.length < hmacMinKeyBytes(alg)) throw new InvalidClientError(NO_KEY, `client secret too short for ${alg}`);
    if (!verifyHmac(alg, key, creds.jws.signingInput, creds.jws.signature)) throw new InvalidClientError('client_assertion signature is invalid');
    await checkAssertionClaims(creds, client, req, deps);
    return client;
  },
};
