/**
 * The three servers under test as child processes: start (timed from spawn to the first token
 * served), sample memory from /proc, stop. Every child is tracked, so an aborted harness still
 * stops what it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree } from './cpu.ts';
import { tesseraConfigYaml, type Fixture } from './fixtures.ts';

export type ServerName = 'tessera' | 'oidc-provider' | 'ceiling';
export const SERVER_NAMES: readonly ServerName[] = ['tessera', 'oidc-provider', 'ceiling'];
export const SERVER_LABELS: Record<ServerName, string> = {
  tessera: 'Tessera (SQLite)',
  'oidc-provider': 'oidc-provider',
  ceiling: 'ceiling (node:http)',
};

/** Endpoint paths of each server. */
export const PATHS: Record<ServerName, { token: string; introspect: string; jwks: string }> = {
  tessera: { token: '/oauth2/token', introspect: '/oauth2/introspect', jwks: '/jwks' },
  'oidc-provider': { token: '/token', introspect: '/token/introspection', jwks: '/jwks' },
  ceiling: { token: '/token', introspect: '/introspect', jwks: '/jwks' },
};

export const ROOT = new URL('../../', import.meta.url).pathname;

export interface RunningServer {
  name: ServerName;
  port: number;
  origin: string;
  issuer: string;
  pid: number;
  child: ChildProcess;
  /** Milliseconds from spawn() to the first 200 token response. */
  startupMs: number;
  dir: string;
  stderr: () => string;
  /** Tessera only: its SQLite file (undefined on PostgreSQL). */
  sqlitePath?: string;
  /** Tessera only: whether it ran the compiled dist/ build (else the sources through tsx). */
  fromDist?: boolean;
}

/** How many Tessera starts ran the compiled dist/ build, and how many the sources through tsx. */
export const tesseraStarts = { dist: 0, sources: 0 };

/** As bin/tessera.mjs decides: dist/ is used when it is at least as new as every source file. */
export function tesseraDistIsFresh(): boolean {
  const newest = (dir: string): number => {
    let n = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) n = Math.max(n, newest(p));
      else if (!e.name.endsWith('.test.ts')) n = Math.max(n, statSync(p).mtimeMs);
    }
    return n;
  };
  try {
    return statSync(join(ROOT, 'packages/server/dist/.built')).mtimeMs >= newest(join(ROOT, 'packages/server/src'));
  } catch {
    return false;
  }
}

