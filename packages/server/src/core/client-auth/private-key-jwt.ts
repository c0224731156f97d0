/**
 * private_key_jwt: an assertion signed with a key from the client's registered `jwks` or
 * `jwks_uri` (RFC 7523 §2.2). A kid the cached jwks_uri set lacks triggers one re-fetch, subject
 * to the per-client cooldown.
 */
import { InvalidClientError } from '../errors/index.ts';
import { isAsymmetricAlg, verifyAsymmetric } from '../crypto/jws.ts';
import { selectClientKey, type ClientKey, type KeySelection } from '../clients/keys.ts';
import type { ClientAuthMethod } from './types.ts';
import { assertionClient, checkAssertionClaims, extractAssertion, NO_KEY, type AssertionCredentials } from './assertion.ts';

export const name = 'private_key_jwt' as const;

export const privateKeyJwt: ClientAuthMethod<AssertionCredentials> = {
  name,
  extract(req) {
    const creds = extractAssertion(req);
    return creds && isAsymmetricAlg(creds.alg) ? creds : undefined;
  },
  async verify(creds, req, deps) {
    const client = await assertionClient(creds, name, req, deps);
    const alg = creds.alg;
    if (!isAsymmetricAlg(alg)) throw new InvalidClientError(NO_KEY);
    const header = creds.jws.header;
    const uri = client.record.jwksUri;
    let selection: KeySelection;
    if (uri === undefined) {
      selection = selectClientKey(client.keys ?? [], alg, header);
    } else {
      let keys: ClientKey[];
      try {
        keys = await deps.remoteJwks.get(uri);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        throw new InvalidClientError(NO_KEY, `jwks_uri fetch failed: ${(err as Error).message}`).because(
          typeof code === 'string' && code.startsWith('jwks') ? code : 'jwks_uri_failed',
          { jwks_uri: uri, ...((err as { facts?: Record<string, unknown> }).facts ?? {}) },
        );
      }
      selection = selectClientKey(keys, alg, header);
      if ('reason' in selection && selection.reason === 'no_match') {
        const fresh = await deps.remoteJwks.refresh(uri, `${req.realm.name}\0${client.record.clientId}`).catch(() => undefined);
        if (fresh) selection = selectClientKey(fresh, alg, header);
      }
    }
    if ('reason' in selection) {
      throw new InvalidClientError(
        selection.reason === 'ambiguous' ? 'client_assertion has no kid and several registered keys fit its alg' : NO_KEY,
        selection.reason === 'duplicate_kid' ? `several keys of the client's set share kid ${JSON.stringify(header.kid)}` : selection.reason,
      ).because(selection.reason, {
        kid: header.kid ?? null,
        alg,
        ...(uri !== undefined ? { jwks_uri: uri, ...deps.remoteJwks.diagnostics(uri) } : { kids: (client.keys ?? []).map((k) => k.kid ?? null) }),
      });
    }
    if (!(await verifyAsymmetric(alg, selection.key.key, creds.jws.signingInput, creds.jws.signature))) {
      throw new InvalidClientError('client_assertion signature is invalid');
    }
    await checkAssertionClaims(creds, client, req, deps);
    return client;
  },
};
