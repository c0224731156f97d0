/**
 * Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3):
 * exactly one method per request, the method the client registered, and a client_id parameter
 * that agrees with the credentials. The one exception is the per-client compatibility setting
 * `allow_basic_with_assertion` (Oracle's documents send both), where both must verify.
 */
import { InvalidClientError, InvalidRequestError } from '../errors/index.ts';
import type { PreparedClient } from '../clients/registry.ts';
import { clientSecretBasic } from './client-secret-basic.ts';
import { clientSecretPost } from './client-secret-post.ts';
import { clientSecretJwt } from './client-secret-jwt.ts';
import { privateKeyJwt } from './private-key-jwt.ts';
import { AUTH_FAILED } from './client-secret.ts';
import { extractAssertion } from './assertion.ts';
import { AuthThrottle } from './throttle.ts';
import type { AuthDeps, AuthenticatedClient, AuthRequest, ClientAuthMethod } from './types.ts';

export type { AuthDeps, AuthenticatedClient, AuthRequest, Params } from './types.ts';

/** Every method, in the order metadata lists them. */
export const CLIENT_AUTH_METHODS = [clientSecretBasic, clientSecretPost, clientSecretJwt, privateKeyJwt] as const;

/** JWS algs accepted for client assertions, per method (for metadata). */
export { ASYMMETRIC_ALGS, HMAC_ALGS } from '../crypto/jws.ts';

type Presented = { method: ClientAuthMethod<unknown>; credentials: unknown };

export async function authenticateClient(req: AuthRequest, deps: AuthDeps): Promise<AuthenticatedClient> {
  const presented: Presented[] = [];
  for (const method of CLIENT_AUTH_METHODS as readonly ClientAuthMethod<unknown>[]) {
    const credentials = method.extract(req);
    if (credentials !== undefined) presented.push({ method, credentials });
  }
  // An assertion with an alg neither JWT method takes was already refused by extract().

  if (presented.length === 0) throw new InvalidClientError('client authentication required', 'no credentials presented');
  const throttle = deps.throttle;
  if (!throttle) return authenticatePresented(presented, req, deps);
  const claimed = (presented[0]!.credentials as { clientId: string }).clientId;
  const key = AuthThrottle.key(req.realm.name, claimed, req.source);
  throttle.check(key);
  try {
    return await authenticatePresented(presented, req, deps);
  } catch (err) {
    if (err instanceof InvalidClientError) await throttle.failed(key);
    throw err;
  }
}

async function authenticatePresented(presented: Presented[], req: AuthRequest, deps: AuthDeps): Promise<AuthenticatedClient> {
  const basic = presented.some((p) => p.method.name === 'client_secret_basic');
  if (presented.length > 1) {
    const jwt = presented.find((p) => p.method.name === 'private_key_jwt' || p.method.name === 'client_secret_jwt');
    if (presented.length === 2 && basic && jwt) return compatBasicWithAssertion(presented, req, deps);
    throw new InvalidRequestError('more than one client authentication method used (RFC 6749 section 2.3)');
  }
  const [{ method, credentials }] = presented as [Presented];
  const client = await method.verify(credentials, req, deps);
  checkClientIdParam(client, req);
  return { client, method: method.name };
}

function checkClientIdParam(client: PreparedClient, req: AuthRequest): void {
  const formId = req.params.get('client_id');
  if (formId !== undefined && formId !== client.record.clientId) throw new InvalidClientError('client_id does not match the client credentials');
}

/**
 * Basic header + client assertion in one request: only for a client that opted in, and only
 * when both verify and name the same client.
 */
async function compatBasicWithAssertion(presented: Presented[], req: AuthRequest, deps: AuthDeps): Promise<AuthenticatedClient> {
  const basicCreds = presented.find((p) => p.method.name === 'client_secret_basic')!.credentials as { clientId: string; secret: string };
  const jwt = presented.find((p) => p.method.name !== 'client_secret_basic')!;
  const assertion = extractAssertion(req)!;
  const candidate = await deps.clients.get(req.realm.name, basicCreds.clientId);
  if (!candidate?.record.allowBasicWithAssertion) {
    throw new InvalidRequestError('more than one client authentication method used (RFC 6749 section 2.3)');
  }
  if (assertion.clientId !== basicCreds.clientId) {
    throw new InvalidClientError(AUTH_FAILED, 'Basic client_id differs from assertion sub');
  }
  // The Basic secret is checked against the client's stored hash whatever its assertion method.
  const ok = await deps.secrets.verify(candidate.record.disabled ? undefined : candidate.record.secretHash, basicCreds.secret);
  if (!ok) {
    throw new InvalidClientError(AUTH_FAILED, 'compat mode: wrong Basic secret');
  }
  const client = await jwt.method.verify(jwt.credentials, req, deps);
  checkClientIdParam(client, req);
  return { client, method: jwt.method.name };
}