const live = new Set<ChildProcess>();
function killAll(): void {
  for (const child of live) {
    // The whole tree: a `--workers N` primary's workers too.
    for (const pid of child.pid ? processTree(child.pid) : []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}
process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request on a fresh connection. */
export function send(origin: string, req: { method: string; path: string; headers?: Record<string, string>; body?: string }, timeoutMs = 10_000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.path, origin);
    const r = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method, headers: { ...req.headers, ...(req.body !== undefined ? { 'content-length': Buffer.byteLength(req.body) } : {}) }, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    r.on('error', reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

export function basicHeader(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

export const FORM = 'application/x-www-form-urlencoded';

/** How a Tessera-only scenario runs Tessera; the default is the shipped SQLite setup. */
export interface TesseraVariant {
  /** `tessera serve --workers N` (default: no flag, one process). */
  workers?: number;
  /** storage.url instead of a fresh SQLite file in the server's temp dir. */
  storageUrl?: string;
  /** A SQLite file copied in as the server's database before it starts (e.g. 1M pre-registered clients). */
  seedSqlite?: string;
  /** Extra settings of the Basic client (e.g. token_reuse: true). */
  basicClient?: Record<string, unknown>;
  /** Extra top-level settings of the config file (e.g. metrics, management). */
  config?: Record<string, unknown>;
}

export interface StartOptions {
  fixture: Fixture;
  fixtureFile: string;
  /** Extra node flags (e.g. --cpu-prof) for the server process. */
  nodeFlags?: string[];
  timeoutMs?: number;
  tessera?: TesseraVariant;
}

/**
 * Starts one server and waits until it has served a token to the Basic client. The clock runs from
 * just before spawn() (so it includes node start-up, module loading, storage migration and key
 * generation) to the arrival of the first 200.
 */
export async function startServer(name: ServerName, opts: StartOptions): Promise<RunningServer> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  let args: string[];
  // Every server gets the environment `npm start` and the image give Tessera: a thread pool of 2
  // (the machine's cores) and two malloc arenas (docs/performance.md). Given to all three, so the
  // comparison stays like for like.
  const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production', UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '2', MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };
  delete env.NODE_OPTIONS;
  let sqlitePath: string | undefined;
  let fromDist: boolean | undefined;
  if (name === 'tessera') {
    const v = opts.tessera ?? {};
    const configFile = join(dir, 'tessera.yaml');
    sqlitePath = v.storageUrl ? undefined : join(dir, 'tessera.db');
    if (v.seedSqlite && sqlitePath) copyFileSync(v.seedSqlite, sqlitePath);
    writeFileSync(configFile, tesseraConfigYaml(opts.fixture, { issuer: origin, port, storageUrl: v.storageUrl ?? `sqlite:${sqlitePath}`, basicClient: v.basicClient, extra: v.config }));
    // As `npm start` and the bin's shebang run it (small young generation, see docs/performance.md).
    args = [...(opts.nodeFlags ?? []), '--max-semi-space-size=2', join(ROOT, 'packages/server/bin/tessera.mjs'), 'serve', '--config', configFile, ...(v.workers ? ['--workers', String(v.workers)] : [])];
    fromDist = tesseraDistIsFresh();
    tesseraStarts[fromDist ? 'dist' : 'sources']++;
    Object.assign(env, {
      TESSERA_PORT: String(port),
      TESSERA_LOG_LEVEL: 'warn',
      TESSERA_KEK: randomBytes(32).toString('hex'),
      TESSERA_DEMO_CLIENT: 'false',
    });
  } else {
    args = [...(opts.nodeFlags ?? []), '--import', 'tsx', join(ROOT, 'bench/servers', `${name}.ts`), opts.fixtureFile];
    env.BENCH_PORT = String(port);
  }
  const basic = opts.fixture.basic;
  const probe = {
    method: 'POST',
    path: PATHS[name].token,
    headers: { 'content-type': FORM, authorization: basicHeader(basic.client_id, basic.secret) },
    body: `grant_type=client_credentials&scope=${opts.fixture.scope}`,
  };

  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (c: Buffer) => void (err = (err + c.toString()).slice(-20_000)));
  child.stdout!.on('data', () => undefined);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    live.delete(child);
    exited = `exited with ${code ?? signal}`;
  });

  const deadline = t0 + (opts.timeoutMs ?? 60_000);
  let last = '';
  try {
    await firstToken();
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const startupMs = performance.now() - t0;
  return { name, port, origin, issuer: origin, pid: child.pid!, child, startupMs, dir, stderr: () => err, ...(sqlitePath ? { sqlitePath } : {}), ...(fromDist !== undefined ? { fromDist } : {}) };

  async function firstToken(): Promise<void> {
    for (;;) {
      if (exited) throw new Error(`${name} ${exited} before serving a token:\n${err}`);
      if (performance.now() > deadline) {
        throw new Error(`${name} served no token within ${opts.timeoutMs ?? 60_000} ms (last: ${last}):\n${err}`);
      }
      try {
        const res = await send(origin, probe, 2_000);
        if (res.status === 200 && JSON.parse(res.body).access_token) return;
        last = `${res.status} ${res.body.slice(0, 300)}`;
        // Up and answering, but refusing: a configuration error, not a slow start.
        if (res.status >= 400 && res.status < 500) {
          throw new Error(`${name} refused the first token request: ${last}\n${err}`);
        }
      } catch (e) {
        if ((e as Error).message.includes('refused the first token request')) throw e;
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; removes the server's temp dir. */
export async function stopServer(server: RunningServer, graceMs = 10_000): Promise<void> {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(timer);
  }
  rmSync(server.dir, { recursive: true, force: true });
}

/** VmRSS and VmHWM of a process in bytes (undefined once it is gone). */
export function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** VmRSS summed over a process tree (a cluster primary and its workers), bytes. */
export function treeRss(pids: number[]): number {
  let sum = 0;
  let any = false;
  for (const pid of pids) {
    const m = memoryOf(pid);
    if (m && Number.isFinite(m.rss)) {
      sum += m.rss;
      any = true;
    }
  }
  return any ? sum : NaN;
}

/**
 * Samples VmRSS of the process tree of `pid` (summed over the processes) every `everyMs` until
 * stopped; resolves the peak in bytes, and one sample per second (the last of each second).
 */
export function sampleRss(pid: number, everyMs = 200): { stop(): number; series(): number[] } {
  const pids = processTree(pid);
  const t0 = performance.now();
  const perSecond: number[] = [];
  let peak = 0;
  const sample = () => {
    const rss = treeRss(pids);
    if (!Number.isFinite(rss)) return;
    if (rss > peak) peak = rss;
    perSecond[Math.floor((performance.now() - t0) / 1000)] = rss;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
    series: () => [...perSecond].map((x) => x ?? NaN),
  };
}
