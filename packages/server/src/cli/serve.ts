/**
 * `tessera serve`: the server process. Listens, prints a demo client once on a fresh install,
 * purges expired revocations and replay entries, and shuts down gracefully on SIGTERM/SIGINT:
 * stop accepting, finish in-flight requests, close storage, exit 0 (bounded by a deadline).
 */
import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../http/app.ts';
import { closeGracefully } from '../http/connections.ts';
import { buildAdminApp } from '../http/admin/index.ts';
import { buildManagementApp } from '../http/management.ts';
import { Metrics } from '../http/metrics.ts';
import { DEFAULT_REALM } from '../core/config/index.ts';
import { createLogger, loadConfig, openRuntime, type Runtime } from './runtime.ts';
import { listenError } from './exit.ts';

export const DEMO_CLIENT_ID = 'demo-client';
const SHUTDOWN_DEADLINE_MS = 10_000;

export interface ServeOptions {
  /** Worker processes sharing the port (node:cluster); 1 serves in this process. */
  workers?: number;
  /** Port to listen on; wins over the file and the environment. */
  port?: number;
}

export async function serve(configFile: string | undefined, opts: ServeOptions = {}): Promise<void> {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new TypeError('--workers must be a whole number from 1 to 64');
  if (workers > 1 && cluster.isPrimary) return primary(configFile, workers, opts.port);

  const started = performance.now();
  // In a cluster the primary has migrated, created keys and bootstrapped clients already.
  const overrides = { port: opts.port ?? workerPort() };
  const preview = loadConfig(configFile, process.env, overrides);
  const metrics = preview.metrics.enabled ? new Metrics({ perClient: preview.metrics.perClient, gcDurations: preview.metrics.gcDurations }) : undefined;
  const runtime = await openRuntime(configFile, { bootstrap: cluster.isPrimary, serves: true, overrides, metrics });
  const { config, server } = runtime;
  const logger = createLogger(config.logLevel);
  if (cluster.isPrimary) await ensureDemoClient(runtime);

  const app = buildApp(server, { logger, admin: config.admin.listen === undefined, metrics });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await app.close().catch(() => {});
    await runtime.close().catch(() => {});
    throw listenError(err, config.listen.host, config.listen.port);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  logger.info({ issuer: config.issuer, host: config.listen.host, port, storage: runtime.storage.kind, startupMs: Math.round(performance.now() - started) }, 'tessera listening');

  const extra: FastifyInstance[] = [];
  if (config.admin.listen) {
    const adminApp = buildAdminApp(server, { logger });
    metrics?.instrument(adminApp);
    try {
      await adminApp.listen(config.admin.listen);
    } catch (err) {
      // The admin listener was asked for explicitly: no serving without it.
      await Promise.all([adminApp.close(), app.close()]).catch(() => {});
      await runtime.close().catch(() => {});
      throw listenError(err, config.admin.listen.host, config.admin.listen.port);
    }
    extra.push(adminApp);
    logger.info({ host: config.admin.listen.host, port: listeningPort(adminApp) }, 'admin API listening');
  }
  if (config.management.listen) {
    // The management port is not worth refusing to serve tokens for: a bind failure is logged.
    const mgmt = buildManagementApp(server, { logger, metrics });
    try {
      await mgmt.listen(config.management.listen);
      extra.push(mgmt);
      logger.info({ host: config.management.listen.host, port: listeningPort(mgmt) }, 'management listening (/metrics, /healthz, /readyz)');
    } catch (err) {
      logger.error({ err: String(err), ...config.management.listen }, 'management listener could not start; serving without it');
      await mgmt.close().catch(() => undefined);
    }
  }

  const purge = setInterval(() => void server.purgeExpired().catch((err) => logger.warn({ err: String(err) }, 'purge failed')), 60_000);
  purge.unref();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    clearInterval(purge);
    try {
      await Promise.all([app, ...extra].map((a) => closeGracefully(a, config.httpLimits.shutdownGraceMs)));
      await runtime.close();
      logger.info('stopped');
      logger.flush?.();
      process.exit(0);
    } catch (err) {
      logger.error({ err: String(err) }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

function listeningPort(app: FastifyInstance): number | undefined {
  const a = app.server.address();
  return typeof a === 'object' && a ? a.port : undefined;
}

/** Creates the demo client on a fresh install (no client in the default realm), printing it once. */
async function ensureDemoClient(runtime: Runtime): Promise<void> {
  const { config, server } = runtime;
  if (!config.demoClient || (await runtime.storage.clients.count(DEFAULT_REALM)) > 0) return;
  const created = await server.createClient(DEFAULT_REALM, {
    client_id: DEMO_CLIENT_ID,
    client_name: 'Demo client (created on first start)',
    scope: 'demo',
    token_endpoint_auth_method: 'client_secret_basic',
  });
  printDemo(config.issuer, created.client_secret!);
}

/**
 * The cluster primary: prepares storage once (migrations, keys, configured clients, demo client),
 * then forks the workers, replaces any that dies, and on SIGTERM/SIGINT stops them all gracefully.
 */
async function primary(configFile: string | undefined, workers: number, port: number | undefined): Promise<void> {
  const runtime = await openRuntime(configFile, { bootstrap: true, overrides: { port } });
  const logger = createLogger(runtime.config.logLevel);
  if (runtime.storage.kind === 'memory') {
    await runtime.close();
    throw new TypeError('--workers needs shared storage (sqlite: or postgres://), not memory:');
  }
  await ensureDemoClient(runtime);
  await runtime.close();

  let stopping = false;
  const fork = () => cluster.fork(port === undefined ? {} : { TESSERA_SERVE_PORT: String(port) });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    fork();
  });
  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers }, 'tessera cluster started');
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS + 1000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** A cluster worker's port from `serve --port` of its primary. */
function workerPort(): number | undefined {
  const port = cluster.isPrimary ? undefined : process.env.TESSERA_SERVE_PORT;
  return port === undefined ? undefined : Number(port);
}

function printDemo(issuer: string, secret: string): void {
  process.stdout.write(
    [
      '',
      'A demo client was created (shown once; the secret is stored only as a hash):',
      `  client_id:     ${DEMO_CLIENT_ID}`,
      `  client_secret: ${secret}`,
      '',
      'Get a token:',
      `  curl -s -u '${DEMO_CLIENT_ID}:${secret}' -d grant_type=client_credentials ${issuer}/oauth2/token`,
      '',
    ].join('\n') + '\n',
  );
}
