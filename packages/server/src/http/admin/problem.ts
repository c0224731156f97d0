/**
 * RFC 9457 problem documents for the admin API: every error of every admin route is one of these,
 * sent as application/problem+json. `type` names a stable Tessera problem code.
 */
import { AdminError, OAuthError, StorageUnavailableError } from '../../core/errors/index.ts';
import type { z } from 'zod';

export const PROBLEM_TYPE_PREFIX = 'urn:tessera:problem:';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  /** Validation issues: where and what. */
  errors?: Array<{ path: string; message: string }>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class Problem extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string | undefined;
  readonly errors: ProblemBody['errors'];
  /** Extra response headers (WWW-Authenticate, Retry-After). */
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, detail?: string, opts: { errors?: ProblemBody['errors']; headers?: Record<string, string> } = {}) {
    super(detail ?? code);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }

  body(instance?: string): ProblemBody {
    const b: ProblemBody = { type: PROBLEM_TYPE_PREFIX + this.code, title: TITLES[this.status] ?? 'Error', status: this.status };
    if (this.detail) b.detail = this.detail;
    if (instance) b.instance = instance;
    if (this.errors) b.errors = this.errors;
    return b;
  }
}

export function validationProblem(where: string, error: z.ZodError): Problem {
  const errors = error.issues.slice(0, 20).map((i) => ({
    path: [where, ...i.path.map(String)].join('.'),
    message: i.code === 'unrecognized_keys' ? `${i.message} (${(i as { keys: string[] }).keys.join(', ')})` : i.message,
  }));
  return new Problem(400, 'invalid_request', `invalid ${where}`, { errors });
}

/** Any error → a problem; unknown errors become an opaque 500 (the caller logs them). */
export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof AdminError) {
    // core/admin/types.ts: the codes and their statuses.
    const status = { not_found: 404, conflict: 409, refused: 409, precondition_failed: 412, invalid_metadata: 400, invalid_key: 400, invalid_request: 400 }[error.code] ?? 400;
    return new Problem(status, error.code, error.message);
  }
  if (error instanceof StorageUnavailableError) return new Problem(503, 'unavailable', 'the service is temporarily unavailable', { headers: { 'retry-after': '1' } });
  if (error instanceof OAuthError && error.status < 500) return new Problem(400, error.error, error.description);
  const e = error as { statusCode?: number; code?: string };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new Problem(413, 'body_too_large', 'request body too large');
    if (e.statusCode === 415) return new Problem(415, 'unsupported_media_type', 'send application/json (application/merge-patch+json for PATCH)');
    return new Problem(400, 'malformed_request', 'malformed request');
  }
  return new Problem(500, 'server_error', 'internal error');
}
