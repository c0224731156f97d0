/**
 * Helpers of the cluster and fault tests: real `tessera serve` processes (bin/tessera.mjs) and
 * `tessera` CLI runs on shared storage, a fresh PostgreSQL schema and Redis key prefix per run
 * (removed afterwards), a TCP proxy to cut a backend off, and OAuth requests as clients send them.
 *
 * The tests need PostgreSQL and Redis and fail (never skip) when one is unreachable. Override the
 * servers with TESSERA_TEST_POSTGRES_URL and TESSERA_TEST_REDIS_URL.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { Redis } from 'ioredis';
import { AuthThrottle } from '../../packages/server/src/core/client-auth/throttle.ts';
import { assertionClaims, basic, form, generateTestKey, JWT_BEARER, signAssertion, type TestKey } from '../fixtures/assertions.ts';

export const BIN = new URL('../../packages/server/bin/tessera.mjs', import.meta.url).pathname;
export const PG_URL = process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TESSERA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type Env = Record<string, string | undefined>;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- backends ------------------------------------------------------------------------------

let pgAdmin: postgres.Sql | undefined;
let redisAdmin: Redis | undefined;
const admin = () => (pgAdmin ??= postgres(PG_URL, { max: 2, onnotice: () => {}, connect_timeout: 3, idle_timeout: 5 }));
const redis = () => {
  if (!redisAdmin) {
    redisAdmin = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
    redisAdmin.on('error', () => {});
  }
  return redisAdmin;
};

let reachable: Promise<void> | undefined;
/** Rejects with a clear message when PostgreSQL or Redis is down: the tests fail, never skip. */
export function requireServers(): Promise<void> {
  return (reachable ??= (async () => {
    try {
      await admin()`SELECT 1`;
    } catch (error) {
      throw new Error(`PostgreSQL is not reachable at ${PG_URL} (${(error as Error).message}); start it or set TESSERA_TEST_POSTGRES_URL`);
    }
    try {
      if (redis().status === 'wait') await redis().connect();
      await redis().ping();
    } catch (error) {
      throw new Error(`Redis is not reachable at ${REDIS_URL} (${(error as Error).message}); start it or set TESSERA_TEST_REDIS_URL`);
    }
  })());
}

/** A schema name no other run uses. */
export const uniqueSchema = () => `cluster_${process.pid}_${randomBytes(4).toString('hex')}`;

