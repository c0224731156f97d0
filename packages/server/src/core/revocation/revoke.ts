/**
 * RFC 7009 revocation of access tokens. The token must have been issued to the calling client;
 * an invalid, unknown or expired token is answered with success (§2.2) and changes nothing. The
 * revocation is stored by jti until the token would have expired.
 */
import type { RealmConfig } from '../config/index.ts';
import type { PreparedClient } from '../clients/registry.ts';
import { UnauthorizedClientError } from '../errors/index.ts';
import type { KeyManager } from '../keys/key-manager.ts';
import type { Clock, RevocationStore } from '../ports/index.ts';
import { verifyOwnAccessToken } from '../tokens/access-token.ts';

export interface RevokeDeps {
  keys: KeyManager;
  revocations: RevocationStore;
  clock: Clock;
  /** Told the jti of each revoked token (token reuse forgets it). */
  onRevoked?: (jti: string) => void;
}

export async function revoke(realm: RealmConfig, caller: PreparedClient, token: string, deps: RevokeDeps): Promise<void> {
  const claims = await verifyOwnAccessToken(deps.keys, realm.name, realm.issuer, token);
  if (!claims) return;
  if (claims.client_id !== caller.record.clientId) throw new UnauthorizedClientError('the token was not issued to this client').because('token_not_owned');
  if (claims.exp * 1000 <= deps.clock.now()) return;
  await deps.revocations.revoke(realm.name, claims.jti, claims.exp * 1000);
  deps.onRevoked?.(claims.jti);
}
