/**
 * Hono adapter (`@tessera-auth/resource-server/hono`); runs wherever Hono and the verifier run
 * (Node, Deno, Bun, Workers). On success the verified token is `c.get('auth')`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { VerifiedAccessToken } from './claims.ts';
import { urlHasAccessToken } from './extract.ts';
import {
  checkScopes, errorResponse, scopeCall, toVerifier, VERIFIER,
  type BearerAuthenticated, type BearerMiddlewareOptions, type RequireScopesOptions,
} from './response.ts';
import type { Verifier } from './verifier.ts';

/** Context variables the middleware sets. */
export interface BearerVariables {
  auth: VerifiedAccessToken;
}

/** The verifier that authenticated each request, for `honoRequireScopes`. */
const verifiers = new WeakMap<Request, Verifier>();

/** Middleware that requires a valid bearer token (and `options.scopes`), then sets `c.var.auth`. */
export function honoBearer(options: BearerMiddlewareOptions): MiddlewareHandler<{ Variables: BearerVariables }> {
  const { verifier, call } = toVerifier(options);
  return async (c, next) => {
    let auth: VerifiedAccessToken | undefined;
    try {
      auth = await verifier.authenticate({ authorization: c.req.header('authorization'), tokenElsewhere: urlHasAccessToken(c.req.url) }, call);
    } catch (error) {
      return send(c, error);
    }
    verifiers.set(c.req.raw, verifier);
    if (auth) c.set('auth', auth);
    await next();
    return undefined;
  };
}

/** Route-level scope check after `honoBearer`: 403 insufficient_scope naming `scopes`. */
export function honoRequireScopes(scopes: readonly string[], options?: RequireScopesOptions): MiddlewareHandler<{ Variables: BearerVariables }> {
  const call = scopeCall(scopes, options);
  return async (c, next) => {
    const request: Partial<BearerAuthenticated> = { auth: c.get('auth') };
    const verifier = verifiers.get(c.req.raw);
    if (verifier) request[VERIFIER] = verifier;
    const refusal = checkScopes(request, call, 'honoBearer');
    if (refusal) return send(c, refusal);
    await next();
    return undefined;
  };
}

function send(c: Context, error: unknown): Response {
  const response = errorResponse(error);
  if (!response) throw error;
  return response.body
    ? c.json(response.body, response.status as 400, response.headers)
    : c.body(null, response.status as 401, response.headers);
}
