/**
 * `tessera serve`: the server process. Listens, prints a demo client once on a fresh install,
 * purges expired revocations and replay entries, and shuts down gracefully on SIGTERM/SIGINT:
 * stop accepting, finish in-flight requests, close storage, exit 0 (bounded by a deadline).
 */
import { buildApp } from '../http/app.ts';
import { DEFAULT_REALM } from '../core/config/index.ts';
import { createLogger, openRuntime } from './runtime.ts';

export const DEMO_CLIENT_ID = 'demo-client';
const SHUTDOWN_DEADLINE_MS = 10_000;

export async function serve(configFile: string | undefined): Promise<void> {
  const started = performance.now();
  const runtime = await openRuntime(configFile, { bootstrap: true });
  const { config, server } = runtime;
  const logger = createLogger(config.logLevel);

  if (config.demoClient && (await runtime.storage.clients.count(DEFAULT_REALM)) === 0) {
    const created = await server.createClient(DEFAULT_REALM, {
      client_id: DEMO_CLIENT_ID,
      client_name: 'Demo client (created on first start)',
      scope: 'demo',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    printDemo(config.issuer, created.client_secret!);
  }

  const app = buildApp(server, { logger });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  logger.info({ issuer: config.issuer, host: config.listen.host, port, storage: runtime.storage.kind, startupMs: Math.round(performance.now() - started) }, 'tessera listening');

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
      await app.close();
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
