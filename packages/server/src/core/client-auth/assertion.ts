/**
 * JWT client assertions (RFC 7523 §3, RFC 7521 §4.2), checked in a fixed order that ends with the
 * replay check, so that a jti is only spent by an assertion that passed everything else:
 *   shape → header (alg, key-carrying headers, crit, typ) → iss = sub → client_id agreement →
 *   client and key → signature → exp / lifetime / nbf / iat → aud → jti single use.
 * Until the signature verified, every failure that depends on the client says the same thing, so
 * the answer never tells whether a client id exists.
 */
import { InvalidClientError, InvalidRequestError } from '../errors/index.ts';
import type { PreparedClient } from '../clients/registry.ts';
import { decodeCompactJws, isAsymmetricAlg, isHmacAlg, type DecodedJws, type JwsAlg } from '../crypto/jws.ts';
import { CLIENT_ASSERTION_TYPE_JWT_BEARER } from '../../shared/oauth.ts';
import type { AuthDeps, AuthRequest } from './types.ts';

export const NO_KEY = 'no key registered for this client matches the client_assertion (kid, alg)';

export interface AssertionCredentials {
  assertion: string;
  jws: DecodedJws;
  alg: JwsAlg;
  clientId: string;
}

function fail(description: string, detail?: string): never {
  throw new InvalidClientError(description, detail);
}

const TYP_ALLOWED = new Set(['jwt', 'client-authentication+jwt']);
const KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/**
 * Reads client_assertion_type / client_assertion and checks everything that needs no key.
 * Undefined when the request carries no assertion.
 */
export function extractAssertion(req: AuthRequest): AssertionCredentials | undefined {
  if (memo.has(req)) return memo.get(req);
  const creds = readAssertion(req);
  memo.set(req, creds);
  return creds;
}

/** Both JWT methods look at the same assertion: decode it once per request. */
const memo = new WeakMap<AuthRequest, AssertionCredentials | undefined>();

function readAssertion(req: AuthRequest): AssertionCredentials | undefined {
  const type = req.params.get('client_assertion_type');
  const assertion = req.params.get('client_assertion');
  if (type === undefined && assertion === undefined) return undefined;
  if (type === undefined) throw new InvalidRequestError('client_assertion given without client_assertion_type');
  if (assertion === undefined) throw new InvalidRequestError('client_assertion_type given without client_assertion');
  if (type !== CLIENT_ASSERTION_TYPE_JWT_BEARER) fail(`unsupported client_assertion_type (expected ${CLIENT_ASSERTION_TYPE_JWT_BEARER})`);

  const jws = decodeCompactJws(assertion);
  if (typeof jws === 'string') fail(`client_assertion is malformed: ${jws}`);
  const { header, payload } = jws;
  const alg = header.alg;
  if (alg === 'none' || (typeof alg === 'string' && alg.toLowerCase() === 'none')) fail('client_assertion alg none is not accepted');
  if (!isAsymmetricAlg(alg) && !isHmacAlg(alg)) fail('client_assertion alg is not supported');
  for (const h of KEY_HEADERS) {
    if (h in header) fail(`client_assertion header ${h} is not accepted: keys come only from the client registration`);
  }
  if (header.crit !== undefined) fail('client_assertion crit header is not supported');
  if (header.b64 !== undefined) fail('client_assertion b64 header is not supported');
  if (header.typ !== undefined) {
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : '';
    if (!TYP_ALLOWED.has(typ)) fail('client_assertion typ must be JWT or client-authentication+jwt');
  }
  if (req.realm.assertions.requireTyp) {
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : '';
    if (typ !== 'client-authentication+jwt') fail('client_assertion typ must be client-authentication+jwt');
  }
  if (typeof payload.iss !== 'string' || payload.iss === '') fail('client_assertion iss is required');
  if (typeof payload.sub !== 'string' || payload.sub === '') fail('client_assertion sub is required');
  if (payload.iss !== payload.sub) fail('client_assertion iss must equal sub (the client_id)');
  const formClientId = req.params.get('client_id');
  if (formClientId !== undefined && formClientId !== payload.sub) fail('client_id does not match the client_assertion sub');
  return { assertion, jws, alg, clientId: payload.sub };
}

