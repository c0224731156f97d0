/** Shared verification of client_secret_basic and client_secret_post. */
import type { PreparedClient } from '../clients/registry.ts';
import type { TokenEndpointAuthMethod } from '../../shared/oauth.ts';
import type { AuthDeps, AuthRequest } from './types.ts';
import { AUTH_FAILED, authFailed } from './assertion.ts';

export { AUTH_FAILED };

export interface SecretCredentials {
  clientId: string;
  secret: string;
}

/**
 * Unknown client, disabled client, a client registered for another method and a wrong secret all
 * fail alike (same description, same work: a dummy hash comparison), so the answer never tells
 * whether a client exists. A private_key_jwt client that opted in to Oracle's "Basic and
 * optionally an assertion" (allow_basic_with_assertion) may also authenticate with Basic alone.
 */
export async function verifyClientSecret(
  method: TokenEndpointAuthMethod,
  creds: SecretCredentials,
  req: AuthRequest,
  deps: AuthDeps,
): Promise<PreparedClient> {
  const client = await deps.clients.get(req.realm.name, creds.clientId);
  const r = client?.record;
  const methodOk = r !== undefined && (r.tokenEndpointAuthMethod === method || (method === 'client_secret_basic' && r.allowBasicWithAssertion && r.secretHash !== undefined));
  const usable = r !== undefined && !r.disabled && methodOk;
  let ok = await deps.secrets.verify(usable ? r.secretHash : undefined, creds.secret);
  // Secret rotation with overlap: the previous secret works until previousSecretExpiresAt.
  const previous = usable ? r.previousSecretHash : undefined;
  if (!ok && previous !== undefined && (r?.previousSecretExpiresAt ?? 0) > deps.clock.now()) ok = await deps.secrets.verify(previous, creds.secret);
  if (!ok || !client) {
    if (!r) throw authFailed('client_unknown', { client_id: creds.clientId.slice(0, 255) });
    if (r.disabled) throw authFailed('client_disabled');
    if (!methodOk) throw authFailed('method_mismatch', { got: method, registered: r.tokenEndpointAuthMethod });
    throw authFailed('secret_mismatch', { method });
  }
  return client;
}
