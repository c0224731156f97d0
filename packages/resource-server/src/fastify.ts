/**
 * Fastify adapter: `preHandler` hooks. On success the verified token is at `request.auth` (read it
 * typed with `fastifyBearerAuth(request)`). Use per route (`{ preHandler: fastifyBearer(...) }`) or
 * for every route of a context (`app.addHook('preHandler', fastifyBearer(...))`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { missingScopes, type VerifiedAccessToken } from './claims.ts';
import { BearerError } from './errors.ts';
import { urlHasAccessToken } from './extract.ts';
import { scopeList } from './options.ts';
import { bodyHasAccessToken, errorResponse, REALM, toVerifier, type BearerAuthenticated, type BearerMiddlewareOptions } from './response.ts';

/** A Fastify preHandler hook. */
export type BearerPreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/** preHandler that requires a valid bearer token (and `options.scopes`), then sets `request.auth`. */
export function fastifyBearer(options: BearerMiddlewareOptions): BearerPreHandler {
  const { verifier, scopes } = toVerifier(options);
  return async (request, reply) => {
    try {
      const auth = await verifier.authenticate(
        { authorization: request.headers.authorization, tokenElsewhere: urlHasAccessToken(request.url) || bodyHasAccessToken(request.body) },
        { scopes },
      );
      Object.assign(request, { auth, [REALM]: verifier.realm });
      return undefined;
    } catch (error) {
      return send(reply, error);
    }
  };
}

/** Route-level scope check after `fastifyBearer`: 403 insufficient_scope naming `scopes`. */
export function fastifyRequireScopes(scopes: readonly string[]): BearerPreHandler {
  const required = scopeList('scopes', scopes);
  return async (request, reply) => {
    const authenticated = request as FastifyRequest & Partial<BearerAuthenticated>;
    const realm = authenticated[REALM] ?? '';
    if (!authenticated.auth) return send(reply, new BearerError(realm, undefined, 'fastifyRequireScopes used without fastifyBearer'));
    const missing = missingScopes(authenticated.auth.scopes, required);
    if (missing.length > 0) return send(reply, new BearerError(realm, 'insufficient_scope', `missing scope ${missing.join(' ')}`, required));
    return undefined;
  };
}

/** The verified token of a request that passed `fastifyBearer`; throws if there is none. */
export function fastifyBearerAuth(request: FastifyRequest): VerifiedAccessToken {
  const auth = (request as FastifyRequest & Partial<BearerAuthenticated>).auth;
  if (!auth || !Array.isArray(auth.scopes)) throw new Error('request was not authenticated by fastifyBearer');
  return auth;
}

function send(reply: FastifyReply, error: unknown): FastifyReply {
  const response = errorResponse(error);
  if (!response) throw error;
  reply.code(response.status).headers(response.headers);
  return response.body ? reply.send(response.body) : reply.send();
}
