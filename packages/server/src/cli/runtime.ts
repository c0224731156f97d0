/**
 * Process-level wiring shared by every CLI command: configuration (file + environment), the
 * key-encryption key, the storage backend and the logger. The only code that reads process.env.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import pino, { type Logger } from 'pino';
import { resolveConfig, type ResolvedConfig } from '../core/config/index.ts';
import { createKek, parseKek, type KeyEncryptionKey } from '../core/crypto/kek.ts';
import type { Storage } from '../core/ports/index.ts';
import { AuthorizationServer } from '../core/server.ts';
import { createMemoryStorage } from '../storage/memory/index.ts';
import { createSqliteStorage } from '../storage/sqlite/index.ts';
import { createMemoryRateLimiter } from '../core/limits/memory-rate-limiter.ts';
import { StorageUnavailableError } from '../core/errors/index.ts';
import { EXIT, OperatorError, configSyntaxError, dataDirError, describeStorage, storageStartError } from './exit.ts';
import type { Metrics } from '../http/metrics.ts';

type Env = Record<string, string | undefined>;

/** Command-line settings that win over the file and the environment. */
export interface ConfigOverrides {
  port?: number;
}

/**
 * Reads the config file (YAML or JSON) and applies environment overrides, then validates. Every
 * mistake (unreadable file, syntax error, invalid value) is an OperatorError with exit code 4.
 */
export function loadConfig(file: string | undefined, env: Env = process.env, overrides: ConfigOverrides = {}): ResolvedConfig {
  let raw: Record<string, unknown> = {};
  const path = file ?? env.TESSERA_CONFIG;
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new OperatorError(EXIT.config, `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}: check the path given to --config or TESSERA_CONFIG`, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      throw configSyntaxError(err, path, text);
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new OperatorError(EXIT.config, `config file ${path}: must be a mapping of settings (see docs/configuration.md)`);
    raw = (parsed as Record<string, unknown>) ?? {};
  }
  const set = (section: string | undefined, key: string, value: unknown) => {
    if (value === undefined) return;
    if (!section) raw[key] = value;
    else raw[section] = { ...((raw[section] as object) ?? {}), [key]: value };
  };
  const whole = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new OperatorError(EXIT.config, `${name}: not a whole number: ${value}`);
    return Number(value);
  };
  set(undefined, 'issuer', env.TESSERA_ISSUER);
  set('listen', 'host', env.TESSERA_HOST);
  const port = env.TESSERA_PORT ?? env.PORT;
  if (port !== undefined && !/^\d+$/.test(port)) throw new OperatorError(EXIT.config, `TESSERA_PORT: not a port number: ${port}`);
  set('listen', 'port', overrides.port ?? (port === undefined ? undefined : Number(port)));
  set('storage', 'url', env.TESSERA_STORAGE_URL ?? env.DATABASE_URL);
  set('storage', 'redis', env.TESSERA_REDIS_URL ?? env.REDIS_URL);
  set('storage', 'wait_at_start', whole('TESSERA_STORAGE_WAIT', env.TESSERA_STORAGE_WAIT));
  set('log', 'level', env.TESSERA_LOG_LEVEL);
  set('kek', 'file', env.TESSERA_KEK_FILE);
  const hostPort = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const m = /^(?:(.+):)?(\d{1,5})$/.exec(value);
    if (!m) throw new OperatorError(EXIT.config, `${name}: expected [host:]port, got ${value}`);
    return { ...(m[1] ? { host: m[1] } : {}), port: Number(m[2]) };
  };
  const management = env.TESSERA_MANAGEMENT_LISTEN;
  if (management !== undefined) set('management', 'listen', management === 'off' || management === 'false' ? false : hostPort('TESSERA_MANAGEMENT_LISTEN', management));
  set('admin', 'listen', hostPort('TESSERA_ADMIN_LISTEN', env.TESSERA_ADMIN_LISTEN));
  const ssoSecret = env.TESSERA_CONSOLE_SSO_CLIENT_SECRET;
  if (ssoSecret !== undefined) {
    const consoleSection = (raw.console as Record<string, unknown> | undefined) ?? {};
    if (consoleSection.sso && typeof consoleSection.sso === 'object') raw.console = { ...consoleSection, sso: { ...(consoleSection.sso as object), client_secret: ssoSecret } };
  }
  if (env.TESSERA_DEMO_CLIENT !== undefined) set(undefined, 'demo_client', env.TESSERA_DEMO_CLIENT !== 'false' && env.TESSERA_DEMO_CLIENT !== '0');
  try {
    return resolveConfig(raw);
  } catch (err) {
    if (err instanceof TypeError) throw new OperatorError(EXIT.config, `${path ? `config file ${path}: ` : ''}${err.message.replace(/\n/g, '\n  ')}`, { cause: err });
    throw err;
  }
}

