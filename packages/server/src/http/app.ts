/**
 * buildApp: the thin HTTP adapter. It turns requests into core inputs (every value of every form
 * parameter, the Authorization header) and core results or errors into responses, in one place:
 * status, JSON, Cache-Control: no-store, WWW-Authenticate, Retry-After. It never calls listen(),
 * so tests can use inject() as well as a real socket.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthorizationServer } from '../core/server.ts';
import { DEFAULT_REALM, type RealmConfig } from '../core/config/index.ts';
import { InvalidRequestError, OAuthError, ServerError, StorageUnavailableError, TemporarilyUnavailableError, TooManyAttemptsError } from '../core/errors/index.ts';
import { parseForm } from '../core/params.ts';
import { registerAmAliases } from './am-aliases.ts';
import { guardConnections, listenerOptions } from './connections.ts';
import { ADMIN_PREFIX, adminPlugin } from './admin/index.ts';
import { CONSOLE_PREFIX, consolePlugin } from './console/index.ts';
import type { Metrics } from './metrics.ts';
import { registerHealth } from './management.ts';

export interface AppOptions {
  logger: Logger;
  /** Mount the admin API under /admin/v1 (default true; false when it has a listener of its own). */
  admin?: boolean;
  /** Request metrics (durations, failures by reason); see http/metrics.ts. */
  metrics?: Metrics | undefined;
}

const NOT_FORM = Symbol('not a form body');
/** Set on a request whose failure sendError has logged already (onResponse then logs nothing more). */
const LOGGED = Symbol('failure logged');
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };
const CREDENTIAL_PARAMS = ['client_secret', 'client_assertion', 'client_assertion_type', 'client_id', 'token'];

type Endpoint = 'token' | 'introspect' | 'revoke';

/** A request that arrived after shutdown began (not logged one by one: 'shutting down' was). */
class ShuttingDownError extends TemporarilyUnavailableError {}

export function buildApp(server: AuthorizationServer, opts: AppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: server.config.bodyLimitBytes,
    // trust_proxy, and timeouts so slow peers cannot hold connections (issue 13 item 2); see http/connections.ts.
    ...listenerOptions(server.config),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    exposeHeadRoutes: true,
    // Requests arriving while shutting down get the OAuth answer below, not Fastify's generic 503.
    return503OnClosing: false,
    // Admin paths carry client ids (up to 255 characters, percent-encoded); longer ones get a 400 problem.
    routerOptions: { maxParamLength: 1024 },
  } as never) as unknown as FastifyInstance;

  const connections = guardConnections(app, server.config.httpLimits.maxConnectionsPerSource);
  // While shutting down: 503 temporarily_unavailable with Retry-After (RFC 6749 §5.2), so that a
  // client tries again (the balancer sends it to another instance); the answer says Connection: close.
  // A callback hook: no promise per request on the token path.
  app.addHook('onRequest', (_request, _reply, done) => {
    if (connections.closing) done(new ShuttingDownError('the server is shutting down; try again', 'shutting down'));
    else done();
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, parseForm(body as string)));
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, _body, done) => done(null, NOT_FORM));

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  const debug = opts.logger.isLevelEnabled('debug');
  // request.log is a child logger bound to reqId already: lines never add it again.
  app.addHook('onResponse', async (request, reply) => {
    const failed = reply.statusCode >= 500 && !(request as { [LOGGED]?: boolean })[LOGGED];
    if (!failed && !debug) return; // the hot path builds nothing
    const line = { method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    // A 503 is expected (a dependency is down, not ready, shutting down): warn, not error.
    if (failed) request.log[reply.statusCode === 503 ? 'warn' : 'error'](line, 'request failed');
    else request.log.debug(line, 'request');
  });

  opts.metrics?.instrument(app);
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).header('cache-control', 'no-store').send({ error: 'not_found', error_description: 'no such endpoint' });
  });

  registerHealth(app, server);

  const realmOf = (request: FastifyRequest): RealmConfig | undefined => {
    const name = (request.params as { realm?: string }).realm ?? DEFAULT_REALM;
    return name === DEFAULT_REALM && (request.params as { realm?: string }).realm !== undefined ? undefined : server.realm(name);
  };
  const notFound = (reply: FastifyReply) => reply.code(404).header('cache-control', 'no-store').send({ error: 'not_found', error_description: 'no such realm' });

  const endpoint = (kind: Endpoint) => async (request: FastifyRequest, reply: FastifyReply) => {
    const realm = realmOf(request);
    if (!realm) return notFound(reply);
    const params = request.body;
    if (!(params instanceof Map)) throw new InvalidRequestError('the request body must be application/x-www-form-urlencoded');
    const query = request.query as Record<string, unknown>;
    if (CREDENTIAL_PARAMS.some((p) => p in query)) throw new InvalidRequestError('credentials and tokens must not be sent in the query string');
    const input = { realm, params, authorization: request.headers.authorization, source: request.ip };
    reply.headers(NO_STORE);
    if (kind === 'token') return reply.send(await server.token(input));
    if (kind === 'introspect') return reply.send(await server.introspect(input));
    await server.revoke(input);
    return reply.code(200).send();
  };

  const methodNotAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(405).headers({ allow: 'POST', ...NO_STORE }).send({ error: 'invalid_request', error_description: 'use POST' });

  for (const prefix of ['', '/realms/:realm']) {
    for (const [path, kind] of [['/oauth2/token', 'token'], ['/oauth2/introspect', 'introspect'], ['/oauth2/revoke', 'revoke']] as const) {
      app.post(prefix + path, endpoint(kind));
      app.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH'], url: prefix + path, handler: methodNotAllowed });
    }
    app.get(prefix + '/jwks', async (request, reply) => {
      const realm = realmOf(request);
      if (!realm) return notFound(reply);
      return reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(server.jwks(realm.name));
    });
  }

  registerAmAliases(app, server, { token: endpoint('token'), introspect: endpoint('introspect'), revoke: endpoint('revoke') });

  const metadata = async (request: FastifyRequest, reply: FastifyReply) => {
    const realm = realmOf(request);
    const doc = realm && server.metadata(realm.name);
    if (!doc) return notFound(reply);
    return reply.header('cache-control', 'public, max-age=300').send(doc);
  };
  for (const doc of ['oauth-authorization-server', 'openid-configuration']) {
    app.get(`/.well-known/${doc}`, metadata);
    app.get(`/.well-known/${doc}/realms/:realm`, metadata); // RFC 8414 §3: path-inserted
    app.get(`/realms/:realm/.well-known/${doc}`, metadata); // appended, as OpenID discovery does
  }
  if (opts.admin !== false) app.register(adminPlugin, { prefix: ADMIN_PREFIX, server });
  if (opts.admin !== false) app.register(consolePlugin, { prefix: CONSOLE_PREFIX, server });
  return app;
}

