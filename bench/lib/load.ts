/**
 * Load generators behind one interface: wrk (with bench/lib/wrk.lua) when installed, else
 * autocannon in-process. Both keep connections alive; both rotate pre-minted bodies so that no
 * body is sent twice in a run.
 */
import { execFileSync, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './servers.ts';

export type LoaderName = 'wrk' | 'autocannon';

export interface LoadSpec {
  origin: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  /** One body for every request, or none. */
  body?: string;
  /** Distinct bodies, each sent at most once (pre-minted assertions). */
  bodies?: string[];
  /**
   * Distinct Authorization header values, each sent at most once (a different client per request);
   * with `bodies` the two lists pair up index by index, else every request carries `body`.
   */
  auths?: string[];
  connections: number;
  durationSec: number;
  /** wrk threads. */
  threads: number;
  /** Directory for the wrk spec file. */
  workDir: string;
}

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  /** Socket errors and timeouts. */
  errors: number;
  durationSec: number;
  /** 2xx responses per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** How many times the rotating bodies ran out and were reused (must be 0). */
  exhausted: number;
}

export function wrkVersion(): string | undefined {
  try {
    // `wrk -v` prints its banner and exits non-zero.
    return execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0];
  } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? '');
    return /^wrk /.test(out) ? out.split('\n')[0]!.trim() : undefined;
  }
}

export async function autocannonVersion(): Promise<string> {
  const { createRequire } = await import('node:module');
  return `autocannon ${(createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version}`;
}

export function runLoad(loader: LoaderName, spec: LoadSpec): Promise<LoadResult> {
  return loader === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}

let specSeq = 0;

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const file = join(spec.workDir, `wrk-spec-${process.pid}-${specSeq++}.txt`);
  const auths = spec.auths;
  const headerLines = Object.entries(spec.headers)
    .filter(([k]) => !(auths && k.toLowerCase() === 'authorization'))
    .map(([k, v]) => `${k}: ${v}`);
  let lines = spec.bodies ?? (spec.body !== undefined ? [spec.body] : []);
  if (auths) {
    headerLines.push('@per-request-authorization: 1');
    lines = auths.map((a, i) => `${a}\t${spec.bodies ? spec.bodies[i] ?? '' : spec.body ?? ''}`);
  }
  writeFileSync(file, [spec.method, spec.path, ...headerLines, '', ...lines].join('\n') + '\n');
  const seconds = Math.max(1, Math.round(spec.durationSec));
  const threads = Math.max(1, Math.min(spec.threads, spec.connections));
  const args = ['-t', String(threads), '-c', String(spec.connections), '-d', `${seconds}s`, '--timeout', '10s', '-s', join(ROOT, 'bench/lib/wrk.lua'), spec.origin, '--', file, String(threads)];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.once('exit', () => rmSync(file, { force: true }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => void (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`wrk exited with ${code}: ${stderr}${stdout}`))));
  });
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line.slice('BENCH_JSON '.length)) as Record<string, number>;
  const durationSec = r.duration_us! / 1e6;
  const non2xx = r.status_errors!;
  const ok = r.requests! - non2xx;
  return {
    requests: r.requests!,
    ok,
    non2xx,
    errors: r.connect_errors! + r.read_errors! + r.write_errors! + r.timeouts!,
    durationSec,
    rps: ok / durationSec,
    p50Ms: r.p50_us! / 1000,
    p99Ms: r.p99_us! / 1000,
    exhausted: r.exhausted!,
  };
}

interface AutocannonResult {
  requests: { total: number; sent: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  '2xx': number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const specifier = 'autocannon';
  const autocannon = ((await import(specifier)) as { default: Autocannon }).default;
  let exhausted = 0;
  let requests: unknown[] | undefined;
  const rotating = spec.auths ?? spec.bodies;
  const headers = Object.fromEntries(Object.entries(spec.headers).filter(([k]) => !(spec.auths && k.toLowerCase() === 'authorization')));
  if (rotating && rotating.length > 0) {
    const { bodies, auths } = spec;
    let i = 0;
    requests = [
      {
        method: spec.method,
        path: spec.path,
        headers,
        setupRequest(req: Record<string, unknown>) {
          if (i >= rotating.length) {
            i = 0;
            exhausted++;
          }
          req.body = bodies ? bodies[i] : spec.body;
          if (auths) req.headers = { ...headers, authorization: auths[i] };
          i++;
          return req;
        },
      },
    ];
  }
  const result = await autocannon({
    url: spec.origin + spec.path,
    method: spec.method,
    headers,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(requests ? { requests } : {}),
    connections: spec.connections,
    pipelining: 1,
    duration: spec.durationSec,
    // autocannon checks for the end of the run on each sample tick (default every 1000 ms).
    sampleInt: Math.min(1000, Math.max(50, Math.round((spec.durationSec * 1000) / 10))),
    timeout: 10,
  });
  const ok = result['2xx'];
  return {
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    durationSec: result.duration,
    rps: ok / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    exhausted,
  };
}
