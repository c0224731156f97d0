/**
 * Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3):
 * exactly one method per request — counted from the request's shape before any method's own checks
 * and before any lookup — the method the client registered, and a client_id parameter that agrees
 * with the credentials. The one exception is the per-client compatibility setting
 * `allow_basic_with_assertion` (Oracle's documents send a Basic header and optionally an
 * assertion), where both must verify.
 */
import { InvalidRequestError } from '../errors/index.ts';
import { clientSecretBasic } from './client-secret-basic.ts';
import { clientSecretPost } from './client-secret-post.ts';
import { clientSecretJwt } from './client-secret-jwt.ts';
import { privateKeyJwt } from './private-key-jwt.ts';
import { authFailed, extractAssertion } from './assertion.ts';
import { AuthThrottle } from './throttle.ts';
import type { AuthDeps, AuthenticatedClient, AuthRequest, ClientAuthMethod } from './types.ts';

export type { AuthDeps, AuthenticatedClient, AuthRequest, Params } from './types.ts';

/** Every method, in the order metadata lists them. */
export const CLIENT_AUTH_METHODS = [clientSecretBasic, clientSecretPost, clientSecretJwt, privateKeyJwt] as const;

/** JWS algs accepted for client assertions, per method (for metadata). */
export { ASYMMETRIC_ALGS, HMAC_ALGS } from '../crypto/jws.ts';

type Presented = { method: ClientAuthMethod<unknown>; credentials: { clientId: string } };

const MULTIPLE = 'more than one client authentication method used (RFC 6749 section 2.3)';

/** Which kinds of credentials the request carries, by shape only. */
function carried(req: AuthRequest): { header: boolean; secret: boolean; assertion: boolean } {
  return {
    header: req.authorization !== undefined && req.authorization !== '',
    secret: req.params.has('client_secret'),
    assertion: req.params.has('client_assertion') || req.params.has('client_assertion_type'),
  };
}

function extractOne(req: AuthRequest, methods: readonly ClientAuthMethod<unknown>[]): Presented | undefined {
  for (const method of methods) {
    const credentials = method.extract(req) as Presented['credentials'] | undefined;
    if (credentials !== undefined) return { method, credentials };
  }
  return undefined;
}

export async function authenticateClient(req: AuthRequest, deps: AuthDeps): Promise<AuthenticatedClient> {
  const c = carried(req);
  const count = Number(c.header) + Number(c.secret) + Number(c.assertion);
  if (count === 0) throw authFailed('no_credentials');
  const compat = count === 2 && c.header && c.assertion;
  if (count > 1 && !compat) throw new InvalidRequestError(MULTIPLE).because('multiple_methods', { carried: Object.keys(c).filter((k) => c[k as keyof typeof c]) });

  let presented: Presented;
  let jwt: Presented | undefined;
  if (compat) {
    presented = { method: clientSecretBasic as ClientAuthMethod<unknown>, credentials: clientSecretBasic.extract(req)! };
    jwt = extractOne(req, [clientSecretJwt, privateKeyJwt] as ClientAuthMethod<unknown>[]);
  } else {
    presented = extractOne(req, CLIENT_AUTH_METHODS as readonly ClientAuthMethod<unknown>[])!;
  }
  if (!presented) throw authFailed('no_credentials');

  const allowed = req.realm.authMethods;
  const used = jwt ?? presented;
  if (allowed && !allowed.includes(used.method.name)) {
    throw authFailed('method_not_allowed', { got: used.method.name, allowed });
  }
  const formId = req.params.get('client_id');
  const claimed = presented.credentials.clientId;
  if (formId !== undefined && formId !== claimed) throw authFailed('client_id_mismatch', { client_id: formId.slice(0, 255), credentials: claimed.slice(0, 255) });

  const throttle = deps.throttle;
  if (!throttle) return authenticatePresented(presented, jwt, req, deps);
  const key = AuthThrottle.key(req.realm.name, claimed, req.source);
  throttle.check(key);
  try {
    return await authenticatePresented(presented, jwt, req, deps);
  } catch (err) {
    if (err instanceof Error && (err as { error?: string }).error === 'invalid_client') await throttle.failed(key);
    throw err;
  }
}

async function authenticatePresented(presented: Presented, jwt: Presented | undefined, req: AuthRequest, deps: AuthDeps): Promise<AuthenticatedClient> {
  if (jwt) return compatBasicWithAssertion(presented, jwt, req, deps);
  const client = await presented.method.verify(presented.credentials, req, deps);
  return { client, method: presented.method.name };
}

/**
 * Basic header + client assertion in one request: only for a client that opted in, and only
 * when both verify and name the same client.
 */
async function compatBasicWithAssertion(basic: Presented, jwt: Presented, req: AuthRequest, deps: AuthDeps): Promise<AuthenticatedClient> {
  const basicCreds = basic.credentials as { clientId: string; secret: string };
  const assertion = extractAssertion(req)!;
  const candidate = await deps.clients.get(req.realm.name, basicCreds.clientId);
  if (!candidate?.record.allowBasicWithAssertion) throw new InvalidRequestError(MULTIPLE).because('basic_with_assertion_not_allowed');
  if (assertion.clientId !== basicCreds.clientId) throw authFailed('basic_assertion_client_mismatch');
  // The Basic secret is checked against the client's stored hash whatever its assertion method.
  const ok = await deps.secrets.verify(candidate.record.disabled ? undefined : candidate.record.secretHash, basicCreds.secret);
  if (!ok) throw authFailed(candidate.record.disabled ? 'client_disabled' : 'secret_mismatch', { method: 'client_secret_basic' });
  const client = await jwt.method.verify(jwt.credentials, req, deps);
  return { client, method: jwt.method.name };
}
