/**
 * Fastify adapter (`@tessera-auth/resource-server/fastify`): `preHandler` hooks. On success the
 * verified token is at `request.auth` (read it typed with `fastifyBearerAuth(request)`). Use per
 * route (`{ preHandler: fastifyBearer(...) }`) or for a context (`app.addHook('preHandler', ...)`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VerifiedAccessToken } from './claims.ts';
import { urlHasAccessToken } from './extract.ts';
import {
  bodyHasAccessToken, checkScopes, errorResponse, scopeCall, toVerifier, VERIFIER,
  type BearerAuthenticated, type BearerMiddlewareOptions, type RequireScopesOptions,
} from './response.ts';

/** A Fastify preHandler hook. */
export type BearerPreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/** preHandler that requires a valid bearer token (and `options.scopes`), then sets `request.auth`. */
export function fastifyBearer(options: BearerMiddlewareOptions): BearerPreHandler {
  const { verifier, call } = toVerifier(options);
  return async (request, reply) => {
    try {
      const auth = await verifier.authenticate(
        { authorization: request.headers.authorization, tokenElsewhere: urlHasAccessToken(request.url) || bodyHasAccessToken(request.body) },
        call,
      );
      Object.assign(request, auth ? { auth, [VERIFIER]: verifier } : { [VERIFIER]: verifier });
      return undefined;
    } catch (error) {
      return send(reply, error);
    }
  };
}

/** Route-level scope check after `fastifyBearer`: 403 insufficient_scope naming `scopes`. */
export function fastifyRequireScopes(scopes: readonly string[], options?: RequireScopesOptions): BearerPreHandler {
  const call = scopeCall(scopes, options);
  return async (request, reply) => {
    const refusal = checkScopes(request as FastifyRequest & Partial<BearerAuthenticated>, call, 'fastifyBearer');
    return refusal ? send(reply, refusal) : undefined;
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
