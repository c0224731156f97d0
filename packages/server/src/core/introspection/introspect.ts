/**
 * RFC 7662 introspection. The caller must be a client allowed to introspect; every way a token can
 * be unusable (garbage, forged, foreign realm, expired, not yet valid, revoked, client gone or
 * disabled) collapses to {active: false} with no other member.
 */
import type { IntrospectionResponse } from '../../shared/oauth.ts';
import type { RealmConfig } from '../config/index.ts';
import type { ClientRegistry, PreparedClient } from '../clients/registry.ts';
import { UnauthorizedClientError } from '../errors/index.ts';
import type { KeyManager } from '../keys/key-manager.ts';
import type { Clock, RevocationStore } from '../ports/index.ts';
import { verifyOwnAccessToken } from '../tokens/access-token.ts';

export interface IntrospectDeps {
  keys: KeyManager;
  clients: ClientRegistry;
  revocations: RevocationStore;
  clock: Clock;
}

const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

export async function introspect(realm: RealmConfig, caller: PreparedClient, token: string, deps: IntrospectDeps): Promise<IntrospectionResponse> {
  if (!caller.record.mayIntrospect) throw new UnauthorizedClientError('the client is not allowed to use the introspection endpoint').because('introspection_not_allowed');
  const claims = await verifyOwnAccessToken(deps.keys, realm.name, realm.issuer, token);
  if (!claims) return { ...INACTIVE };
  const now = deps.clock.now() / 1000;
  const skew = realm.assertions.clockSkewSeconds;
  if (claims.exp <= now || claims.iat > now + skew) return { ...INACTIVE };
  if (typeof claims.nbf === 'number' && claims.nbf > now + skew) return { ...INACTIVE };
  if (await deps.revocations.isRevoked(realm.name, claims.jti)) return { ...INACTIVE };
  const owner = await deps.clients.get(realm.name, claims.client_id);
  if (!owner || owner.record.disabled) return { ...INACTIVE };
  // Per-client not-before: revoked wholesale (revoke-tokens, delete, rotation or disable when asked),
  // or issued to a deleted client whose id was registered again.
  if (owner.record.notBefore !== undefined && claims.iat * 1000 < owner.record.notBefore) return { ...INACTIVE };
  return {
    active: true,
    scope: claims.scope,
    client_id: claims.client_id,
    token_type: 'Bearer',
    exp: claims.exp,
    iat: claims.iat,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    jti: claims.jti,
  };
}
