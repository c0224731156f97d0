/**
 * Connection hygiene for the HTTP server (issue 13 item 2): a cap on open connections per source
 * address (the TCP peer; IPv6 per /64), and a prompt shutdown that closes at once every connection
 * with no request being handled (idle keep-alive, slow or stalled headers and bodies) while
 * requests already in a handler get a short grace before everything is closed.
 * The timeouts themselves (request, headers, keep-alive) are server options set in app.ts.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sourceKey } from '../core/limits/source.ts';

interface Guard {
  sockets: Set<Socket>;
  busy: Map<Socket, number>;
}

const guards = new WeakMap<FastifyInstance, Guard>();

export function guardConnections(app: FastifyInstance, maxPerSource: number): void {
  const guard: Guard = { sockets: new Set(), busy: new Map() };
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
      guard.busy.delete(socket);
      const left = (perSource.get(source) ?? 1) - 1;
      if (left <= 0) perSource.delete(source);
      else perSource.set(source, left);
    });
  });
  // A request counts as "being handled" from the moment its body is parsed until its response ends.
  // (callback-style hooks: cheaper than async ones on the hot path)
  app.addHook('preHandler', (request, _reply, done) => {
    const s = request.raw.socket;
    guard.busy.set(s, (guard.busy.get(s) ?? 0) + 1);
    done();
  });
  app.addHook('onResponse', (request, _reply, done) => {
    const s = request.raw.socket;
    const n = (guard.busy.get(s) ?? 0) - 1;
    if (n > 0) guard.busy.set(s, n);
    else guard.busy.delete(s);
    done();
  });
}

/**
 * Stops the server promptly: stop accepting, destroy every connection with no request in a
 * handler, give handled requests `graceMs`, then destroy whatever is left. Resolves when closed.
 */
export async function closeGracefully(app: FastifyInstance, graceMs: number): Promise<void> {
  const guard = guards.get(app);
  const closing = app.close();
  if (guard) for (const s of guard.sockets) if (!guard.busy.has(s)) s.destroy();
  const force = setTimeout(() => app.server.closeAllConnections?.(), graceMs);
  force.unref();
  try {
    await closing;
  } finally {
    clearTimeout(force);
  }
}

/** Open connections the guard knows (tests and metrics). */
export function openConnections(app: FastifyInstance): number {
  return guards.get(app)?.sockets.size ?? 0;
}
