/**
 * Bearer token extraction from the Authorization header (RFC 6750 §2.1).
 */

/** `b64token` of RFC 6750 §2.1. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export type Extraction =
  | { kind: 'token'; token: string }
  | { kind: 'missing' }
  | { kind: 'malformed'; reason: string };

/**
 * Reads the bearer token from an Authorization header value. A header with another scheme counts
 * as no token; a Bearer header that is not exactly one b64token, or several Authorization
 * headers, is malformed.
 */
export function extractBearerToken(authorization: string | readonly string[] | undefined): Extraction {
  if (authorization === undefined) return { kind: 'missing' };
  if (typeof authorization !== 'string') {
    if (authorization.length > 1) return { kind: 'malformed', reason: 'several Authorization headers' };
    return extractBearerToken(authorization[0]);
  }
  const value = authorization.trim();
  const space = value.search(/[ \t]/);
  const scheme = space === -1 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'missing' };
  if (space === -1) return { kind: 'malformed', reason: 'Bearer scheme without a token' };
  const credentials = value.slice(space).replace(/^[ \t]+/, '');
  if (!B64TOKEN.test(credentials)) return { kind: 'malformed', reason: 'bearer credentials are not a single b64token' };
  return { kind: 'token', token: credentials };
}

/** True when a request URL carries an `access_token` query parameter (RFC 6750 §2.3). */
export function urlHasAccessToken(url: string): boolean {
  const query = url.indexOf('?');
  if (query === -1) return false;
  return new URLSearchParams(url.slice(query + 1).split('#')[0]).has('access_token');
}
