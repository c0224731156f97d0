/**
 * Connection hygiene for the HTTP server (issue 13 item 2): a cap on open connections per source
 * address (the TCP peer; IPv6 per /64), and a prompt shutdown that closes idle connections at once
 * while requests in progress get a short grace before everything is closed.
 * The timeouts themselves (request, headers, keep-alive) are server options set in app.ts.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sourceKey } from '../core/limits/source.ts';
import type { ResolvedConfig } from '../core/config/index.ts';

/**
 * Fastify options every listener shares (public, admin, management): trust_proxy and the request,
 * headers and keep-alive timeouts of `http`.
 */
export function listenerOptions(config: Pick<ResolvedConfig, 'trustProxy' | 'httpLimits'>): Record<string, unknown> {
  const limits = config.httpLimits;
  return {
    trustProxy: trustProxyOption(config.trustProxy),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs) },
  };
}

function trustProxyOption(tp: false | number | readonly string[]): false | string[] | ((address: string, hop: number) => boolean) {
  if (tp === false) return false;
  if (typeof tp === 'number') return (_address, hop) => hop < tp;
  return [...tp];
}

interface Guard {
  sockets: Set<Socket>;
  closing: boolean;
}

const guards = new WeakMap<FastifyInstance, Guard>();

/** Returns the app's shutdown state: `closing` turns true when closeGracefully() begins. */
export function guardConnections(app: FastifyInstance, maxPerSource: number): { readonly closing: boolean } {
  const guard: Guard = { sockets: new Set(), closing: false };
  guards.set(app, guard);
  const perSource = new Map<string, number>();
  app.server.on('connection', (socket: Socket) => {
    const source = sourceKey(socket.remoteAddress);
    const open = (perSource.get(source) ?? 0) + 1;
    if (maxPerSource > 0 && open > maxPerSource) {
      app.log.warn({ source, open: open - 1, max: maxPerSource }, 'connection refused: too many open connections from this source');
      socket.destroy();
      return;
    }
    perSource.set(source, open);
    guard.sockets.add(socket);
    socket.once('close', () => {
      guard.sockets.delete(socket);
      const left = (perSource.get(source) ?? 1) - 1;
      if (left <= 0) perSource.delete(source);
      else perSource.set(source, left);
    });
  });
  // Answers given while shutting down tell the client not to reuse the connection.
  app.addHook('onSend', (_request, reply, _payload, done) => {
    if (guard.closing) reply.header('connection', 'close');
    done();
  });
  return guard;
}

/** How often a closing server closes connections that became idle; also how long a silent one gets. */
const SILENT_CHECK_MS = 250;

/**
 * Stops the server promptly: stop accepting, close every connection with no request in progress
 * (idle keep-alive at once; one that has read nothing after SILENT_CHECK_MS), let requests being
 * read or handled finish within `graceMs`, then destroy whatever is left. A client halfway through sending a body
 * when the signal comes still gets its answer; a stalled or slow-drip peer holds the shutdown for
 * `graceMs` at most. Resolves when closed.
 */
export async function closeGracefully(app: FastifyInstance, graceMs: number): Promise<void> {
  const guard = guards.get(app);
  if (guard) guard.closing = true;
  const closing = app.close();
  app.server.closeIdleConnections?.();
  // Node counts a connection that has read nothing yet as busy: close those too, at the next check.
  // Not at once: a request that reached this machine just before the signal may wait to be read
  // (on a busy event loop), and resetting it would fail a request sent in time.
  const silent = new Set(guard ? [...guard.sockets].filter((s) => s.bytesRead === 0) : []);
  // Idle keep-alive connections that finish a request during the grace close after their answer
  // (server.close() sets Connection: close); check again shortly in case one slipped between.
  const idle = setInterval(() => {
    app.server.closeIdleConnections?.();
    for (const s of silent) if (s.bytesRead === 0) s.destroy();
    silent.clear();
  }, SILENT_CHECK_MS);
  idle.unref();
  const force = setTimeout(() => app.server.closeAllConnections?.(), graceMs);
  force.unref();
  try {
    await closing;
  } finally {
    clearInterval(idle);
    clearTimeout(force);
  }
}

/** Open connections the guard knows (tests and metrics). */
export function openConnections(app: FastifyInstance): number {
  return guards.get(app)?.sockets.size ?? 0;
}
