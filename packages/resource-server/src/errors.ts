/**
 * Errors of the resource server side, shaped for RFC 6750 §3 responses.
 */

export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/** Generic, safe descriptions sent to the caller; the detailed reason only goes to the log. */
const DESCRIPTIONS: Record<BearerErrorCode, string> = {
  invalid_request: 'The request is not a valid bearer token request',
  invalid_token: 'The access token is invalid',
  insufficient_scope: 'The access token lacks a required scope',
};

const STATUS: Record<BearerErrorCode, 400 | 401 | 403> = {
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
};

/**
 * Brands that make `instanceof` work across copies of this module: each entry of the published
 * package (`.`, `./express`, ...) is bundled on its own, so a verifier built by one entry may throw
 * errors that another entry's adapter inspects.
 */
const BEARER_ERROR = Symbol.for('tessera.resource-server.BearerError');
const UNAVAILABLE_ERROR = Symbol.for('tessera.resource-server.VerifierUnavailableError');

function branded(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

/**
 * A refused request. `wwwAuthenticate` is the ready `WWW-Authenticate` header value, `reason` is
 * for the server log only (never contains the token). `error` is undefined when no token was
 * presented (RFC 6750 §3.1: no error code then).
 */
export class BearerError extends Error {
  override readonly name = 'BearerError';
  readonly [BEARER_ERROR] = true;

  static override [Symbol.hasInstance](value: unknown): boolean {
    return branded(value, BEARER_ERROR);
  }

  readonly status: 400 | 401 | 403;
  readonly error: BearerErrorCode | undefined;
  /** Scopes the request needs (insufficient_scope only). */
  readonly scopes: readonly string[];
  readonly wwwAuthenticate: string;
  readonly reason: string;
  /** The client of a valid token that lacked a scope. */
  readonly clientId: string | undefined;

  constructor(realm: string, error: BearerErrorCode | undefined, reason: string, scopes: readonly string[] = [], clientId?: string) {
    super(error ? DESCRIPTIONS[error] : 'Bearer token required');
    this.error = error;
    this.status = error ? STATUS[error] : 401;
    this.scopes = scopes;
    this.reason = reason;
    this.clientId = clientId;
    this.wwwAuthenticate = bearerChallenge(realm, error, scopes);
  }

  /** A JSON body for the response, or undefined when none should be sent (no token presented). */
  toJSON(): { error: BearerErrorCode; error_description: string } | undefined {
    return this.error ? { error: this.error, error_description: this.message } : undefined;
  }
}

/** `Retry-After` of a 503 when nothing better is known. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * The verifier could not reach a decision: JWKS, discovery or introspection failed. Answer 503;
 * the token itself may be fine.
 */
export class VerifierUnavailableError extends Error {
  override readonly name = 'VerifierUnavailableError';
  readonly [UNAVAILABLE_ERROR] = true;

  static override [Symbol.hasInstance](value: unknown): boolean {
    return branded(value, UNAVAILABLE_ERROR);
  }

  readonly status = 503;
  /** When to try again, for the `Retry-After` header of the 503. */
  readonly retryAfterSeconds: number;

  constructor(message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterSeconds = Math.max(1, Math.ceil(options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS));
  }
}

/** Builds a `Bearer` challenge (RFC 6750 §3) with quoted-string escaping. */
export function bearerChallenge(realm: string, error?: BearerErrorCode, scopes: readonly string[] = []): string {
  const params = [`realm=${quote(realm)}`];
  if (error) {
    params.push(`error=${quote(error)}`, `error_description=${quote(DESCRIPTIONS[error])}`);
    if (error === 'insufficient_scope' && scopes.length > 0) params.push(`scope=${quote(scopes.join(' '))}`);
  }
  return `Bearer ${params.join(', ')}`;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
