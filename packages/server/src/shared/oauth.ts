/**
 * Wire vocabulary shared by the server, the client SDK and the resource-server middleware.
 * Imports nothing: no node:* modules, no dependencies.
 */

/** Error codes of RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1 and RFC 8707 §2. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'server_error'
  | 'temporarily_unavailable';

export const CLIENT_ASSERTION_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt';

export const TOKEN_ENDPOINT_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
];

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

export interface OAuthErrorResponse {
  error: OAuthErrorCode | string;
  error_description?: string;
  error_uri?: string;
}

export interface IntrospectionResponse {
  active: boolean;
  scope?: string;
  client_id?: string;
  token_type?: string;
  exp?: number;
  iat?: number;
  nbf?: number;
  sub?: string;
  aud?: string | string[];
  iss?: string;
  jti?: string;
}

/** RFC 8414 §2 metadata members this server may publish. */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
  grant_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  token_endpoint_auth_signing_alg_values_supported?: string[];
  introspection_endpoint_auth_methods_supported?: string[];
  introspection_endpoint_auth_signing_alg_values_supported?: string[];
  revocation_endpoint_auth_methods_supported?: string[];
  revocation_endpoint_auth_signing_alg_values_supported?: string[];
  scopes_supported?: string[];
  [member: string]: unknown;
}

/** Claims of an RFC 9068 JWT access token as issued by Tessera. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  client_id: string;
  aud: string | string[];
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  [claim: string]: unknown;
}

/** A scope-token per RFC 6749 §3.3: 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/**
 * Splits a scope parameter into its tokens. Returns undefined when the string is not a valid
 * space-delimited list (double spaces, leading/trailing space or forbidden characters).
 * Duplicates are removed; order of first appearance is kept.
 */
export function parseScope(value: string): string[] | undefined {
  if (value === '') return [];
  const parts = value.split(' ');
  const out: string[] = [];
  for (const part of parts) {
    if (!isScopeToken(part)) return undefined;
    if (!out.includes(part)) out.push(part);
  }
  return out;
}

/** Characters allowed in error and error_description values (RFC 6749 §5.2). */
export function isSafeErrorText(value: string): boolean {
  return /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/.test(value);
}

/**
 * Where an issuer's metadata may be found, in the order to try: the RFC 8414 §3.1 path-inserted
 * location (`https://as.example/t/a` → `https://as.example/.well-known/oauth-authorization-server/t/a`),
 * then OpenID Connect's appended `{issuer}/.well-known/openid-configuration`.
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`];
}
