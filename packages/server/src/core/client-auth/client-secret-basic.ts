/** client_secret_basic: RFC 6749 §2.3.1, credentials form-urlencoded inside the Basic header. */
import type { InvalidClientError } from '../errors/index.ts';
import { authFailed } from './assertion.ts';
import type { ClientAuthMethod } from './types.ts';
import { verifyClientSecret, type SecretCredentials } from './client-secret.ts';

export const name = 'client_secret_basic' as const;

/** Appendix B decoding: '+' is a space, then percent-decoding. Undefined when malformed. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function malformed(problem: string): InvalidClientError {
  return authFailed('basic_malformed', { problem });
}

/**
 * Parses an Authorization header. Returns undefined when there is none; throws invalid_client for
 * another scheme or a malformed Basic value.
 */
export function parseBasic(authorization: string | undefined): SecretCredentials | undefined {
  if (authorization === undefined || authorization === '') return undefined;
  const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(authorization);
  if (!m) {
    if (!/^Basic(\s|$)/i.test(authorization)) {
      throw authFailed('auth_scheme_unsupported', { scheme: authorization.split(' ', 1)[0]!.slice(0, 20) });
    }
    throw malformed('Basic value is not base64');
  }
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw malformed('no colon in Basic credentials');
  const clientId = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (clientId === undefined || secret === undefined) throw malformed('bad percent-encoding in Basic credentials');
  if (clientId === '' || secret === '') throw malformed('empty client_id or secret in Basic credentials');
  return { clientId, secret };
}

export const clientSecretBasic: ClientAuthMethod<SecretCredentials> = {
  name,
  extract: (req) => parseBasic(req.authorization),
  verify: (creds, req, deps) => verifyClientSecret(name, creds, req, deps),
};
