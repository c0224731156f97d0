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
import { REASONS, type ReasonCode } from '../errors/reasons.ts';

export const name = 'private_key_jwt' as const;

function selectionRefusal(selection: KeySelection, keys: readonly ClientKey[], header: Record<string, unknown>, alg: string, extra: Record<string, unknown>): PreProofRefusal | undefined {
  if (!('reason' in selection)) return undefined;
  const designated = typeof header.kid === 'string' ? { kid: header.kid.slice(0, 100) } : typeof header['x5t#S256'] === 'string' ? { 'x5t#S256': header['x5t#S256'] } : typeof header.x5t === 'string' ? { x5t: header.x5t } : {};
  const known = keys.map((k) => k.kid ?? null);
  if (selection.reason === 'ambiguous') return { reason: 'key_ambiguous', facts: { alg, known, ...extra } };
  if (selection.reason === 'duplicate_kid') {
    return { reason: 'duplicate_kid', facts: { ...designated, alg, known, ...extra, duplicate_kids: [designated.kid] }, detail: `several keys of the client's set share kid ${JSON.stringify(designated.kid)}` };
  }
  return { reason: 'kid_not_found', facts: { ...designated, alg, known, ...extra } };
}

/** The reason a jwks_uri fetch failed: the fetcher's own code when it is a known one. */
function fetchRefusal(err: unknown, uri: string): PreProofRefusal {
  const code = (err as { code?: unknown }).code;
  const facts = (err as { facts?: Record<string, unknown> }).facts ?? {};
  const reason: ReasonCode = typeof code === 'string' && code in REASONS ? (code as ReasonCode) : 'jwks_uri_fetch_failed';
  const message = String((err as Error).message ?? err).slice(0, 200);
  return { reason, facts: { jwks_uri: uri, error: message, ...facts }, detail: `jwks_uri fetch failed: ${message}` };
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
      let fetchFailed: PreProofRefusal | undefined;
      if (uri !== undefined) {
        try {
          keys = await deps.remoteJwks.get(uri);
        } catch (err) {
          fetchFailed = fetchRefusal(err, uri);
        }
      }
      if (fetchFailed !== undefined) {
        refusal = fetchFailed;
      } else {
        let selection = selectClientKey(keys, alg, header);
        if (uri !== undefined && 'reason' in selection && selection.reason === 'no_match') {
          const fresh = await deps.remoteJwks.refresh(uri, `${req.realm.name}\0${client.record.clientId}`).catch(() => undefined);
          if (fresh) {
            keys = fresh;
            selection = selectClientKey(fresh, alg, header);
          }
        }
        refusal = selectionRefusal(selection, keys, header, alg, uri !== undefined ? { jwks_uri: uri, ...deps.remoteJwks.diagnostics(uri) } : {});
        if (!('reason' in selection)) key = selection.key.key;
      }
    }
    if (refusal || !key || !client) {
      await dummyVerifyAsymmetric(alg, creds.jws.signingInput, creds.jws.signature);
      throw authFailed(refusal?.reason ?? 'client_unknown', refusal?.facts, refusal?.detail);
    }
    if (!(await verifyAsymmetric(alg, key, creds.jws.signingInput, creds.jws.signature))) {
      throw authFailed('signature_invalid', { alg, ...(typeof header.kid === 'string' ? { kid: header.kid.slice(0, 100) } : {}) });
    }
    await checkAssertionClaims(creds, client, req, deps);
    return client;
  },
};