/** Claims checks after the signature verified, then the single-use jti. */
export async function checkAssertionClaims(creds: AssertionCredentials, client: PreparedClient, req: AuthRequest, deps: AuthDeps): Promise<void> {
  const p = creds.jws.payload;
  const policy = req.realm.assertions;
  const now = deps.clock.now() / 1000;
  const skew = policy.clockSkewSeconds;
  const maxLifetime = client.record.maxAssertionLifetime ?? policy.maxLifetimeSeconds;

  if (typeof p.exp !== 'number' || !Number.isFinite(p.exp)) fail('client_assertion exp is required');
  if (p.iat !== undefined && (typeof p.iat !== 'number' || !Number.isFinite(p.iat))) fail('client_assertion iat is not a number');
  if (p.nbf !== undefined && (typeof p.nbf !== 'number' || !Number.isFinite(p.nbf))) fail('client_assertion nbf is not a number');
  if (now > p.exp + skew) fail('client_assertion has expired');
  if (typeof p.iat === 'number' && p.iat > now + skew) fail('client_assertion iat is in the future');
  if (typeof p.nbf === 'number' && p.nbf > now + skew) fail('client_assertion is not yet valid (nbf)');
  const from = typeof p.iat === 'number' ? p.iat : now;
  if (p.exp - from > maxLifetime) fail(`client_assertion lifetime exceeds ${maxLifetime} seconds`);

  const accepted = policy.audience === 'issuer' ? [req.realm.issuer] : policy.audience === 'token_endpoint' ? [req.realm.tokenEndpoint] : [req.realm.issuer, req.realm.tokenEndpoint];
  const audText = policy.audience === 'issuer' ? 'the issuer' : policy.audience === 'token_endpoint' ? 'the token endpoint URL' : 'the issuer or the token endpoint URL';
  if (Array.isArray(p.aud)) {
    if (!policy.allowArrayAudience) fail(`client_assertion aud must be a single string: ${audText}`);
    if (!p.aud.some((a) => typeof a === 'string' && accepted.includes(a))) fail(`client_assertion aud must contain ${audText}`);
  } else if (typeof p.aud !== 'string' || !accepted.includes(p.aud)) {
    fail(`client_assertion aud must be ${audText}`);
  }

  if (typeof p.jti !== 'string' || p.jti === '' || p.jti.length > 512) fail('client_assertion jti is required');
  // A jti is text: no NUL and no lone surrogate (JSON can encode both; PostgreSQL text holds neither).
  if (/[\0\p{Surrogate}]/u.test(p.jti)) fail('client_assertion jti must be well-formed Unicode without NUL');
  const keepUntil = (p.exp + skew) * 1000;
  const first = await deps.replay.consume(req.realm.name, client.record.clientId, p.jti, keepUntil);
  if (!first) fail('client_assertion jti has already been used');
}

/** The client an assertion names, if it exists, is enabled and registered for `method`. */
export async function assertionClient(creds: AssertionCredentials, method: 'client_secret_jwt' | 'private_key_jwt', req: AuthRequest, deps: AuthDeps): Promise<PreparedClient> {
  const client = await deps.clients.get(req.realm.name, creds.clientId);
  if (!client) fail(NO_KEY, 'unknown client');
  const r = client.record;
  if (r.disabled) fail(NO_KEY, 'client disabled');
  if (r.tokenEndpointAuthMethod !== method) fail(NO_KEY, `client registered for ${r.tokenEndpointAuthMethod}, assertion alg ${creds.alg}`);
  if (r.tokenEndpointAuthSigningAlg !== undefined && r.tokenEndpointAuthSigningAlg !== creds.alg) fail(NO_KEY, `alg ${creds.alg} but client pinned ${r.tokenEndpointAuthSigningAlg}`);
  return client;
}
