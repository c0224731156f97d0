/**
 * RFC 8414 metadata, computed from the realm's configuration and the registries of grants and
 * client-authentication methods — never a hand-kept list. Empty lists are omitted (§3.2); so is
 * response_types_supported, since this server has no authorization endpoint (docs/architecture.md).
 * A realm profile narrows the methods and algs; scopes_supported is the realm's scope catalogue
 * united with the scopes its clients are registered for (RFC 8414 §2 RECOMMENDED).
 */
import type { AuthorizationServerMetadata } from '../../shared/oauth.ts';
import type { RealmConfig } from '../config/index.ts';
import { CLIENT_AUTH_METHODS, ASYMMETRIC_ALGS, HMAC_ALGS } from '../client-auth/index.ts';
import { sameAlg } from '../client-auth/assertion.ts';
import { GRANTS } from '../grants/index.ts';

export function buildMetadata(realm: RealmConfig, clientScopes: Iterable<string> = []): AuthorizationServerMetadata {
  const methods = CLIENT_AUTH_METHODS.map((m) => m.name).filter((m) => !realm.authMethods || realm.authMethods.includes(m));
  const allowed = realm.assertions.signingAlgs;
  const algs = [
    ...(methods.includes('private_key_jwt') ? ASYMMETRIC_ALGS : []),
    ...(methods.includes('client_secret_jwt') ? HMAC_ALGS : []),
  ].filter((a) => !allowed || allowed.some((x) => sameAlg(x, a)));
  const scopes = [...new Set([...realm.scopes.map((s) => s.name), ...clientScopes])].sort();
  const doc: AuthorizationServerMetadata = {
    issuer: realm.issuer,
    token_endpoint: realm.tokenEndpoint,
    jwks_uri: realm.jwksUri,
    introspection_endpoint: realm.introspectionEndpoint,
    revocation_endpoint: realm.revocationEndpoint,
    grant_types_supported: GRANTS.map((g) => g.grantType),
    token_endpoint_auth_methods_supported: methods,
    token_endpoint_auth_signing_alg_values_supported: algs,
    introspection_endpoint_auth_methods_supported: methods,
    introspection_endpoint_auth_signing_alg_values_supported: algs,
    revocation_endpoint_auth_methods_supported: methods,
    revocation_endpoint_auth_signing_alg_values_supported: algs,
  };
  if (scopes.length) doc.scopes_supported = scopes;
  if (algs.length === 0) {
    for (const k of ['token', 'introspection', 'revocation']) delete doc[`${k}_endpoint_auth_signing_alg_values_supported`];
  }
  return doc;
}
