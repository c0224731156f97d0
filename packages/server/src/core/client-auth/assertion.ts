/**
 * JWT client assertions (RFC 7523 §3, RFC 7521 §4.2), checked in a fixed order that ends with the
 * replay check, so that a jti is only spent by an assertion that passed everything else:
 *   shape → header (alg, realm alg list, key-carrying headers, crit, typ) → iss = sub →
 *   client and key → signature → exp / use window / lifetime cap / nbf / iat → aud → Oracle claims
 *   → single use (jti, or the SHA-256 of the whole assertion where the realm allows no jti).
 * Until the signature verified, every failure says the same thing (AUTH_FAILED) and costs the same
 * work (a dummy verification of the same alg), so the answer never tells whether a client id
 * exists; the precise reason is in `err.reason` / `err.facts` (core/errors/reasons.ts).
 */
import { createHash } from 'node:crypto';
import { InvalidClientError, InvalidRequestError } from '../errors/index.ts';
import type { ReasonCode } from '../errors/reasons.ts';
import type { PreparedClient } from '../clients/registry.ts';
import { decodeCompactJws, isAsymmetricAlg, isHmacAlg, type DecodedJws, type JwsAlg } from '../crypto/jws.ts';
import { CLIENT_ASSERTION_TYPE_JWT_BEARER } from '../../shared/oauth.ts';
import type { AuthDeps, AuthRequest } from './types.ts';

/** The one public description of every invalid_client before proof of possession. */
export const AUTH_FAILED = 'client authentication failed';

/** An invalid_client with the uniform public description and a private reason. */
export function authFailed(reason: ReasonCode, facts?: Record<string, unknown>, detail?: string): InvalidClientError {
  return new InvalidClientError(AUTH_FAILED, detail ?? reason).because(reason, facts);
}

/** An invalid_client after proof of possession: the description may be precise. */
function refused(description: string, reason: ReasonCode, facts?: Record<string, unknown>): InvalidClientError {
  return new InvalidClientError(description).because(reason, facts);
}

export interface AssertionCredentials {
  assertion: string;
  jws: DecodedJws;
  alg: JwsAlg;
  clientId: string;
}

/** A refusal decided before the signature check; the caller still does the dummy verification. */
export interface PreProofRefusal {
  reason: ReasonCode;
  facts?: Record<string, unknown>;
  /** Private detail for the log (never sent to the caller); the reason code when absent. */
  detail?: string;
}