/** The postgres:// URL of a schema, optionally through another port on 127.0.0.1. */
export function schemaUrl(schema: string, port?: number): string {
  const url = new URL(PG_URL);
  if (port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(port);
  }
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** A redis:// URL for another port on 127.0.0.1 (a proxy). */
export function redisUrl(port?: number): string {
  if (port === undefined) return REDIS_URL;
  const url = new URL(REDIS_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

/** The Redis key prefix createPostgresStorage derives for a schema: `tessera:<database>:<schema>:`. */
export function redisPrefixOf(schema: string): string {
  const database = decodeURIComponent(new URL(PG_URL).pathname.slice(1)) || 'postgres';
  return `tessera:${database}:${schema}:`;
}

/** A glob matching exactly `text` (Redis MATCH / KEYS syntax). */
const literal = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * The Redis patterns a run leaves keys under: the schema's prefix (replay records, change feed),
 * and the failed-authentication counters of its clients, which the server keeps under the fixed
 * prefix `tessera:{limit}:` keyed by realm, client id and source address.
 */
function runPatterns(schema: string, clientIds: readonly string[]): string[] {
  // Throttle counters are keyed by a hash of (realm, client id, source): the instances see loopback.
  return [literal(redisPrefixOf(schema)) + '*', ...clientIds.map((id) => literal(`tessera:{limit}:${AuthThrottle.key('default', id, '127.0.0.1').pair}`))];
}

/** A client id of a run: unique, so that runs sharing a Redis never share throttle counters. */
export const runClientId = (schema: string, name: string) => `${name}-${schema.slice(-8)}`;

/** Drops the schema and deletes the run's Redis keys (see runPatterns). */
export async function dropBackends(schema: string, clientIds: readonly string[] = []): Promise<void> {
  await requireServers();
  await admin()`DROP SCHEMA IF EXISTS ${admin()(schema)} CASCADE`;
  for (const pattern of runPatterns(schema, clientIds)) {
    let cursor = '0';
    do {
      const [next, keys] = await redis().scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) await redis().del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

/** How many Redis keys a run holds: under the schema's prefix, and the throttle counters of `clientIds`. */
export async function redisKeyCount(schema: string, clientIds: readonly string[] = []): Promise<number> {
  let count = 0;
  for (const pattern of runPatterns(schema, clientIds)) count += (await redis().keys(pattern)).length;
  return count;
}

/** Closes the helpers' own connections (call in the file's after()). */
export async function closeAdmin(): Promise<void> {
  await pgAdmin?.end({ timeout: 5 });
  pgAdmin = undefined;
  redisAdmin?.disconnect();
  redisAdmin = undefined;
  reachable = undefined;
}

// ---- processes -----------------------------------------------------------------------------

const children = new Set<ChildProcess>();

/** A key-encryption key: every instance sharing a database must use the same one. */
export const newKek = () => randomBytes(32).toString('hex');

/** A temporary directory (the processes' working directory), removed by `cleanupDirs`. */
const dirs: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cluster-'));
  dirs.push(dir);
  return dir;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The environment of a tessera process: nothing inherited but PATH and HOME. */
export function baseEnv(extra: Env): Env {
  return { PATH: process.env.PATH, HOME: process.env.HOME, TESSERA_DEMO_CLIENT: 'false', TESSERA_LOG_LEVEL: 'info', ...extra };
}

export interface Instance {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  /** What the process wrote (stdout and stderr; the last 256 KiB). */
  output(): string;
  /** Log lines (pino JSON) with this `msg`. */
  logs(msg: string): Array<Record<string, unknown>>;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits for the exit; resolves the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

const OUTPUT_LIMIT = 256 * 1024;

/** Starts `tessera serve` and resolves once it logs "tessera listening". */
export async function startInstance(opts: { name: string; env: Env; port?: number; args?: string[]; cwd?: string; timeoutMs?: number }): Promise<Instance> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [BIN, 'serve', ...(opts.args ?? [])], {
    env: baseEnv({ TESSERA_PORT: String(port), ...opts.env }),
    cwd: opts.cwd ?? tempDir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let listening = false;
  const append = (chunk: Buffer) => {
    out += chunk.toString();
    if (!listening && out.includes('tessera listening')) listening = true;
    if (out.length > OUTPUT_LIMIT * 2) out = out.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const instance: Instance = {
    name: opts.name,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    logs: (msg) =>
      out
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            return {};
          }
        })
        .filter((line) => line.msg === msg),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return (await exited).code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!listening) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${opts.name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${out}`);
    if (Date.now() > deadline) {
      await instance.kill();
      throw new Error(`${opts.name} did not start within ${opts.timeoutMs ?? 30_000} ms:\n${out}`);
    }
    await sleep(25);
  }
  return instance;
}

/** SIGKILLs every process still running (a test's cleanup after a failure) and removes temp dirs. */
export async function killAll(): Promise<void> {
  const waits = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Date.now() when the command first wrote to stdout (its answer: the change is done and published). */
  answeredAt: number | undefined;
}

/** Runs `tessera ARGS` with the given environment. */
export function runCli(args: string[], env: Env, cwd?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv(env), cwd: cwd ?? tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let answeredAt: number | undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      answeredAt ??= Date.now();
      stdout += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr, answeredAt });
    });
  });
}

/**
 * Runs a CLI command that must succeed and resolves as soon as its JSON answer is complete on
 * stdout (the change is done and published), while the process may still be closing its storage
 * connections: a propagation deadline counts from then. `exited` settles when the process has
 * exited with code 0 (it rejects otherwise); await it before the test ends.
 */
export function cliAnswer<T = Record<string, unknown>>(args: string[], env: Env, cwd?: string): Promise<{ value: T; answeredAt: number; exited: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv(env), cwd: cwd ?? tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let answered = false;
    const exited = new Promise<void>((done, fail) => {
      child.once('exit', (code) => {
        children.delete(child);
        if (code === 0) done();
        else fail(new Error(`tessera ${args.join(' ')} exited with ${code}: ${stderr}`));
        if (!answered) reject(new Error(`tessera ${args.join(' ')} exited (${code}) without a JSON answer: ${stdout}${stderr}`));
      });
    });
    exited.catch(() => undefined); // reported through the answer (above) or by whoever awaits it
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (answered) return;
      let value: T;
      try {
        value = JSON.parse(stdout) as T;
      } catch {
        return; // not complete yet
      }
      answered = true;
      resolve({ value, answeredAt: Date.now(), exited });
    });
  });
}

/** Runs a CLI command that must succeed; resolves its JSON answer and when it was written. */
export async function cliJson<T = Record<string, unknown>>(args: string[], env: Env, cwd?: string): Promise<{ value: T; answeredAt: number }> {
  const result = await runCli(args, env, cwd);
  assert.equal(result.code, 0, `tessera ${args.join(' ')} failed: ${result.stderr}`);
  return { value: JSON.parse(result.stdout) as T, answeredAt: result.answeredAt! };
}

// ---- a TCP proxy -----------------------------------------------------------------------------


export { TcpProxy } from '../fixtures/tcp-proxy.ts';

// ---- OAuth requests --------------------------------------------------------------------------

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function post(url: string, body: string, headers: Record<string, string> = {}, timeoutMs = 15_000): Promise<HttpAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** client_credentials with client_secret_basic. */
export const tokenBasic = (base: string, clientId: string, secret: string, timeoutMs?: number) =>
  post(`${base}/oauth2/token`, form({ grant_type: 'client_credentials' }), { authorization: basic(clientId, secret) }, timeoutMs);

/** client_credentials with a (possibly prepared) private_key_jwt assertion. */
export const tokenAssertion = (base: string, clientId: string, assertion: string, timeoutMs?: number) =>
  post(`${base}/oauth2/token`, form({ grant_type: 'client_credentials', client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: assertion }), {}, timeoutMs);

export const introspect = (base: string, clientId: string, secret: string, token: string) =>
  post(`${base}/oauth2/introspect`, form({ token }), { authorization: basic(clientId, secret) });

export const revoke = (base: string, clientId: string, secret: string, token: string, timeoutMs?: number) =>
  post(`${base}/oauth2/revoke`, form({ token, token_type_hint: 'access_token' }), { authorization: basic(clientId, secret) }, timeoutMs);

/** A private_key_jwt client: its key and a fresh assertion (unique jti) for an audience. */
export interface JwtClient {
  clientId: string;
  key: TestKey;
  assertion(aud: string): string;
}

export function jwtClient(clientId = `jwt-${randomUUID().slice(0, 8)}`): JwtClient {
  const key = generateTestKey('ES256');
  return {
    clientId,
    key,
    assertion: (aud) => signAssertion({ alg: 'ES256', kid: key.kid, typ: 'JWT' }, assertionClaims(clientId, aud), key.privateKey),
  };
}

/** The JSON payload and header of a JWT, unverified. */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

/** Polls `check` every `everyMs` until it resolves true; resolves the elapsed ms, or fails at `timeoutMs`. */
export async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000, everyMs = 100): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
