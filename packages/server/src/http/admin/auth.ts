/**
 * Who may call the admin API: a Bearer access token (RFC 6750) issued by this server's admin realm,
 * verified with the core's own access-token verification (signature by a published key of the
 * realm, typ, iss), live (exp, iat), not revoked, its client still registered and enabled, and its
 * audience the admin API. Scopes grant operations; `tessera:realm:<name>` scopes, when present,
 * restrict the token to those realms. Failures say nothing of what exists.
 */
import type { AuthorizationServer } from '../../core/server.ts';
import type { AccessTokenClaims } from '../../shared/oauth.ts';
import { verifyOwnAccessToken } from '../../core/tokens/access-token.ts';
import { Problem } from './problem.ts';

export const SCOPES = {
  admin: 'tessera:admin',
  realmsRead: 'tessera:realms:read',
  realmsWrite: 'tessera:realms:write',
  clientsRead: 'tessera:clients:read',
  clientsWrite: 'tessera:clients:write',
  keysRead: 'tessera:keys:read',
  keysWrite: 'tessera:keys:write',
  tokensWrite: 'tessera:tokens:write',
  auditRead: 'tessera:audit:read',
} as const;
export type AdminScope = (typeof SCOPES)[keyof typeof SCOPES];
/** Every admin scope, as granted to the bootstrap client (it asks for narrower tokens at will). */
export const ALL_ADMIN_SCOPES: readonly string[] = Object.values(SCOPES);
export const REALM_SCOPE_PREFIX = 'tessera:realm:';

/** The audience admin tokens must carry: `${issuer}/admin/v1`. */
export function adminAudience(issuer: string): string {
  return `${issuer}/admin/v1`;
}

export interface AdminPrincipal {
  clientId: string;
  jti: string;
  scopes: ReadonlySet<string>;
  /** The realms the token is restricted to; undefined: every realm. */
  realms: ReadonlySet<string> | undefined;
}

const CHALLENGE = 'Bearer realm="tessera-admin"';

function unauthorized(error?: 'invalid_token' | 'invalid_request'): Problem {
  const header = error ? `${CHALLENGE}, error="${error}"` : CHALLENGE;
  return new Problem(error === 'invalid_request' ? 400 : 401, error ?? 'unauthorized', error === 'invalid_token' ? 'the access token is not valid' : error === 'invalid_request' ? 'malformed Authorization header' : 'a Bearer access token is required', {
    headers: { 'www-authenticate': header },
  });
}

export function forbidden(scope?: string): Problem {
  const header = scope ? `${CHALLENGE}, error="insufficient_scope", scope="${scope}"` : `${CHALLENGE}, error="insufficient_scope"`;
  return new Problem(403, 'insufficient_scope', 'the access token does not allow this operation', { headers: { 'www-authenticate': header } });
}

/** The console's admin-realm client (console/index.ts CONSOLE_CLIENT_ID; not imported: the console imports this module). */
const CONSOLE_CLIENT = 'tessera-console';

export async function authenticateAdmin(server: AuthorizationServer, authorization: string | undefined): Promise<AdminPrincipal> {
  if (authorization === undefined || authorization === '') throw unauthorized();
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
  if (!m) throw /^Bearer(?: |$)/i.test(authorization) ? unauthorized('invalid_request') : unauthorized();
  const realm = server.realm(server.config.admin.realm);
  if (!realm) throw unauthorized('invalid_token');
  const claims: AccessTokenClaims | undefined = await verifyOwnAccessToken(server.keys, realm.name, realm.issuer, m[1]!);
  if (!claims) throw unauthorized('invalid_token');
  const now = server.clock.now() / 1000;
  const skew = realm.assertions.clockSkewSeconds;
  if (claims.exp <= now || claims.iat > now + skew || (typeof claims.nbf === 'number' && claims.nbf > now + skew)) throw unauthorized('invalid_token');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes(adminAudience(server.config.issuer))) throw unauthorized('invalid_token');
  if (await server.storage.revocations.isRevoked(realm.name, claims.jti)) throw unauthorized('invalid_token');
  const client = await server.clients.get(realm.name, claims.client_id);
  if (!client || client.record.disabled) throw unauthorized('invalid_token');
  // Per-client not-before: every token issued before it was revoked wholesale.
  if (client.record.notBefore !== undefined && claims.iat * 1000 < client.record.notBefore) throw unauthorized('invalid_token');
  const scopes = new Set(claims.scope.split(' ').filter(Boolean));
  const realms = [...scopes].filter((s) => s.startsWith(REALM_SCOPE_PREFIX)).map((s) => s.slice(REALM_SCOPE_PREFIX.length));
  // Tokens the console mints in-process for a signed-in person name that person: the audit trail
  // records who did it, not only "the console" (no other client can obtain a console_user claim).
  const person = claims.client_id === CONSOLE_CLIENT && typeof claims['console_user'] === 'string' ? `:${claims['console_user'].slice(0, 200)}` : '';
  return { clientId: claims.client_id + person, jti: claims.jti, scopes, realms: realms.length ? new Set(realms) : undefined };
}

/** Throws 403 unless the principal holds `scope` (or tessera:admin). */
export function requireScope(p: AdminPrincipal, scope: AdminScope): void {
  if (!p.scopes.has(scope) && !p.scopes.has(SCOPES.admin)) throw forbidden(scope);
}

/** Throws 403 when the token is restricted to other realms (whether or not `realm` exists). */
export function requireRealm(p: AdminPrincipal, realm: string): void {
  if (p.realms && !p.realms.has(realm)) throw forbidden();
}
