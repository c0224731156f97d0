/**
 * Express adapter. On success the verified token is at `req.auth` (read it typed with
 * `bearerAuth(req)`). `req.auth` is deliberately not merged into Express's global `Request` type:
 * other libraries (express-oauth2-jwt-bearer) declare it with their own type.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { missingScopes, type VerifiedAccessToken } from './claims.ts';
import { BearerError } from './errors.ts';
import { urlHasAccessToken } from './extract.ts';
import { scopeList } from './options.ts';
import { bodyHasAccessToken, errorResponse, REALM, toVerifier, type BearerAuthenticated, type BearerMiddlewareOptions } from './response.ts';

/** Middleware that requires a valid bearer token (and `options.scopes`), then sets `req.auth`. */
export function expressBearer(options: BearerMiddlewareOptions): RequestHandler {
  const { verifier, scopes } = toVerifier(options);
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const auth = await verifier.authenticate(
        { authorization: req.headers.authorization, tokenElsewhere: urlHasAccessToken(req.originalUrl ?? req.url) || bodyHasAccessToken(req.body) },
        { scopes },
      );
      Object.assign(req, { auth, [REALM]: verifier.realm });
      next();
    } catch (error) {
      send(res, error, next);
    }
  };
}

/** Route-level scope check after `expressBearer`: 403 insufficient_scope naming `scopes`. */
export function requireScopes(scopes: readonly string[]): RequestHandler {
  const required = scopeList('scopes', scopes);
  return (req: Request, res: Response, next: NextFunction) => {
    const request = req as Request & Partial<BearerAuthenticated>;
    const realm = request[REALM] ?? '';
    if (!request.auth) return send(res, new BearerError(realm, undefined, 'requireScopes used without expressBearer'), next);
    const missing = missingScopes(request.auth.scopes, required);
    if (missing.length > 0) return send(res, new BearerError(realm, 'insufficient_scope', `missing scope ${missing.join(' ')}`, required), next);
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
