/**
 * The client credentials grant (RFC 6749 §4.4): the client may use the grant, the scope is within
 * its allowed set (or its defaults), the audience is one of its allowed resources (RFC 8707) or the
 * default, then an RFC 9068 token is minted.
 */
import { InvalidScopeError, InvalidTargetError, UnauthorizedClientError, quoteSafe } from '../errors/index.ts';
import { parseScope, type TokenResponse } from '../../shared/oauth.ts';
import type { RealmConfig } from '../config/index.ts';
import type { PreparedClient } from '../clients/registry.ts';
import { mintAccessToken } from '../tokens/access-token.ts';
import type { KeyManager } from '../keys/key-manager.ts';
import type { TokenReuseCache } from '../tokens/reuse.ts';
import type { Clock, RevocationStore } from '../ports/index.ts';

export const grantType = 'client_credentials' as const;

/** Parameters this grant reads besides client authentication. */
export const parameters = ['scope', 'resource'] as const;

export interface GrantInput {
  realm: RealmConfig;
  client: PreparedClient;
  scope: string | undefined;
  resources: string[] | undefined;
}

export interface GrantDeps {
  keys: KeyManager;
  clock: Clock;
  reuse: TokenReuseCache;
  revocations: RevocationStore;
}

export function grantedScopes(client: PreparedClient, requested: string | undefined): string[] {
  const allowed = client.record.scopes;
  if (requested === undefined) {
    const defaults = client.record.defaultScopes ?? allowed;
    if (defaults.length === 0) throw new InvalidScopeError('no scope requested and the client has no default scope').because('no_default_scope');
    return defaults;
  }
  const asked = parseScope(requested);
  if (!asked) throw new InvalidScopeError('scope is not a valid space-delimited list of scope tokens').because('scope_malformed');
  if (asked.length === 0) throw new InvalidScopeError('scope is empty').because('scope_empty');
  for (const s of asked) {
    if (!allowed.includes(s)) throw new InvalidScopeError(`scope ${s} is not allowed for this client`).because('scope_not_allowed', { requested: asked, allowed });
  }
  return asked;
}

export function audienceFor(realm: RealmConfig, client: PreparedClient, resources: string[] | undefined): string | string[] {
  if (resources && resources.length) {
    const allowed = client.record.allowedResources ?? [];
    for (const r of resources) {
      if (!allowed.includes(r)) throw new InvalidTargetError(`resource ${quoteSafe(r, 200)} is not allowed for this client`).because('resource_not_allowed', { requested: r.slice(0, 200), allowed });
    }
    const unique = [...new Set(resources)];
    return unique.length === 1 ? unique[0]! : unique;
  }
  return client.record.defaultResource ?? realm.tokens.defaultAudience ?? realm.issuer;
}

export async function handleClientCredentials(input: GrantInput, deps: GrantDeps): Promise<TokenResponse> {
  const { realm, client } = input;
  const record = client.record;
  if (!record.grantTypes.includes(grantType)) throw new UnauthorizedClientError('the client is not allowed to use the client_credentials grant').because('grant_not_allowed', { registered: record.grantTypes });
  const scopes = grantedScopes(client, input.scope);
  const audience = audienceFor(realm, client, input.resources);
  const scope = scopes.join(' ');
  const clockNow = Math.floor(deps.clock.now() / 1000);
  // Never mint a token that predates the client's not-before (set in this very second by a
  // revocation or a re-creation): its iat moves to the next second, so introspection keeps it.
  const now = record.notBefore !== undefined && clockNow * 1000 < record.notBefore ? Math.ceil(record.notBefore / 1000) : clockNow;

  const reuse = record.tokenReuse ?? realm.tokens.reuse.enabled;
  if (reuse) {
    const kept = await deps.reuse.take(realm.name, record.clientId, scope, audience, clockNow, deps.revocations);
    if (kept && !(record.notBefore !== undefined && kept.iat * 1000 < record.notBefore)) return { access_token: kept.token, token_type: 'Bearer', expires_in: kept.exp - now, scope };
  }
  const ttl = record.accessTokenTtl ?? realm.tokens.ttlSeconds;
  const minted = await mintAccessToken(deps.keys, realm.name, {
    issuer: realm.issuer,
    clientId: record.clientId,
    audience,
    scope,
    ttlSeconds: ttl,
    now,
    extraClaims: record.extraClaims,
  });
  if (reuse) deps.reuse.keep(realm.name, record.clientId, scope, audience, minted.token, minted.claims, realm.tokens.reuse.minRemainingFraction);
  return { access_token: minted.token, token_type: 'Bearer', expires_in: ttl, scope };
}
