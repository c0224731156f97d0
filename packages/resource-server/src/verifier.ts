/**
 * The framework-free verifier: `createVerifier` once per API, `verify` per request.
 */
import { missingScopes, TokenRejected, type VerifiedAccessToken } from './claims.ts';
import { BearerError, VerifierUnavailableError } from './errors.ts';
import { extractBearerToken } from './extract.ts';
import { createIntrospectionCheck } from './introspection.ts';
import { createJwtCheck } from './jwt.ts';
import { resolveOptions, scopeList, type VerifierOptions } from './options.ts';

export interface VerifyCallOptions {
  /** Scopes this call requires on top of the verifier's `scopes`. */
  scopes?: readonly string[];
}

/** What a request carried, for `authenticate`. */
export interface BearerRequest {
  /** The Authorization header value(s). */
  authorization: string | readonly string[] | undefined;
  /** True when the request also carries a token elsewhere (query or form body). */
  tokenElsewhere?: boolean;
}

export interface Verifier {
  /** The realm used in challenges. */
  readonly realm: string;
  /**
   * Verifies a bare token string. Throws `BearerError` (401 invalid_token, 403 insufficient_scope)
   * or `VerifierUnavailableError` (503).
   */
  verify(token: string, options?: VerifyCallOptions): Promise<VerifiedAccessToken>;
  /**
   * Extracts the token from the Authorization header, then verifies it. Additionally throws 401
   * without error code when no token is present and 400 invalid_request when the header is
   * malformed or a token also came another way.
   */
  authenticate(request: BearerRequest, options?: VerifyCallOptions): Promise<VerifiedAccessToken>;
}

/** Builds a verifier; validates options eagerly (TypeError). Reuse it: it holds the key and introspection caches. */
export function createVerifier(options: VerifierOptions): Verifier {
  const resolved = resolveOptions(options);
  const check = resolved.mode === 'jwt' ? createJwtCheck(resolved) : createIntrospectionCheck(resolved);
  const { realm, logger } = resolved;

  function reject(error: BearerError | VerifierUnavailableError): never {
    const reason = error instanceof BearerError ? error.reason : error.message;
    logger?.warn(`bearer token rejected (${error instanceof BearerError ? error.status : 503}): ${reason}`);
    throw error;
  }

  async function verify(token: string, call: VerifyCallOptions = {}): Promise<VerifiedAccessToken> {
    const required = [...new Set([...resolved.scopes, ...scopeList('scopes', call.scopes)])];
    if (typeof token !== 'string' || token === '') reject(new BearerError(realm, 'invalid_token', 'empty token'));
    let verified: VerifiedAccessToken;
    try {
      verified = await check(token);
    } catch (error) {
      if (error instanceof TokenRejected) reject(new BearerError(realm, 'invalid_token', error.message));
      if (error instanceof VerifierUnavailableError) reject(error);
      throw error;
    }
    const missing = missingScopes(verified.scopes, required);
    if (missing.length > 0) {
      reject(new BearerError(realm, 'insufficient_scope', `missing scope ${missing.join(' ')} (client ${verified.clientId})`, required));
    }
    return verified;
  }

  async function authenticate(request: BearerRequest, call: VerifyCallOptions = {}): Promise<VerifiedAccessToken> {
    const extraction = extractBearerToken(request.authorization);
    if (extraction.kind === 'malformed') reject(new BearerError(realm, 'invalid_request', extraction.reason));
    if (extraction.kind === 'missing') {
      if (request.tokenElsewhere) reject(new BearerError(realm, 'invalid_request', 'token only outside the Authorization header'));
      throw new BearerError(realm, undefined, 'no bearer token');
    }
    if (request.tokenElsewhere) reject(new BearerError(realm, 'invalid_request', 'token sent by more than one method'));
    return verify(extraction.token, call);
  }

  return { realm, verify, authenticate };
}

const verifiers = new WeakMap<VerifierOptions, Verifier>();

/**
 * One-shot verification. The verifier (and its caches) is remembered per options object, so pass
 * the same object each time, or use `createVerifier`.
 */
export async function verifyAccessToken(token: string, options: VerifierOptions, call?: VerifyCallOptions): Promise<VerifiedAccessToken> {
  let verifier = verifiers.get(options);
  if (!verifier) {
    verifier = createVerifier(options);
    verifiers.set(options, verifier);
  }
  return verifier.verify(token, call);
}