const TYP_ALLOWED = new Set(['jwt', 'client-authentication+jwt']);
const KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/** EdDSA on an Ed25519 key and the fully-specified Ed25519 (RFC 9864) are the same algorithm. */
export function sameAlg(a: string, b: string): boolean {
  return a === b || ((a === 'EdDSA' || a === 'Ed25519') && (b === 'EdDSA' || b === 'Ed25519'));
}

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
  if (type === undefined) throw new InvalidRequestError('client_assertion given without client_assertion_type').because('assertion_type_missing');
  if (assertion === undefined) throw new InvalidRequestError('client_assertion_type given without client_assertion').because('assertion_missing');
  if (type !== CLIENT_ASSERTION_TYPE_JWT_BEARER) throw authFailed('assertion_type_unsupported', { got: type.slice(0, 100) });

  const jws = decodeCompactJws(assertion);
  if (typeof jws === 'string') throw authFailed('assertion_malformed', { problem: jws });
  const { header, payload } = jws;
  const alg = header.alg;
  if (alg === 'none' || (typeof alg === 'string' && alg.toLowerCase() === 'none')) throw authFailed('alg_none');
  if (!isAsymmetricAlg(alg) && !isHmacAlg(alg)) throw authFailed('alg_unsupported', { alg: typeof alg === 'string' ? alg.slice(0, 20) : typeof alg });
  const allowed = req.realm.assertions.signingAlgs;
  if (allowed && !allowed.some((a) => sameAlg(a, alg))) throw authFailed('alg_not_allowed', { alg, allowed });
  for (const h of KEY_HEADERS) {
    if (h in header) throw authFailed('key_header_refused', { header: h });
  }
  if (header.crit !== undefined) throw authFailed('crit_refused');
  if (header.b64 !== undefined) throw authFailed('b64_refused');
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : undefined;
  if (header.typ !== undefined && (typ === undefined || !TYP_ALLOWED.has(typ))) throw authFailed('typ_invalid', { typ: String(header.typ).slice(0, 50) });
  if (req.realm.assertions.requireTyp && typ !== 'client-authentication+jwt') throw authFailed('typ_required', { typ: typ ?? null });
  if (typeof payload.iss !== 'string' || payload.iss === '') throw authFailed('iss_missing');
  if (typeof payload.sub !== 'string' || payload.sub === '') throw authFailed('sub_missing');
  if (payload.iss !== payload.sub) throw authFailed('iss_sub_mismatch');
  return { assertion, jws, alg, clientId: payload.sub };
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Claims checks after the signature verified, then single use. Precise descriptions from here on. */
export async function checkAssertionClaims(creds: AssertionCredentials, client: PreparedClient, req: AuthRequest, deps: AuthDeps): Promise<void> {
  const p = creds.jws.payload;
  const policy = req.realm.assertions;
  const now = deps.clock.now() / 1000;
  const skew = policy.clockSkewSeconds;
  const maxAge = policy.maxAgeSeconds;
  const maxLifetime = client.record.maxAssertionLifetime ?? policy.maxLifetimeSeconds;

  if (p.exp === undefined) throw refused('client_assertion exp is required', 'exp_missing');
  if (!isNum(p.exp)) throw refused('client_assertion exp is not a number', 'claim_not_number', { claim: 'exp' });
  if (p.iat !== undefined && !isNum(p.iat)) throw refused('client_assertion iat is not a number', 'claim_not_number', { claim: 'iat' });
  if (p.nbf !== undefined && !isNum(p.nbf)) throw refused('client_assertion nbf is not a number', 'claim_not_number', { claim: 'nbf' });
  const exp = p.exp;
  const iat = p.iat as number | undefined;
  if (now > exp + skew) throw refused('client_assertion has expired', 'assertion_expired', { exp, now: Math.floor(now), skew });
  if (iat !== undefined && iat > now + skew) throw refused('client_assertion iat is in the future', 'iat_in_future', { iat, now: Math.floor(now), skew });
  if (isNum(p.nbf) && p.nbf > now + skew) throw refused('client_assertion is not yet valid (nbf)', 'nbf_in_future', { nbf: p.nbf, now: Math.floor(now), skew });
  // The use window (assertions.max_age): how long after its iat an assertion may be used, whatever its exp.
  if (iat !== undefined) {
    if (now > iat + maxAge + skew) throw refused(`client_assertion was issued more than ${maxAge} seconds ago`, 'assertion_too_old', { iat, now: Math.floor(now), max_age: maxAge, skew });
  } else if (exp - now > maxAge + skew) {
    throw refused(`client_assertion without iat must expire within ${maxAge} seconds`, 'exp_too_far', { exp, now: Math.floor(now), max_age: maxAge, skew });
  }
  if (maxLifetime !== undefined && exp - (iat ?? now) > maxLifetime) {
    throw refused(`client_assertion lifetime exceeds ${maxLifetime} seconds`, 'lifetime_exceeded', { lifetime: Math.round(exp - (iat ?? now)), max_lifetime: maxLifetime });
  }

  const accepted =
    policy.audience === 'issuer'
      ? [req.realm.issuer]
      : policy.audience === 'token_endpoint'
        ? [req.realm.tokenEndpoint, ...policy.tokenEndpointAliases]
        : [req.realm.issuer, req.realm.tokenEndpoint, ...policy.tokenEndpointAliases];
  const audText = policy.audience === 'issuer' ? 'the issuer' : policy.audience === 'token_endpoint' ? 'the token endpoint URL' : 'the issuer or the token endpoint URL';
  const got = Array.isArray(p.aud) ? p.aud.slice(0, 10) : p.aud;
  if (Array.isArray(p.aud)) {
    if (!policy.allowArrayAudience) throw refused(`client_assertion aud must be a single string: ${audText}`, 'aud_not_string', { got, expected: accepted });
    if (!p.aud.some((a) => typeof a === 'string' && accepted.includes(a))) throw refused(`client_assertion aud must contain ${audText}`, 'aud_mismatch', { got, expected: accepted });
  } else if (typeof p.aud !== 'string' || !accepted.includes(p.aud)) {
    throw refused(`client_assertion aud must be ${audText}`, 'aud_mismatch', { got: got ?? null, expected: accepted });
  }

  if (policy.oracleClaims) {
    if (p.prn !== undefined && p.prn !== p.sub) throw refused('client_assertion prn must equal sub', 'prn_mismatch', { prn: String(p.prn).slice(0, 100), sub: p.sub });
    for (const c of ['oracle.oauth.sub.id_type', 'oracle.oauth.prn.id_type']) {
      if (p[c] !== undefined && p[c] !== 'ClientID') throw refused(`client_assertion ${c} must be ClientID`, 'id_type_invalid', { claim: c });
    }
  }

  let replayKey: string;
  if (p.jti === undefined) {
    if (policy.requireJti) throw refused('client_assertion jti is required', 'jti_missing');
    // No jti (allowed by the realm): the assertion itself is single-use, keyed by its SHA-256.
    replayKey = `sha256:${createHash('sha256').update(creds.assertion, 'utf8').digest('base64url')}`;
  } else {
    if (typeof p.jti !== 'string' || p.jti === '' || p.jti.length > 512) throw refused('client_assertion jti must be a string of 1 to 512 characters', 'jti_invalid');
    // A jti is text: no NUL and no lone surrogate (JSON can encode both; PostgreSQL text holds neither).
    if (/[\0\p{Surrogate}]/u.test(p.jti)) throw refused('client_assertion jti must be well-formed Unicode without NUL', 'jti_invalid');
    replayKey = p.jti;
  }
  // Kept until the assertion can no longer be used: min(exp, iat + max_age) plus skew.
  const keepUntil = (Math.min(exp, (iat ?? now) + maxAge) + skew) * 1000;
  const first = await deps.replay.consume(req.realm.name, client.record.clientId, replayKey, keepUntil);
  if (!first) {
    if (p.jti === undefined) throw refused('client_assertion has already been used', 'assertion_replayed');
    throw refused('client_assertion jti has already been used', 'jti_replayed', { jti: replayKey.slice(0, 100) });
  }
}

