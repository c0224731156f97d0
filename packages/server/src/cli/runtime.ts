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
import type { Metrics } from '../http/metrics.ts';

type Env = Record<string, string | undefined>;

/** Reads the config file (YAML or JSON) and applies environment overrides, then validates. */
export function loadConfig(file: string | undefined, env: Env = process.env): ResolvedConfig {
  let raw: Record<string, unknown> = {};
  const path = file ?? env.TESSERA_CONFIG;
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new TypeError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
    const parsed: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new TypeError(`config file ${path}: must be a mapping`);
    raw = (parsed as Record<string, unknown>) ?? {};
  }
  const set = (section: string | undefined, key: string, value: unknown) => {
    if (value === undefined) return;
    if (!section) raw[key] = value;
    else raw[section] = { ...((raw[section] as object) ?? {}), [key]: value };
  };
  set(undefined, 'issuer', env.TESSERA_ISSUER);
  set('listen', 'host', env.TESSERA_HOST);
  const port = env.TESSERA_PORT ?? env.PORT;
  if (port !== undefined) {
    if (!/^\d+$/.test(port)) throw new TypeError(`TESSERA_PORT: not a port number: ${port}`);
    set('listen', 'port', Number(port));
  }
  set('storage', 'url', env.TESSERA_STORAGE_URL ?? env.DATABASE_URL);
  set('storage', 'redis', env.TESSERA_REDIS_URL ?? env.REDIS_URL);
  set('log', 'level', env.TESSERA_LOG_LEVEL);
  set('kek', 'file', env.TESSERA_KEK_FILE);
  const hostPort = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const m = /^(?:(.+):)?(\d{1,5})$/.exec(value);
    if (!m) throw new TypeError(`${name}: expected [host:]port, got ${value}`);
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
  return resolveConfig(raw);
}

/**
 * The key-encryption key: TESSERA_KEK (base64url or hex, 32 bytes) when set, else the key file,
 * generated with mode 0600 on first use.
 */
export function loadKek(config: ResolvedConfig, env: Env = process.env): KeyEncryptionKey {
  if (env.TESSERA_KEK) return createKek(parseKek(env.TESSERA_KEK));
  const file = resolvePath(config.kekFile);
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
  return createKek(parseKek(readFileSync(file, 'utf8')));
}

/**
 * Opens the backend a storage URL names: `sqlite:PATH`, `memory:`, or `postgres://…` (with Redis for
 * the replay store and change feed when `redisUrl` or the URL's `?redis=` names one).
 */
export async function openStorage(url: string, redisUrl?: string): Promise<Storage> {
  if (url === 'memory:' || url === 'memory') return createMemoryStorage();
  if (url.startsWith('sqlite:')) return createSqliteStorage({ path: resolvePath(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')) });
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { createPostgresStorage } = await import('../storage/postgres/index.ts');
    return createPostgresStorage({ url, redis: redisUrl });
  }
  throw new TypeError(`storage.url: unsupported scheme in ${url} (use sqlite:PATH, memory: or postgres://)`);
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

/** Opens storage and builds the core facade; `bootstrap` upserts the clients the config declares. */
export async function openRuntime(configFile: string | undefined, opts: { bootstrap: boolean; metrics?: Metrics | undefined }): Promise<Runtime> {
  const config = loadConfig(configFile);
  const kek = loadKek(config);
  const opened = await openStorage(config.storageUrl, config.redisUrl);
  const storage = opts.metrics ? opts.metrics.instrumentStorage(opened) : opened;
  // With Redis, failed-authentication counts are shared by every instance; else per process.
  const limiter = storage.limiter ?? createMemoryRateLimiter();
  const close = async () => {
    if (!storage.limiter) await limiter.close();
    await storage.close();
  };
  try {
    const server = await AuthorizationServer.create({ config, storage, kek, limiter, bootstrap: opts.bootstrap, ...(opts.metrics ? { observer: opts.metrics.observer } : {}) });
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
