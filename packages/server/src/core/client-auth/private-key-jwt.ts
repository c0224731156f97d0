/**
 * private_key_jwt: an assertion signed with a key from the client's registered `jwks` or
 * `jwks_uri` (RFC 7523 §2.2). A kid the cached jwks_uri set lacks triggers one re-fetch, subject
 * to the per-client cooldown. When no key can be used, a dummy verification of the same alg runs,
 * so unknown clients cost what known ones cost.
 */
import type { KeyObject } from 'node:crypto';
import { isAsymmetricAlg, verifyAsymmetric, type AsymmetricAlg } from '../crypto/jws.ts';
import { selectClientKey, type ClientKey, type KeySelection } from '../clients/keys.ts';
import type { ClientAuthMethod } from './types.ts';
import { assertionClient, authFailed, checkAssertionClaims, extractAssertion, type AssertionCredentials, type PreProofRefusal } from './assertion.ts';
import { dummyVerifyAsymmetric } from './dummy.ts';

export const name = 'private_key_jwt' as const;

function selectionRefusal(selection: KeySelection, keys: readonly ClientKey[], header: Record<string, unknown>, alg: string): PreProofRefusal | undefined {
  if (!('reason' in selection)) return undefined;
  const designated = typeof header.kid === 'string' ? { kid: header.kid.slice(0, 100) } : typeof header['x5t#S256'] === 'string' ? { 'x5t#S256': header['x5t#S256'] } : typeof header.x5t === 'string' ? { x5t: header.x5t } : {};
  if (selection.reason === 'ambiguous') return { reason: 'key_ambiguous', facts: { alg, known: keys.map((k) => k.kid ?? null) } };
  return { reason: 'kid_not_found', facts: { ...designated, alg, known: keys.map((k) => k.kid ?? null) } };
}

export const privateKeyJwt: ClientAuthMethod<AssertionCredentials> = {
  name,
  extract(req) {
    const creds = extractAssertion(req);
    return creds && isAsymmetricAlg(creds.alg) ? creds : undefined;
  },
  async verify(creds, req, deps) {
    const alg = creds.alg as AsymmetricAlg;
    const header = creds.jws.header;
    const found = await assertionClient(creds, name, req, deps);
    let refusal: PreProofRefusal | undefined = found.refusal;
    let key: KeyObject | undefined;
    const client = found.client;
    if (!refusal && client) {
      const uri = client.record.jwksUri;
      let keys: ClientKey[] = client.keys ?? [];
      let fetchFailed: string | undefined;
      if (uri !== undefined) {
        try {
          keys = await deps.remoteJwks.get(uri);
        } catch (err) {
          fetchFailed = (err as Error).message;
        }
      }
      if (fetchFailed !== undefined) {
        refusal = { reason: 'jwks_uri_fetch_failed', facts: { jwks_uri: uri, error: fetchFailed.slice(0, 200) } };
      } else {
        let selection = selectClientKey(keys, alg, header);
        if (uri !== undefined && 'reason' in selection && selection.reason === 'no_match') {
          const fresh = await deps.remoteJwks.refresh(uri, `${req.realm.name}\0${client.record.clientId}`).catch(() => undefined);
          if (fresh) {
            keys = fresh;
            selection = selectClientKey(fresh, alg, header);
          }
        }
        refusal = selectionRefusal(selection, keys, header, alg);
        if (!('reason' in selection)) key = selection.key.key;
      }
    }
    if (refusal || !key || !client) {
      await dummyVerifyAsymmetric(alg, creds.jws.signingInput, creds.jws.signature);
      throw authFailed(refusal?.reason ?? 'client_unknown', refusal?.facts);
    }
    if (!(await verifyAsymmetric(alg, key, creds.jws.signingInput, creds.jws.signature))) {
      throw authFailed('signature_invalid', { alg, ...(typeof header.kid === 'string' ? { kid: header.kid.slice(0, 100) } : {}) });
    }
    await checkAssertionClaims(creds, client, req, deps);
    return client;
  },
};