/**
 * The key-encryption key: TESSERA_KEK (base64url or hex, 32 bytes) when set, else the key file,
 * generated with mode 0600 on first use.
 */
export function loadKek(config: ResolvedConfig, env: Env = process.env): KeyEncryptionKey {
  if (env.TESSERA_KEK) return createKek(parseKek(env.TESSERA_KEK));
  const file = resolvePath(config.kekFile);
  try {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      try {
        writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
      } catch (err) {
        // Another process created it first: use theirs.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    chmodSync(file, 0o600);
  } catch (err) {
    throw dataDirError(err, file, 'kek.file (TESSERA_KEK_FILE)');
  }
  return createKek(parseKek(readFileSync(file, 'utf8')));
}

/**
 * Opens the backend a storage URL names: `sqlite:PATH`, `memory` (or `memory:`), or `postgres://…`
 * (with Redis for the replay store and change feed when `redisUrl` or the URL's `?redis=` names one).
 * An unreachable PostgreSQL is retried with backoff for `waitSeconds` (it may still be starting);
 * the failures an operator can fix are OperatorErrors (exit.ts).
 */
export async function openStorage(url: string, redisUrl?: string, waitSeconds = 0, onWait?: (message: string) => void): Promise<Storage> {
  if (url === 'memory:' || url === 'memory') return createMemoryStorage();
  if (url.startsWith('sqlite:')) {
    const path = resolvePath(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''));
    try {
      return createSqliteStorage({ path });
    } catch (err) {
      throw dataDirError(err, path, 'storage.url (TESSERA_STORAGE_URL)');
    }
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { createPostgresStorage } = await import('../storage/postgres/index.ts');
    const deadline = Date.now() + waitSeconds * 1000;
    for (let attempt = 0; ; attempt++) {
      try {
        return await createPostgresStorage({ url, redis: redisUrl });
      } catch (err) {
        const left = deadline - Date.now();
        if (!(err instanceof StorageUnavailableError) || left <= 0) throw storageStartError(err, url);
        if (attempt === 0) onWait?.(`${describeStorage(url)} is not reachable yet (${(err.cause as Error | undefined)?.message ?? err.message}); retrying for up to ${waitSeconds} s`);
        await new Promise((r) => setTimeout(r, Math.min(left, 250 * 2 ** Math.min(attempt, 3))));
      }
    }
  }
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
  throw new OperatorError(EXIT.config, `storage.url: unsupported ${scheme ? `scheme ${scheme}` : 'value (no scheme)'}: use sqlite:PATH, memory or postgres://…`);
}

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'tessera' },
    redact: { paths: ['authorization', '*.authorization', 'client_secret', '*.client_secret', 'client_assertion', '*.client_assertion', 'token', '*.token', 'access_token', '*.access_token'], censor: '[redacted]' },
  });
}

export interface Runtime {
  config: ResolvedConfig;
  storage: Storage;
  server: AuthorizationServer;
  close(): Promise<void>;
}

/**
 * Opens storage and builds the core facade; `bootstrap` upserts the clients the config declares,
 * `serves` (a server, not a CLI command) prepares what answering requests needs.
 */
export async function openRuntime(configFile: string | undefined, opts: { bootstrap: boolean; serves?: boolean; overrides?: ConfigOverrides; metrics?: Metrics | undefined }): Promise<Runtime> {
  const config = loadConfig(configFile, process.env, opts.overrides);
  const kek = loadKek(config);
  const opened = await openStorage(config.storageUrl, config.redisUrl, config.storageWaitAtStartSeconds, (message) => process.stderr.write(`tessera: ${message}\n`));
  const storage = opts.metrics ? opts.metrics.instrumentStorage(opened) : opened;
  // With Redis, failed-authentication counts are shared by every instance; else per process.
  const limiter = storage.limiter ?? createMemoryRateLimiter();
  const close = async () => {
    if (!storage.limiter) await limiter.close();
    await storage.close();
  };
  try {
    const server = await AuthorizationServer.create({ config, storage, kek, limiter, bootstrap: opts.bootstrap, serves: opts.serves ?? false, ...(opts.metrics ? { observer: opts.metrics.observer } : {}) });
    opts.metrics?.bind(server);
    return {
      config,
      storage,
      server,
      close: async () => {
        server.close();
        await close();
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
