/**
 * Express adapter (`@tessera-auth/resource-server/express`). On success the verified token is at
 * `req.auth` (read it typed with `bearerAuth(req)`). `req.auth` is deliberately not merged into
 * Express's global `Request` type: other libraries (express-oauth2-jwt-bearer) declare it too.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { VerifiedAccessToken } from './claims.ts';
import { urlHasAccessToken } from './extract.ts';
import {
  bodyHasAccessToken, checkScopes, errorResponse, scopeCall, toVerifier, VERIFIER,
  type BearerAuthenticated, type BearerMiddlewareOptions, type RequireScopesOptions,
} from './response.ts';

/** Middleware that requires a valid bearer token (and `options.scopes`), then sets `req.auth`. */
export function expressBearer(options: BearerMiddlewareOptions): RequestHandler {
  const { verifier, call } = toVerifier(options);
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const auth = await verifier.authenticate(
        { authorization: req.headers.authorization, tokenElsewhere: urlHasAccessToken(req.originalUrl ?? req.url) || bodyHasAccessToken(req.body) },
        call,
      );
      Object.assign(req, auth ? { auth, [VERIFIER]: verifier } : { [VERIFIER]: verifier });
      next();
    } catch (error) {
      send(res, error, next);
    }
  };
}

/** Route-level scope check after `expressBearer`: 403 insufficient_scope naming `scopes`. */
export function requireScopes(scopes: readonly string[], options?: RequireScopesOptions): RequestHandler {
  const call = scopeCall(scopes, options);
  return (req: Request, res: Response, next: NextFunction) => {
    const refusal = checkScopes(req as Request & Partial<BearerAuthenticated>, call, 'expressBearer');
    if (refusal) return send(res, refusal, next);
    next();
  };
}

/** The verified token of a request that passed `expressBearer`; throws if there is none. */
export function bearerAuth(req: Request): VerifiedAccessToken {
  const auth = (req as Request & Partial<BearerAuthenticated>).auth;
  if (!auth || !Array.isArray(auth.scopes)) throw new Error('request was not authenticated by expressBearer');
  return auth;
}

function send(res: Response, error: unknown, next: NextFunction): void {
  const response = errorResponse(error);
  if (!response) return next(error);
  res.status(response.status).set(response.headers);
  if (response.body) res.json(response.body);
  else res.end();
}
