/**
 * The verified view of an access token, and the checks shared by JWT and introspection modes.
 */
import { parseScope } from '../../server/src/shared/oauth.ts';

/** What a verified access token tells the API. */
export interface VerifiedAccessToken {
  /** `client_id`: the OAuth client the token was issued to. */
  clientId: string;
  /** `sub`; for client-credentials tokens usually the client id. */
  subject: string;
  /** Granted scopes from the space-delimited `scope` claim. */
  scopes: string[];
  /** `aud`, always as a list. */
  audience: string[];
  issuer: string;
  /** `exp` as epoch milliseconds. */
  expiresAt: number;
  /** `jti`; always set for JWTs, may be absent from introspection responses. */
  jti: string | undefined;
  /** The raw claims (JWT payload or introspection response). */
  claims: Readonly<Record<string, unknown>>;
}

/** The token is not acceptable; the message is the reason, for the log only. */
export class TokenRejected extends Error {}

/** Normalizes `aud` to a list; fails when absent or not strings. */
export function audienceList(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) return aud as string[];
  throw new TokenRejected('aud missing or invalid');
}

/** Parses the `scope` claim; absent means no scopes. */
export function scopeClaim(scope: unknown): string[] {
  if (scope === undefined) return [];
  const parsed = typeof scope === 'string' ? parseScope(scope) : undefined;
  if (parsed === undefined) throw new TokenRejected('scope claim is not a valid scope string');
  return parsed;
}

/** Scopes of `required` that `granted` lacks. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  return required.filter((scope) => !granted.includes(scope));
}

/** Reads a required string claim. */
export function stringClaim(claims: Record<string, unknown>, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value === '') throw new TokenRejected(`${name} claim missing or not a string`);
  return value;
}

/** Reads a required NumericDate claim. */
export function numericClaim(claims: Record<string, unknown>, name: string): number {
  const value = claims[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TokenRejected(`${name} claim missing or not a number`);
  return value;
}
