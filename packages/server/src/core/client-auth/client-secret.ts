/** Shared verification of client_secret_basic and client_secret_post. */
import { InvalidClientError } from '../errors/index.ts';
import type { PreparedClient } from '../clients/registry.ts';
import type { TokenEndpointAuthMethod } from '../../shared/oauth.ts';
import type { AuthDeps, AuthRequest } from './types.ts';

export const AUTH_FAILED = 'client authentication failed';

export interface SecretCredentials {
  clientId: string;
  secret: string;
}

/**
 * Unknown client, disabled client, a client registered for another method and a wrong secret all
 * fail alike (same description, same work), so the answer never tells whether a client exists.
 */
export async function verifyClientSecret(
  method: TokenEndpointAuthMethod,
  creds: SecretCredentials,
  req: AuthRequest,
  deps: AuthDeps,
): Promise<PreparedClient> {
  const client = await deps.clients.get(req.realm.name, creds.clientId);
  const usable = client && !client.record.disabled && client.record.tokenEndpointAuthMethod === method;
  let ok = await deps.secrets.verify(usable ? client.record.secretHash : undefined, creds.secret);
  // Secret rotation with overlap: the previous secret works until previousSecretExpiresAt.
  const previous = usable ? client.record.previousSecretHash : undefined;
  if (!ok && previous !== undefined && (client?.record.previousSecretExpiresAt ?? 0) > deps.clock.now()) ok = await deps.secrets.verify(previous, creds.secret);
  if (!ok || !client) {
    const why = !client ? 'unknown client' : client.record.disabled ? 'client disabled' : !usable ? `client registered for ${client.record.tokenEndpointAuthMethod}` : 'wrong secret';
    throw new InvalidClientError(AUTH_FAILED, `${method}: ${why} (client_id ${JSON.stringify(creds.clientId)})`);
  }
  return client;
}