/**
 * The client an assertion names and, when it cannot use this assertion (unknown, disabled,
 * registered for another method, pinned to another alg), the reason — decided without throwing,
 * so the caller runs the same verification work either way.
 */
export async function assertionClient(
  creds: AssertionCredentials,
  method: 'client_secret_jwt' | 'private_key_jwt',
  req: AuthRequest,
  deps: AuthDeps,
): Promise<{ client: PreparedClient; refusal?: undefined } | { client?: PreparedClient | undefined; refusal: PreProofRefusal }> {
  const client = await deps.clients.get(req.realm.name, creds.clientId);
  if (!client) return { refusal: { reason: 'client_unknown', facts: { client_id: creds.clientId.slice(0, 255) } } };
  const r = client.record;
  if (r.disabled) return { client, refusal: { reason: 'client_disabled' } };
  if (r.tokenEndpointAuthMethod !== method) return { client, refusal: { reason: 'method_mismatch', facts: { got: method, registered: r.tokenEndpointAuthMethod } } };
  if (r.tokenEndpointAuthSigningAlg !== undefined && !sameAlg(r.tokenEndpointAuthSigningAlg, creds.alg)) {
    return { client, refusal: { reason: 'alg_mismatch', facts: { got: creds.alg, registered: r.tokenEndpointAuthSigningAlg } } };
  }
  return { client };
}
