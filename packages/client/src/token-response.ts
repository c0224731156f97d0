/**
 * Turns a token endpoint HTTP response into an access token or a typed error (RFC 6749 §5.1, §5.2).
 */
import { TokenError, TransportError } from './errors.ts';
import type { AccessToken } from './cache.ts';

/**
 * Reads a token endpoint response. 200 → the token (expiry measured from `sentAt`; without
 * `expires_in`, `defaultLifetimeSeconds`); a JSON body with `error` → `TokenError`; anything else
 * → `TransportError`.
 */
export async function readTokenResponse(response: Response, sentAt: number, requestedScope: string, defaultLifetimeSeconds = 0): Promise<AccessToken> {
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    throw new TransportError('failed to read the token response', { status: response.status, cause });
  }
  const body = parseJsonObject(text);
  if (response.status !== 200) {
    if (body && typeof body.error === 'string') {
      throw new TokenError(
        body.error,
        response.status,
        typeof body.error_description === 'string' ? body.error_description : undefined,
        typeof body.error_uri === 'string' ? body.error_uri : undefined,
      );
    }
    throw new TransportError(`token endpoint answered ${response.status}`, { status: response.status });
  }
  if (!body) throw new TransportError('token response is not a JSON object', { status: 200 });
  return toAccessToken(body, sentAt, requestedScope, defaultLifetimeSeconds);
}

function toAccessToken(body: Record<string, unknown>, sentAt: number, requestedScope: string, defaultLifetimeSeconds: number): AccessToken {
  const { access_token, token_type, expires_in, scope } = body;
  if (typeof access_token !== 'string' || access_token === '') throw new TransportError('token response has no access_token', { status: 200 });
  if (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer') {
    throw new TransportError(`unsupported token_type ${String(token_type)}`, { status: 200 });
  }
  const lifetime = expires_in === undefined || expires_in === null ? defaultLifetimeSeconds : Number(expires_in);
  if (!Number.isFinite(lifetime) || lifetime < 0) throw new TransportError('token response has an invalid expires_in', { status: 200 });
  if (scope !== undefined && typeof scope !== 'string') throw new TransportError('token response has an invalid scope', { status: 200 });
  return {
    accessToken: access_token,
    tokenType: token_type,
    expiresAt: sentAt + lifetime * 1000,
    scope: scope ?? requestedScope,
  };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
