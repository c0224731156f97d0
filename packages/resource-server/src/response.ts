/**
 * Framework-neutral pieces shared by the Express and Fastify adapters.
 */
import type { VerifiedAccessToken } from './claims.ts';
import { BearerError, VerifierUnavailableError } from './errors.ts';
import { createVerifier, type Verifier } from './verifier.ts';
import type { VerifierOptions } from './options.ts';

/** Adapter options: verifier options (a verifier is built) or a shared verifier, plus route scopes. */
export type BearerMiddlewareOptions = (VerifierOptions | { verifier: Verifier }) & {
  /** Scopes this middleware requires (added to the verifier's own). */
  scopes?: readonly string[];
};

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, string> | undefined;
}

/** Where adapters keep the realm, so `requireScopes` can build challenges later. */
export const REALM = Symbol('tessera.bearer.realm');

/** Requests the adapters have authenticated carry these properties. */
export interface BearerAuthenticated {
  auth: VerifiedAccessToken;
  [REALM]?: string;
}

export function toVerifier(options: BearerMiddlewareOptions): { verifier: Verifier; scopes: readonly string[] | undefined } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options are required');
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
  return { verifier, scopes: options.scopes };
}

/** The HTTP answer for a verification failure, or undefined for errors that are not ours. */
export function errorResponse(error: unknown): ErrorResponse | undefined {
  if (error instanceof BearerError) {
    return { status: error.status, headers: { 'www-authenticate': error.wwwAuthenticate, 'cache-control': 'no-store' }, body: error.toJSON() };
  }
  if (error instanceof VerifierUnavailableError) {
    return {
      status: 503,
      headers: { 'cache-control': 'no-store' },
      body: { error: 'temporarily_unavailable', error_description: 'The access token cannot be verified right now' },
    };
  }
  return undefined;
}

/** True when a parsed body carries `access_token` (RFC 6750 §2.2). */
export function bodyHasAccessToken(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token');
}
