/**
 * Throttle under flood (issue 13 item 1): token throughput for a legitimate client while 4
 * attackers, each from its own loopback address (127.0.0.2–5), flood the token endpoint with
 * unknown client ids over Basic. Three arms, each against a fresh `tessera serve` (memory storage,
 * as `npm start` runs it: UV_THREADPOOL_SIZE=2):
 *   quiet    — the legitimate client alone;
 *   flood    — the same with the 4 attackers, default throttle (per-source cap on);
 *   flood-full — per-source cap off and throttle.max_keys 20,000, so the failure counters stay
 *              full and every attacker request inserts and evicts (the O(1) limiter under stress).
 * Also samples GET /healthz every 100 ms during each arm.
 *
 *   node --import tsx bench/throttle-flood.ts [--duration 5] [--legit 8] [--attack 8]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../test/fixtures/ports.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const DURATION_MS = arg('duration', 5) * 1000;
const LEGIT_CONC = arg('legit', 8);
const ATTACK_CONC = arg('attack', 8);
const SECRET = randomBytes(32).toString('base64url');

async function startTessera(throttle: Record<string, number>): Promise<{ port: number; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-flood-'));
  const config = join(dir, 'tessera.json');
  writeFileSync(config, JSON.stringify({ issuer: `http://127.0.0.1:${port}`, storage: { url: 'memory:' }, demo_client: false, throttle, clients: [{ client_id: 'legit', client_secret: SECRET, scope: 'api' }] }));
  const child = spawn(process.execPath, ['--max-semi-space-size=2', join(ROOT, 'packages/server/bin/tessera.mjs'), 'serve', '--config', config], {
    cwd: dir,
    env: { ...process.env, NODE_OPTIONS: '', UV_THREADPOOL_SIZE: '2', MALLOC_ARENA_MAX: '2', TESSERA_PORT: String(port), TESSERA_LOG_LEVEL: 'warn', TESSERA_KEK: randomBytes(32).toString('hex') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { port, child, dir };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('tessera did not start');
}

interface Stats {
  ok: number;
  statuses: Map<number, number>;
  latencies: number[];
}

function post(port: number, agent: Agent, id: string, secret: string): Promise<{ status: number; ms: number }> {
  const body = 'grant_type=client_credentials';
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/oauth2/token', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end(body);
  });
}

async function loop(port: number, localAddress: string, concurrency: number, until: number, pick: () => [string, string], stats: Stats): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, localAddress });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const [id, secret] = pick();
        const { status, ms } = await post(port, agent, id, secret);
        stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
        if (status === 200) stats.ok++;
        stats.latencies.push(ms);
      }
    }),
  );
  agent.destroy();
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const newStats = (): Stats => ({ ok: 0, statuses: new Map(), latencies: [] });

async function arm(name: string, throttle: Record<string, number>, attackers: number) {
  const { port, child, dir } = await startTessera(throttle);
  try {
    // warm-up (the legitimate client's scrypt is checked once, then remembered)
    const warm = new Agent({ keepAlive: true, localAddress: '127.0.0.10' });
    for (let i = 0; i < 50; i++) await post(port, warm, 'legit', SECRET);
    warm.destroy();
    const until = performance.now() + DURATION_MS;
    const legit = newStats();
    const attack = newStats();
    const health: number[] = [];
    let n = 0;
    const probes = (async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.arrayBuffer()).catch(() => undefined);
        health.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await Promise.all([
      loop(port, '127.0.0.10', LEGIT_CONC, until, () => ['legit', SECRET], legit),
      ...Array.from({ length: attackers }, (_, a) => loop(port, `127.0.0.${a + 2}`, ATTACK_CONC, until, () => [`ghost-${a}-${n++}`, 'guess'], attack)),
      probes,
    ]);
    const secs = DURATION_MS / 1000;
    return {
      arm: name,
      legit_tokens_per_s: Math.round(legit.ok / secs),
      legit_p50_ms: +pct(legit.latencies, 50).toFixed(1),
      legit_p99_ms: +pct(legit.latencies, 99).toFixed(1),
      legit_non_200: legit.latencies.length - legit.ok,
      attack_req_per_s: Math.round(attack.latencies.length / secs),
      total_req_per_s: Math.round((legit.latencies.length + attack.latencies.length) / secs),
      attack_statuses: Object.fromEntries(attack.statuses),
      healthz_p50_ms: +pct(health, 50).toFixed(1),
      healthz_max_ms: +Math.max(...health).toFixed(1),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [
  await arm('quiet', {}, 0),
  await arm('flood (4 attackers, defaults)', {}, 4),
  await arm('flood, per-source cap off, counters full (max_keys 20,000)', { max_failures_per_source: 0, max_keys: 20_000 }, 4),
];
console.log(`load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}; ${(await import('node:os')).cpus().length} cores; duration ${DURATION_MS / 1000} s per arm; legit concurrency ${LEGIT_CONC}; 4 attackers × ${ATTACK_CONC}`);
console.log('| arm | legit tokens/s | legit p50 ms | legit p99 ms | legit non-200 | attacker req/s | attacker statuses | server total req/s | /healthz p50 ms | /healthz max ms |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(`| ${r.arm} | ${r.legit_tokens_per_s} | ${r.legit_p50_ms} | ${r.legit_p99_ms} | ${r.legit_non_200} | ${r.attack_req_per_s} | ${JSON.stringify(r.attack_statuses)} | ${r.total_req_per_s} | ${r.healthz_p50_ms} | ${r.healthz_max_ms} |`);
}
