/**
 * Every private reason code an OAuthError may carry (`err.because(reason, facts)`), with a one-line
 * hint for the client developer: what to check; and the few codes only the failure recorder and the
 * admin API's jwks_uri check use (last section). The codes are stable (recorded failures and the
 * admin API show them); docs/errors.md lists the same table, and reasons.test.ts checks that every
 * code thrown anywhere in the core appears here and in the docs.
 */
export const REASONS = {
  // request shape and method count
  param_repeated: 'A form parameter was sent twice: send each parameter once (only resource may repeat).',
  multiple_methods: 'Use exactly one client authentication method: a Basic header, client_secret in the body, or a client_assertion.',
  no_credentials: 'Send client credentials: a Basic header, client_id + client_secret in the body, or a client_assertion.',
  secret_without_client_id: 'client_secret in the body needs client_id next to it.',
  assertion_type_missing: 'client_assertion needs client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer.',
  assertion_missing: 'client_assertion_type was sent without client_assertion.',
  assertion_type_unsupported: 'client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.',
  basic_malformed: 'The Basic header must be base64 of form-urlencoded client_id:secret, both non-empty.',
  auth_scheme_unsupported: 'Only the Basic scheme is accepted in the Authorization header of the token endpoint.',
  method_not_allowed: 'This realm does not accept that authentication method (see token_endpoint_auth_methods_supported).',
  // assertion shape (checked before any key)
  assertion_malformed: 'client_assertion must be a compact JWS (three base64url parts, JSON header and payload).',
  alg_none: 'Sign the client_assertion; alg none is never accepted.',
  alg_unsupported: 'Use an alg from token_endpoint_auth_signing_alg_values_supported.',
  alg_not_allowed: 'This realm (its profile) does not accept that alg: see the realm profile table.',
  key_header_refused: 'Remove jku/x5u/jwk/x5c from the assertion header: keys come only from the client registration.',
  crit_refused: 'Remove the crit header.',
  b64_refused: 'Remove the b64 header.',
  typ_invalid: 'The assertion typ must be JWT or client-authentication+jwt (or omitted).',
  typ_required: 'This realm requires typ client-authentication+jwt in the assertion header.',
  iss_missing: 'Set iss to your client_id.',
  sub_missing: 'Set sub to your client_id.',
  iss_sub_mismatch: 'iss and sub must both be your client_id.',
  client_id_mismatch: 'The client_id parameter must equal the client the credentials name (assertion sub, Basic user).',
  // who is calling (before proof of possession: same public description for all)
  client_unknown: 'No such client_id in this realm: check the id and the realm (issuer) you call.',
  client_disabled: 'The client is disabled: ask the operator to enable it.',
  method_mismatch: 'The client is registered for another token_endpoint_auth_method: use that one.',
  alg_mismatch: 'The client pinned token_endpoint_auth_signing_alg: sign with that alg.',
  kid_not_found: 'No registered key matches the assertion kid (or x5t) and alg: check the kid and the key published at your jwks/jwks_uri.',
  key_ambiguous: 'Several registered keys fit the alg: put a kid in the assertion header.',
  jwks_uri_fetch_failed: 'Your jwks_uri could not be fetched or parsed: check that it answers with a JWK Set.',
  jwks_uri_forbidden_address: 'Your jwks_uri resolves to a loopback, private, link-local or metadata address: publish it on a public https host (or ask the operator to add it to jwks_fetch.allow).',
  jwks_uri_not_https: 'Your jwks_uri must use https.',
  jwks_uri_invalid: 'Your jwks_uri is not a valid absolute URL.',
  jwks_uri_timeout: 'Your jwks_uri did not answer within jwks_fetch.timeout_ms: make it answer faster.',
  jwks_uri_too_large: 'Your jwks_uri answer exceeds jwks_fetch.max_bytes: publish only the keys in use.',
  jwks_uri_status: 'Your jwks_uri answered with a status other than 200 (redirects are not followed).',
  jwks_uri_unreachable: 'Your jwks_uri could not be reached (DNS, connection or TLS failure).',
  jwks_uri_not_json: 'Your jwks_uri answer is not JSON.',
  jwks_uri_not_jwk_set: 'Your jwks_uri answer is not a JWK Set ({"keys": [...]}).',
  jwks_private_key: 'A key of your JWK Set carries private members (d, p, q...): publish public keys only, and replace the exposed key.',
  duplicate_kid: 'Several keys of your key set share the kid the assertion names: give each key its own kid.',
  throttled: 'Too many failed authentications for this client or from this address: fix the credentials and wait for Retry-After.',
  kdf_busy: 'The server is verifying too many secrets at once: retry after Retry-After.',
  hmac_key_too_short: 'The client secret is shorter than the HMAC alg needs: rotate to a longer secret or use HS256.',
  signature_invalid: 'The assertion signature does not verify: sign with the private key (or secret) you registered.',
  secret_mismatch: 'Wrong client secret: check it, and that it is form-urlencoded inside the Basic header.',
  basic_assertion_client_mismatch: 'With Basic + assertion, the Basic user and the assertion sub must be the same client.',
  basic_with_assertion_not_allowed: 'Send only one method, or register the client with allow_basic_with_assertion.',
  // assertion claims (after the signature verified)
  exp_missing: 'Set exp (a number, seconds since the epoch) in the assertion.',
  claim_not_number: 'iat, nbf and exp must be numbers (seconds since the epoch).',
  assertion_expired: 'The assertion expired: make a new one per request and check your clock.',
  iat_in_future: 'The assertion iat is in the future: check your clock.',
  nbf_in_future: 'The assertion is not valid yet (nbf): check your clock.',
  assertion_too_old: 'The assertion was issued more than assertions.max_age ago: make a fresh one per request.',
  exp_too_far: 'Without iat, exp must be at most assertions.max_age away: add iat or shorten exp.',
  lifetime_exceeded: 'exp - iat exceeds the realm or client max_lifetime: shorten the assertion lifetime.',
  aud_not_string: 'This realm wants aud as a single string.',
  aud_mismatch: 'Set aud to the value the realm expects (issuer or token endpoint URL, see the profile table).',
  jti_missing: 'Set a unique jti in the assertion.',
  jti_invalid: 'jti must be 1-512 characters of well-formed Unicode without NUL.',
  jti_replayed: 'Each assertion may be used once: make a new one (new jti) per request.',
  assertion_replayed: 'This jti-less assertion was already used: make a new one per request.',
  prn_mismatch: 'Oracle claim prn must equal sub.',
  id_type_invalid: 'Oracle claims oracle.oauth.sub.id_type / prn.id_type must be ClientID.',
  // grant and scope
  grant_type_missing: 'Send grant_type=client_credentials.',
  grant_type_unsupported: 'Only grant_type=client_credentials is supported.',
  grant_not_allowed: 'The client is not registered for the client_credentials grant.',
  scope_not_allowed: 'Ask only for scopes the client is registered for.',
  scope_malformed: 'scope must be space-separated scope tokens.',
  scope_empty: 'Omit scope or name at least one.',
  no_default_scope: 'Name a scope, or ask the operator to give the client default scopes.',
  resource_not_allowed: 'Ask only for resource indicators in the client allowed_resources.',
  // introspection and revocation
  token_missing: 'Send the token parameter.',
  introspection_not_allowed: 'Only clients registered with may_introspect may call the introspection endpoint.',
  token_not_owned: 'A client may revoke only its own tokens.',
  // recorded failures and admin checks only (never carried by an OAuthError)
  unspecified: 'The refusal carried no reason code (a bug worth reporting): see error_description and the server log under the request id.',
  failures_dropped: 'More distinct failures arrived in one flush interval than the recorder keeps (a flood?): look at the source addresses.',
  jwks_no_usable_key: 'Your JWK Set holds no public signing key Tessera can use: publish an RSA, EC or OKP public key (use sig).',
} as const satisfies Record<string, string>;

export type ReasonCode = keyof typeof REASONS;

export function isReasonCode(code: string): code is ReasonCode {
  return Object.hasOwn(REASONS, code);
}
