/**
 * Errors raised by the client SDK. Three kinds, so callers can tell "the server said no"
 * (`TokenError`, never retried) from "we could not get an answer" (`TransportError`) and
 * "the issuer's metadata is unusable" (`DiscoveryError`).
 */
import type { OAuthErrorCode } from '../../server/src/shared/oauth.ts';

/** An OAuth error response from the token endpoint (RFC 6749 §5.2). */
export class TokenError extends Error {
  override readonly name = 'TokenError';
  /** The `error` code, e.g. `invalid_scope`. */
  readonly error: OAuthErrorCode | string;
  /** The `error_description`, when the server sent one. */
  readonly errorDescription: string | undefined;
  /** The `error_uri`, when the server sent one. */
  readonly errorUri: string | undefined;
  /** HTTP status of the response. */
  readonly status: number;

  constructor(error: string, status: number, errorDescription?: string, errorUri?: string) {
    super(errorDescription ? `${error}: ${errorDescription}` : error);
    this.error = error;
    this.status = status;
    this.errorDescription = errorDescription;
    this.errorUri = errorUri;
  }
}

/**
 * No usable answer: network failure, timeout, a non-OAuth HTTP failure or a malformed response.
 * `status` is set when an HTTP response was received.
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly status: number | undefined;

  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
  }
}

/** Authorization server metadata could not be fetched or failed validation (RFC 8414 §3.3). */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}
