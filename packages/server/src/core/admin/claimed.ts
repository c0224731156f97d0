/**
 * What a refused request claimed to be, for the failure record: the client id (Basic header,
 * client_id parameter or the assertion's sub/iss, read without trusting it) and the method tried.
 * Never throws; never reads a secret.
 */
import type { RawParams } from '../params.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function first(params: RawParams, name: string): string | undefined {
  return params.get(name)?.[0];
}

export function claimedIdentity(params: RawParams, authorization: string | undefined): { clientId: string | null; method: string | null } {
  try {
    if (authorization && /^basic /i.test(authorization)) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const id = colon >= 0 ? decoded.slice(0, colon) : decoded;
      return { clientId: safeId(decodeURIComponentSafe(id)), method: 'client_secret_basic' };
    }
    const assertion = first(params, 'client_assertion');
    if (assertion !== undefined) {
      const [h, p] = assertion.split('.');
      const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as { alg?: unknown };
      const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as { sub?: unknown; iss?: unknown };
      const id = typeof payload.sub === 'string' ? payload.sub : typeof payload.iss === 'string' ? payload.iss : first(params, 'client_id');
      const method = first(params, 'client_assertion_type') === ASSERTION_TYPE ? (typeof header.alg === 'string' && header.alg.startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt') : null;
      return { clientId: safeId(id), method };
    }
    const id = first(params, 'client_id');
    return { clientId: safeId(id), method: first(params, 'client_secret') !== undefined ? 'client_secret_post' : null };
  } catch {
    return { clientId: safeId(first(params, 'client_id')), method: null };
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Ids are stored as given but cut to 255 characters. */
function safeId(id: string | undefined): string | null {
  return id === undefined || id === '' ? null : id.slice(0, 255);
}
