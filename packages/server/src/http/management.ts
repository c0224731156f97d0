/**
 * The management listener (`management.listen`, default 127.0.0.1:9464), as Keycloak's management
 * port: /metrics (Prometheus text format), /healthz (the process answers) and /readyz (storage
 * answers). Kept off the public interface.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AuthorizationServer } from '../core/server.ts';
import type { Metrics } from './metrics.ts';
import { listenerOptions } from './connections.ts';

/** /healthz (the process answers) and /readyz (storage answers and every realm can sign; 503 + Retry-After otherwise). */
export function registerHealth(app: FastifyInstance, server: AuthorizationServer): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await server.ready();
      return { status: 'ready' };
    } catch {
      return reply.code(503).header('retry-after', '1').send({ status: 'not ready' });
    }
  });
}

export function buildManagementApp(server: AuthorizationServer, opts: { logger: Logger; metrics?: Metrics | undefined }): FastifyInstance {
  const app = Fastify({ loggerInstance: opts.logger, logController: new LogController({ disableRequestLogging: true }), ...listenerOptions(server.config) } as never) as unknown as FastifyInstance;
  registerHealth(app, server);
  app.get('/metrics', async (_request, reply) => {
    if (!opts.metrics) return reply.code(404).send({ error: 'not_found', error_description: 'metrics are turned off (metrics.enabled: false)' });
    const text = await opts.metrics.registry.metrics();
    return reply.header('cache-control', 'no-store').type(opts.metrics.registry.contentType).send(text);
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found', error_description: 'no such endpoint' }));
  return app;
}
