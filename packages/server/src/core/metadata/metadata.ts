/**
 * RFC 8414 metadata, computed from the realm's configuration and the registries of grants and
 * client-authentication methods — never a hand-kept list. Empty lists are omitted (§3.2); so is
 * response_types_supported, since this server has no authorization endpoint (docs/architecture.md).
 */
import type { AuthorizationServerMetadata } from '../../shared/oauth.ts';
import type { RealmConfig } from '../config/index.ts';
import { CLIENT_AUTH_METHODS, ASYMMETRIC_ALGS, HMAC_ALGS } from '../client-auth/index.ts';
import { GRANTS } from '../grants/index.ts';

export function buildMetadata(realm: RealmConfig): AuthorizationServerMetadata {
  const methods = CLIENT_AUTH_METHODS.map((m) => m.name);
  const algs = [
    ...(methods.includes('private_key_jwt') ? ASYMMETRIC_ALGS : []),
    ...(methods.includes('client_secret_jwt') ? HMAC_ALGS : []),
  ];
  return {
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
}
