/**
 * Framework-neutral pieces shared by the adapters (Express, Fastify, Koa, Hono, NestJS).
 */
import type { VerifiedAccessToken } from './claims.ts';
import { BearerError, VerifierUnavailableError } from './errors.ts';
import { scopeList, type VerifierOptions } from './options.ts';
import { createVerifier, type AuthenticateOptions, type Verifier, type VerifyCallOptions } from './verifier.ts';

/** Adapter options: verifier options (a verifier is built) or a shared verifier, plus route scopes. */
export type BearerMiddlewareOptions = (VerifierOptions | { verifier: Verifier }) & {
  /** Scopes this middleware requires, all of them (added to the verifier's own). */
  scopes?: readonly string[];
  /** Scopes of which this middleware requires at least one. */
  anyScopes?: readonly string[];
  /** Let requests without a token through (without `auth`); a bad token is still refused. */
  optional?: boolean;
};

/** Options of the route-level scope checks (`requireScopes` and its siblings). */
export interface RequireScopesOptions {
  /** Require at least one of the scopes instead of all of them. */
  any?: boolean;
}

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, string> | undefined;
}

/** Where adapters keep the verifier, so the route-level scope checks can report their refusals. */
export const VERIFIER = Symbol.for('tessera.bearer.verifier');

/** Requests the adapters have authenticated carry these properties. */
export interface BearerAuthenticated {
  auth: VerifiedAccessToken;
  [VERIFIER]?: Verifier;
}

export function toVerifier(options: BearerMiddlewareOptions): { verifier: Verifier; call: AuthenticateOptions } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options are required');
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
  const call: AuthenticateOptions = { scopes: scopeList('scopes', options.scopes), anyScopes: scopeList('anyScopes', options.anyScopes) };
  if (options.optional !== undefined && typeof options.optional !== 'boolean') throw new TypeError('optional must be a boolean');
  if (options.optional) call.optional = true;
  return { verifier, call };
}

/** The call options of a route-level scope check. */
export function scopeCall(scopes: readonly string[], options: RequireScopesOptions = {}): VerifyCallOptions {
  const list = scopeList('scopes', scopes);
  return options.any ? { anyScopes: list } : { scopes: list };
}

/**
 * The route-level scope check: the refusal for a request that is not authenticated or lacks the
 * scopes (reported through the verifier's logger and hooks), or undefined when it may pass.
 */
export function checkScopes(request: Partial<BearerAuthenticated>, call: VerifyCallOptions, adapter: string): unknown {
  const verifier = request[VERIFIER];
  if (!request.auth || !verifier) {
    const error = new BearerError(verifier?.realm ?? '', undefined, `scope check used without ${adapter} (or optional and no token)`);
    return verifier ? verifier.refuse(error) : error;
  }
  try {
    verifier.authorize(request.auth, call);
    return undefined;
  } catch (error) {
    return error;
  }
}

/** The HTTP answer for a verification failure, or undefined for errors that are not ours. */
export function errorResponse(error: unknown): ErrorResponse | undefined {
  if (error instanceof BearerError) {
    return { status: error.status, headers: { 'www-authenticate': error.wwwAuthenticate, 'cache-control': 'no-store' }, body: error.toJSON() };
  }
  if (error instanceof VerifierUnavailableError) {
    return {
      status: 503,
      headers: { 'cache-control': 'no-store', 'retry-after': String(error.retryAfterSeconds) },
      body: { error: 'temporarily_unavailable', error_description: 'The access token cannot be verified right now' },
    };
  }
  return undefined;
}

/** True when a parsed body carries `access_token` (RFC 6750 §2.2). */
export function bodyHasAccessToken(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token');
}
