/**
 * Koa adapter (`@tessera-auth/resource-server/koa`). On success the verified token is at
 * `ctx.state.auth`.
 */
import type { Context, Middleware, Next } from 'koa';
import type { VerifiedAccessToken } from './claims.ts';
import { urlHasAccessToken } from './extract.ts';
import {
  bodyHasAccessToken, checkScopes, errorResponse, scopeCall, toVerifier, VERIFIER,
  type BearerAuthenticated, type BearerMiddlewareOptions, type RequireScopesOptions,
} from './response.ts';

/** Middleware that requires a valid bearer token (and `options.scopes`), then sets `ctx.state.auth`. */
export function koaBearer(options: BearerMiddlewareOptions): Middleware {
  const { verifier, call } = toVerifier(options);
  return async (ctx: Context, next: Next) => {
    let auth: VerifiedAccessToken | undefined;
    try {
      auth = await verifier.authenticate(
        { authorization: ctx.headers.authorization, tokenElsewhere: urlHasAccessToken(ctx.url) || bodyHasAccessToken((ctx.request as { body?: unknown }).body) },
        call,
      );
    } catch (error) {
      return send(ctx, error);
    }
    Object.assign(ctx.state, auth ? { auth, [VERIFIER]: verifier } : { [VERIFIER]: verifier });
    await next();
  };
}

/** Route-level scope check after `koaBearer`: 403 insufficient_scope naming `scopes`. */
export function koaRequireScopes(scopes: readonly string[], options?: RequireScopesOptions): Middleware {
  const call = scopeCall(scopes, options);
  return async (ctx: Context, next: Next) => {
    const refusal = checkScopes(ctx.state as Partial<BearerAuthenticated>, call, 'koaBearer');
    if (refusal) return send(ctx, refusal);
    await next();
  };
}

/** The verified token of a request that passed `koaBearer`; throws if there is none. */
export function koaBearerAuth(ctx: Context): VerifiedAccessToken {
  const auth = (ctx.state as Partial<BearerAuthenticated>).auth;
  if (!auth || !Array.isArray(auth.scopes)) throw new Error('request was not authenticated by koaBearer');
  return auth;
}

function send(ctx: Context, error: unknown): void {
  const response = errorResponse(error);
  if (!response) throw error;
  ctx.status = response.status;
  ctx.set(response.headers);
  ctx.body = response.body ?? '';
}