/**
 * http.trust_proxy as Fastify takes it. A hop count becomes "trust the nearest n addresses"
 * (Fastify 5 ignores a bare number: it cannot check the peer is a proxy, so the docs say to use a
 * count only when Tessera is reachable through its proxies alone); ranges go to proxy-addr.
 */
function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  let oauth: OAuthError;
  let status: number;
  if (error instanceof OAuthError) {
    oauth = error;
    status = error.status;
  } else if (error instanceof StorageUnavailableError) {
    oauth = new TemporarilyUnavailableError('the service is temporarily unavailable', error.message);
    status = 503;
  } else {
    const e = error as { statusCode?: number; code?: string; message?: string };
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      status = e.statusCode;
      const description = status === 413 ? 'request body too large' : status === 415 ? 'unsupported content type' : 'malformed request';
      oauth = new InvalidRequestError(description, `${e.code ?? ''} ${e.message ?? ''}`);
      if (status === 415) status = 400;
    } else {
      request.log.error({ err: error, method: request.method, path: request.url.split('?')[0] }, 'unexpected error');
      oauth = new ServerError('');
      status = 500;
    }
  }
  if (status < 500) request.log.info({ error: oauth.error, detail: oauth.detail ?? oauth.description, ...(oauth.reason ? { reason: oauth.reason, facts: oauth.facts } : {}) }, 'oauth error');
  else if (oauth instanceof TemporarilyUnavailableError && !(oauth instanceof ShuttingDownError)) request.log.warn({ detail: oauth.detail, method: request.method, path: request.url.split('?')[0] }, 'dependency unavailable');
  if (status >= 500) (request as { [LOGGED]?: boolean })[LOGGED] = true;
  reply.code(status).headers(NO_STORE);
  // RFC 6749 §5.2: a client that tried the Authorization header gets a challenge for the scheme
  // Tessera supports there. Clients that authenticated in the body get none, as other servers do
  // (a Basic challenge would make OAuth libraries report a challenge instead of the error).
  if (status === 401 && request.headers.authorization !== undefined) reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
  if (oauth instanceof TemporarilyUnavailableError || oauth instanceof TooManyAttemptsError) reply.header('retry-after', String(oauth.retryAfterSeconds));
  return reply.send(oauth.toJSON());
}
