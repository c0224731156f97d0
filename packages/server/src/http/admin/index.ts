/**
 * The admin API as a Fastify plugin under /admin/v1: Bearer authentication (auth.ts), zod
 * validation of every request part and response body, problem+json errors, and the OpenAPI
 * document generated from the same route list. Mounted on the public app, or on its own listener
 * (`admin.listen`) with buildAdminApp.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthorizationServer } from '../../core/server.ts';
import { authenticateAdmin, requireScope, type AdminPrincipal } from './auth.ts';
import { ADMIN_PREFIX, buildOpenApiDocument } from './openapi.ts';
import { Problem, toProblem, validationProblem } from './problem.ts';
import type { AdminRoute } from './route.ts';
import { adminRoutes } from './routes.ts';
import { CONSOLE_PREFIX, consolePlugin } from '../console/index.ts';
import { guardConnections, listenerOptions } from '../connections.ts';

export { ADMIN_PREFIX } from './openapi.ts';
export { adminRoutes } from './routes.ts';
export { adminAudience, ALL_ADMIN_SCOPES, SCOPES } from './auth.ts';

/** Admin bodies may hold JWK Sets and certificate chains. */
const ADMIN_BODY_LIMIT = 256 * 1024;
const NO_BODY = Symbol('no body');

function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const p = toProblem(error);
  if (p.status >= 500 && !(error instanceof Problem)) request.log.error({ reqId: request.id, err: error }, 'admin API error');
  return reply.code(p.status).headers({ 'cache-control': 'no-store', ...p.headers }).type('application/problem+json').send(JSON.stringify(p.body(request.url.split('?')[0])));
}

const fastifyPath = (path: string) => path.replace(/\{([a-z_]+)\}/g, ':$1');

export async function adminPlugin(app: FastifyInstance, opts: { server: AuthorizationServer }): Promise<void> {
  const { server } = opts;
  const document = buildOpenApiDocument(adminRoutes, server.config);

  app.removeAllContentTypeParsers();
  const parseJson = (_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => {
    if (body.trim() === '') return done(null, NO_BODY);
    try {
      done(null, JSON.parse(body));
    } catch {
      done(new Problem(400, 'malformed_request', 'the body is not valid JSON'));
    }
  };
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'string' }, parseJson as never);
  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error));
  app.setNotFoundHandler(async (request, reply) => {
    // Unauthenticated callers learn nothing, not even which paths exist.
    await authenticateAdmin(server, request.headers.authorization);
    return sendProblem(request, reply, new Problem(404, 'not_found', 'no such admin endpoint'));
  });

  for (const r of adminRoutes) {
    app.route({
      method: r.method,
      url: fastifyPath(r.path),
      bodyLimit: ADMIN_BODY_LIMIT,
      handler: r.path === '/openapi.json' ? async (_req, reply) => reply.header('cache-control', 'no-cache').send(document) : handlerOf(server, r),
    });
  }
}

function handlerOf(server: AuthorizationServer, r: AdminRoute) {
  const handle = serve(server, r);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    let principal: AdminPrincipal | undefined;
    try {
      if (r.scope) {
        principal = await authenticateAdmin(server, request.headers.authorization);
        requireScope(principal, r.scope);
      }
      return await handle(request, reply, principal);
    } catch (err) {
      // An authenticated admin refused (scope or realm) is a security event; unauthenticated
      // requests are not recorded (anyone could flood the trail with them).
      if (principal && err instanceof Problem && err.status === 403) {
        const realm = (request.params as { realm?: string }).realm;
        void server.admin
          .recordEvent({ id: principal.clientId, source: request.ip, requestId: request.id }, 'admin.forbidden', null, null, { method: r.method, route: r.path, ...(realm ? { realm: realm.slice(0, 63) } : {}), ...(r.scope ? { scope: r.scope } : {}) })
          .catch((e: unknown) => request.log.warn({ reqId: request.id, err: String(e) }, 'audit write failed'));
      }
      throw err;
    }
  };
}

function serve(server: AuthorizationServer, r: AdminRoute) {
  return async (request: FastifyRequest, reply: FastifyReply, principal: AdminPrincipal | undefined) => {
    const params = r.params.safeParse(request.params ?? {});
    if (!params.success) throw validationProblem('path', params.error);
    const query = r.query.safeParse(request.query ?? {});
    if (!query.success) throw validationProblem('query', query.error);
    let body: unknown;
    const raw = request.body === undefined || request.body === null ? NO_BODY : request.body;
    if (r.body) {
      if (raw === NO_BODY) {
        if (r.body.required) throw new Problem(400, 'invalid_request', 'a JSON body is required');
        body = undefined;
      } else {
        const parsed = r.body.schema.safeParse(raw);
        if (!parsed.success) throw validationProblem('body', parsed.error);
        body = parsed.data;
      }
    } else if (raw !== NO_BODY) {
      throw new Problem(400, 'invalid_request', 'this operation takes no body');
    }
    const result = await r.handler({ server, principal: principal!, params: params.data, query: query.data, body, request });
    reply.code(result.status).headers({ 'cache-control': 'no-store', ...result.headers });
    const spec = r.responses[result.status];
    if (result.stream) return reply.type(result.stream.type).send(result.stream.body);
    if (result.body === undefined) return reply.send();
    // Responses are validated too: what leaves is what the document says.
    const out = spec?.schema && !spec.mediaType ? spec.schema.parse(result.body) : result.body;
    return reply.send(out);
  };
}

/** The admin API on a listener of its own (`admin.listen`). */
export function buildAdminApp(server: AuthorizationServer, opts: { logger: Logger }): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    ...listenerOptions(server.config),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1024 },
  } as never) as unknown as FastifyInstance;
  guardConnections(app, server.config.httpLimits.maxConnectionsPerSource);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.register(adminPlugin, { prefix: ADMIN_PREFIX, server });
  app.register(consolePlugin, { prefix: CONSOLE_PREFIX, server });
  app.setNotFoundHandler((request, reply) => sendProblem(request, reply, new Problem(404, 'not_found', 'no such endpoint')));
  return app;
}
