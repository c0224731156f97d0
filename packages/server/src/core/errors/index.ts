/**
 * OAuth errors as one closed family. Each class carries its RFC error code and HTTP status; the HTTP
 * layer reads both in one place. `description` is sent to the caller and must never reveal a secret
 * or whether a client exists; `detail` is for the server log only.
 */
import type { OAuthErrorCode } from '../../shared/oauth.ts';
import { isSafeErrorText } from '../../shared/oauth.ts';

/**
 * Makes caller-supplied text fit an error_description (RFC 6749 §5.2 allows %x20-21 / %x23-5B /
 * %x5D-7E): other characters become '?', and it is cut to `max` characters.
 */
export function quoteSafe(value: string, max = 64): string {
  return value.slice(0, max).replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?');
}

export abstract class OAuthError extends Error {
  abstract readonly error: OAuthErrorCode;
  abstract readonly status: number;
  readonly description: string;
  readonly detail: string | undefined;
  /**
   * Stable machine-readable code of the private reason (e.g. `aud_mismatch`, `kid_not_found`),
   * recorded for operators and never sent to the caller; see docs/errors.md.
   */
  reason: string | undefined;
  /** Values behind the reason (got / expected, kid and kids known, skew…); never secrets. */
  facts: Readonly<Record<string, unknown>> | undefined;

  constructor(description: string, detail?: string) {
    super(description);
    if (!isSafeErrorText(description)) throw new TypeError(`unsafe error_description: ${description}`);
    this.description = description;
    this.detail = detail;
  }

  override get name(): string {
    return `OAuthError(${this.error})`;
  }

  /** Sets the private reason code (and its facts); returns this error, for `throw err.because(…)`. */
  because(reason: string, facts?: Record<string, unknown>): this {
    this.reason = reason;
    this.facts = facts;
    return this;
  }

  toJSON(): { error: OAuthErrorCode; error_description?: string } {
    return this.description ? { error: this.error, error_description: this.description } : { error: this.error };
  }
}

export class InvalidRequestError extends OAuthError {
  readonly error = 'invalid_request' as const;
  readonly status = 400;
}
export class InvalidClientError extends OAuthError {
  readonly error = 'invalid_client' as const;
  readonly status = 401;
}
export class InvalidGrantError extends OAuthError {
  readonly error = 'invalid_grant' as const;
  readonly status = 400;
}
export class UnauthorizedClientError extends OAuthError {
  readonly error = 'unauthorized_client' as const;
  readonly status = 400;
}
export class UnsupportedGrantTypeError extends OAuthError {
  readonly error = 'unsupported_grant_type' as const;
  readonly status = 400;
}
export class InvalidScopeError extends OAuthError {
  readonly error = 'invalid_scope' as const;
  readonly status = 400;
}
export class InvalidTargetError extends OAuthError {
  readonly error = 'invalid_target' as const;
  readonly status = 400;
}
export class UnsupportedTokenTypeError extends OAuthError {
  readonly error = 'unsupported_token_type' as const;
  readonly status = 400;
}
export class InvalidTokenError extends OAuthError {
  readonly error = 'invalid_token' as const;
  readonly status = 401;
}
export class InsufficientScopeError extends OAuthError {
  readonly error = 'insufficient_scope' as const;
  readonly status = 403;
}
export class ServerError extends OAuthError {
  readonly error = 'server_error' as const;
  readonly status = 500;
}
/** A dependency (database, replay store) is unavailable: 503 with Retry-After. */
export class TemporarilyUnavailableError extends OAuthError {
  readonly error = 'temporarily_unavailable' as const;
  readonly status = 503;
  readonly retryAfterSeconds: number;
  constructor(description: string, detail?: string, retryAfterSeconds = 1) {
    super(description, detail);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * Too many failed client authentications for one client id from one source (RFC 6749 §2.3.1 asks
 * for brute-force protection): 429 with Retry-After, before any secret or signature is checked.
 */
export class TooManyAttemptsError extends OAuthError {
  readonly error = 'invalid_client' as const;
  readonly status = 429;
  readonly retryAfterSeconds: number;
  constructor(description: string, detail?: string, retryAfterSeconds = 60) {
    super(description, detail);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Every class of the family, for the errors ↔ docs drift test. */
export const OAUTH_ERROR_CLASSES = [
  InvalidRequestError,
  InvalidClientError,
  InvalidGrantError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  InvalidScopeError,
  InvalidTargetError,
  UnsupportedTokenTypeError,
  InvalidTokenError,
  InsufficientScopeError,
  ServerError,
  TemporarilyUnavailableError,
  TooManyAttemptsError,
] as const;

/** Raised by storage adapters when their backend cannot be reached; the HTTP layer maps it to 503. */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/**
 * Misuse of an admin operation (unknown realm, duplicate client id, bad metadata…).
 * not_found → 404, conflict → 409, invalid_metadata / invalid_key / invalid_request → 400,
 * precondition_failed (stale version) → 412, refused (would break the realm) → 409.
 */
export type AdminErrorCode = 'not_found' | 'conflict' | 'invalid_metadata' | 'invalid_key' | 'invalid_request' | 'precondition_failed' | 'refused';

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  constructor(code: AdminErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = 'AdminError';
  }
}
