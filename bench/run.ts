/**
 * `npm run bench`: Tessera against oidc-provider and a bare node:http ceiling, side by side on
 * loopback, under one load generator (wrk when installed, else autocannon). See bench/README.md.
 *
 *   npm run bench                               # 3 runs × 10 s per server and scenario
 *   npm run bench -- --duration 5 --runs 5      # other durations
 *   npm run bench -- --scenarios basic,jwks     # a subset
 *   npm run bench -- --quick --out /tmp/b       # smoke run (~2 s), never meaningful
 *   npm run bench -- --profile                  # CPU profile of Tessera under client_secret_basic
 *   npm run bench -- --scenarios workers,soak   # Tessera-only scenarios (see bench/README.md)
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createFixture } from './lib/fixtures.ts';
import { cpuSnapshot, cpuUse, perRequestUs, processTree, threadTicks } from './lib/cpu.ts';
import { autocannonVersion, wrkVersion, type LoaderName, type LoadResult } from './lib/load.ts';
import { runMicro } from './lib/micro.ts';
import { profileMarkdown, summariseProfile, type CpuBudget } from './lib/profile.ts';
import { machine, median, medianRps, toMarkdown, toSvg, type Report, type ScenarioResult, type ScenarioServerResult } from './lib/report.ts';
import { check, fmt, itemsFor, load, measuredRun, runLine, warmUp, type Ctx, type Prepared } from './lib/runner.ts';
import { introspectionToken, requestFor, SCENARIOS, type Scenario, type ScenarioId } from './lib/scenarios.ts';
import { memoryOf, ROOT, SERVER_LABELS, SERVER_NAMES, startServer, stopServer, tesseraStarts, type RunningServer, type ServerName, type TesseraVariant } from './lib/servers.ts';
import { runVariant, VARIANT_DEFAULTS, VARIANTS, type VariantId, type VariantResult } from './lib/variants.ts';

const HELP = `Usage: npm run bench -- [options]

  --duration <s>        seconds per measured run (default 10; env BENCH_DURATION)
  --runs <n>            measured runs per server and scenario (default 3; env BENCH_RUNS)
  --warmup <s>          warm-up seconds per server and scenario (default 3; env BENCH_WARMUP)
  --connections <n>     keep-alive connections (default 32; env BENCH_CONNECTIONS)
  --threads <n>         wrk threads (default 1; env BENCH_THREADS)
  --loader <name>       auto | wrk | autocannon (default auto: wrk when installed; env BENCH_LOADER)
  --scenarios <list>    comma-separated subset of the comparison scenarios (every server):
                          ${SCENARIOS.map((s) => s.id).join(', ')}
                        and of the Tessera-only scenarios:
                          ${VARIANTS.map((v) => v.id).join(', ')}
                        (default: all of them; with --quick: basic)
  --servers <list>      comma-separated subset of: ${SERVER_NAMES.join(', ')}
  --clients <n>         extra registered clients for clients_1m (default 1000000; --quick 10000)
  --soak-duration <s>   seconds of the soak run (default 60; --quick 1)
  --pg-url <url>        PostgreSQL for the postgres scenario (default ${VARIANT_DEFAULTS.pgUrl}; env BENCH_PG_URL)
  --redis-url <url>     Redis for the postgres scenario (default ${VARIANT_DEFAULTS.redisUrl}; env BENCH_REDIS_URL)
  --startup-runs <n>    extra fresh starts per server to time "serve → first token" (default 3)
  --micro-duration <s>  seconds per microbenchmark run (default 3; 0 skips them)
  --out <dir>           report directory (default bench/results; env BENCH_OUT)
  --quick               smoke mode: one tiny run, no warm-up, basic scenario unless --scenarios (for tests)
  --profile             instead: per-token CPU budget of Tessera and the ceiling from /proc (main
                        thread, other threads, load generator), then a CPU profile of Tessera
                        (node --cpu-prof) under client_secret_basic (or under the first of
                        --scenarios, or reuse: the Basic client with token_reuse: true);
                        writes profile-<scenario>.{md,json}
  -h, --help
`;

interface Options {
  durationSec: number;
  runs: number;
  warmupSec: number;
  connections: number;
  threads: number;
  loader: 'auto' | LoaderName;
  scenarios: Scenario[];
  variants: VariantId[];
  servers: ServerName[];
  clients: number;
  soakSec: number;
  pgUrl: string;
  redisUrl: string;
  startupRuns: number;
  microSec: number;
  out: string;
  quick: boolean;
  profile: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      loader: { type: 'string' },
      scenarios: { type: 'string' },
      servers: { type: 'string' },
      clients: { type: 'string' },
      'soak-duration': { type: 'string' },
      'pg-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'startup-runs': { type: 'string' },
      'micro-duration': { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const env = process.env;
  const quick = values.quick || env.BENCH_QUICK === '1';
  const num = (name: string, v: string | undefined, fallback: number, integer = false, minimum = 0): number => {
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < minimum || (integer && !Number.isInteger(n))) throw new TypeError(`--${name}: not a valid number: ${v}`);
    return n;
  };
  const list = <T extends string>(name: string, v: string | undefined, all: readonly T[], fallback: readonly T[]): T[] => {
    if (!v) return [...fallback];
    const items = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const i of items) if (!all.includes(i as T)) throw new TypeError(`--${name}: unknown ${i} (choose from ${all.join(', ')})`);
    return all.filter((a) => items.includes(a));
  };
  const loader = (values.loader ?? env.BENCH_LOADER ?? 'auto') as Options['loader'];
  if (!['auto', 'wrk', 'autocannon'].includes(loader)) throw new TypeError(`--loader: auto, wrk or autocannon`);
  const ids: string[] = [...SCENARIOS.map((s) => s.id), ...VARIANTS.map((v) => v.id)];
  const selected = list<string>('scenarios', values.scenarios ?? env.BENCH_SCENARIOS, ids, quick ? ['basic'] : ids);
  const out = values.out ?? env.BENCH_OUT ?? join(ROOT, 'bench/results');
  return {
    durationSec: num('duration', values.duration ?? env.BENCH_DURATION, quick ? 0.3 : 10, false, 0.1),
    runs: num('runs', values.runs ?? env.BENCH_RUNS, quick ? 1 : 3, true, 1),
    warmupSec: num('warmup', values.warmup ?? env.BENCH_WARMUP, quick ? 0 : 3),
    connections: num('connections', values.connections ?? env.BENCH_CONNECTIONS, quick ? 8 : 32, true, 1),
    threads: num('threads', values.threads ?? env.BENCH_THREADS, 1, true, 1),
    loader,
    scenarios: SCENARIOS.filter((s) => selected.includes(s.id)),
    variants: VARIANTS.filter((v) => selected.includes(v.id)).map((v) => v.id),
    servers: list<ServerName>('servers', values.servers ?? env.BENCH_SERVERS, SERVER_NAMES, SERVER_NAMES),
    clients: num('clients', values.clients, quick ? 10_000 : VARIANT_DEFAULTS.clients, true, 10),
    soakSec: num('soak-duration', values['soak-duration'], quick ? 1 : VARIANT_DEFAULTS.soakSec, false, 0.1),
    pgUrl: values['pg-url'] ?? env.BENCH_PG_URL ?? VARIANT_DEFAULTS.pgUrl,
    redisUrl: values['redis-url'] ?? env.BENCH_REDIS_URL ?? VARIANT_DEFAULTS.redisUrl,
    startupRuns: num('startup-runs', values['startup-runs'], quick ? 0 : 3, true, 0),
    microSec: num('micro-duration', values['micro-duration'], quick ? 0.1 : 3),
    out: isAbsolute(out) ? out : resolve(process.cwd(), out),
    quick,
    profile: values.profile,
  };
}

const t0 = performance.now();
function log(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
}
async function runScenario(ctx: Ctx, scenario: Scenario, servers: RunningServer[], rateHint: Map<ServerName, number>): Promise<ScenarioResult> {
  const { opts } = ctx;
  log(`scenario ${scenario.label}`);
  const prepared: Prepared[] = [];
  for (const server of servers) {
    const token = scenario.kind === 'introspect' ? await introspectionToken(server, ctx.fixture) : undefined;
    const p: Prepared = { server, scenario, label: server.name, template: requestFor(scenario, server, ctx.fixture, token), estimate: rateHint.get(server.name) ?? (opts.quick ? 2000 : 20_000) };
    await check(ctx, p);
    prepared.push(p);
  }
  const results: ScenarioServerResult[] = prepared.map((p) => ({ server: p.server.name, warmupRps: undefined, runs: [] }));
  if (opts.warmupSec > 0) {
    for (const [i, p] of prepared.entries()) {
      results[i]!.warmupRps = await warmUp(ctx, p, opts.warmupSec);
      log(`  warm-up ${p.server.name}: ${fmt(results[i]!.warmupRps!)}/s`);
    }
  }
  for (let run = 1; run <= opts.runs; run++) {
    for (const [i, p] of prepared.entries()) {
      const { rssSeries: _series, ...rec } = await measuredRun(ctx, p, run);
      results[i]!.runs.push(rec);
      log(runLine(p, rec, opts.runs));
    }
  }
  // The answers are still right after the load (same check as before it).
  for (const p of prepared) await check(ctx, p);
  if (scenario.id === 'basic') for (const [i, p] of prepared.entries()) rateHint.set(p.server.name, median(results[i]!.runs.map((r) => r.rps)));
  return { id: scenario.id, label: scenario.label, unit: scenario.unit, servers: results };
}

async function chooseLoader(opts: Options): Promise<{ loader: LoaderName; description: string }> {
  const wrk = wrkVersion();
  let loader: LoaderName;
  if (opts.loader === 'auto') loader = wrk && !opts.quick ? 'wrk' : 'autocannon';
  else loader = opts.loader;
  if (loader === 'wrk' && !wrk) throw new Error('--loader wrk: wrk is not installed (apt-get install wrk)');
  const description = loader === 'wrk' ? `${wrk!.replace(/\s+Copyright.*$/, '')} (Lua script bench/lib/wrk.lua)` : `${await autocannonVersion()} (in the harness process)`;
  return { loader, description };
}

/**
 * One server under `scenario` without a profiler: warm-up, then a measured window with per-thread
 * CPU from /proc, turned into microseconds per response.
 */
async function cpuBudget(ctx: Ctx, name: ServerName, scenario: Scenario, tessera?: TesseraVariant): Promise<CpuBudget> {
  const server = await startServer(name, { fixture: ctx.fixture, fixtureFile: join(ctx.workDir, 'fixture.json'), ...(tessera && name === 'tessera' ? { tessera } : {}) });
  try {
    const token = scenario.kind === 'introspect' ? await introspectionToken(server, ctx.fixture) : undefined;
    const p: Prepared = { server, scenario, label: name, template: requestFor(scenario, server, ctx.fixture, token), estimate: 10_000 };
    await check(ctx, p);
    if (ctx.opts.warmupSec > 0) await warmUp(ctx, p, ctx.opts.warmupSec);
    const items = await itemsFor(ctx, p, p.estimate * ctx.opts.durationSec * 1.5 + 1000, 1);
    const pids = processTree(server.pid);
    const t0 = threadTicks(server.pid);
    const c0 = cpuSnapshot(pids);
    const r = await load(ctx, p, ctx.opts.durationSec, items);
    const cpu = cpuUse(c0, cpuSnapshot(pids));
    const t1 = threadTicks(server.pid);
    if (r.exhausted > 0 || r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: budget run was not clean: ${JSON.stringify(r)}`);
    await check(ctx, p);
    const us = perRequestUs(t0, t1, r.ok);
    log(`  ${name}: ${fmt(r.rps)} ${scenario.unit}; main thread ${(us.mainUser + us.mainSys).toFixed(1)} µs, other threads ${(us.otherUser + us.otherSys).toFixed(1)} µs per response; other CPU ${cpu.other.toFixed(2)}`);
    if (cpu.other > 0.15) ctx.warnings.push(`${name} budget run: processes outside the benchmark used ${cpu.other.toFixed(2)} cores`);
    return {
      server: tessera && name === 'tessera' ? `${SERVER_LABELS[name]}, token reuse` : SERVER_LABELS[name],
      rps: r.rps,
      requests: r.ok,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      ...us,
      serverCores: cpu.server,
      loaderUs: (cpu.loader * 1e6) / r.rps,
      loaderCores: cpu.loader,
      otherCores: cpu.other,
      cores: machine().cores,
    };
  } finally {
    await stopServer(server);
  }
}

async function profileTessera(ctx: Ctx, opts: Options): Promise<void> {
  // client_secret_basic unless --scenarios names another comparison scenario, or reuse (the Basic
  // client with token_reuse: true).
  const reuse = opts.scenarios.length === 0 && opts.variants[0] === 'reuse';
  if (opts.scenarios.length === 0 && !reuse) throw new TypeError('--profile: a comparison scenario or reuse');
  const scenario = opts.scenarios.length === SCENARIOS.length || reuse ? SCENARIOS[0]! : opts.scenarios[0]!;
  const tessera: TesseraVariant | undefined = reuse ? { basicClient: { token_reuse: true } } : undefined;
  const id = reuse ? 'reuse' : scenario.id;
  log(`CPU budget without the profiler; scenario ${scenario.label}${reuse ? ' with token reuse' : ''}`);
  const budgets: CpuBudget[] = [await cpuBudget(ctx, 'tessera', scenario, tessera)];
  if (reuse) budgets.push(await cpuBudget(ctx, 'tessera', scenario));
  if (scenario.kind === 'token' && opts.servers.includes('ceiling')) budgets.push(await cpuBudget(ctx, 'ceiling', scenario));

  const dir = join(ctx.workDir, 'cpu-profile');
  mkdirSync(dir, { recursive: true });
  log(`starting Tessera with --cpu-prof; scenario ${scenario.label}`);
  const server = await startServer('tessera', { fixture: ctx.fixture, fixtureFile: join(ctx.workDir, 'fixture.json'), nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir], ...(tessera ? { tessera } : {}) });
  let window: [number, number];
  let result: LoadResult;
  try {
    const token = scenario.kind === 'introspect' ? await introspectionToken(server, ctx.fixture) : undefined;
    const p: Prepared = { server, scenario, label: 'tessera', template: requestFor(scenario, server, ctx.fixture, token), estimate: 10_000 };
    await check(ctx, p);
    if (opts.warmupSec > 0) await warmUp(ctx, p, opts.warmupSec);
    const items = await itemsFor(ctx, p, p.estimate * opts.durationSec * 1.5 + 1000, 1);
    const start = performance.now();
    result = await load(ctx, p, opts.durationSec, items);
    const end = performance.now();
    if (result.exhausted > 0 || result.non2xx > 0 || result.errors > 0) throw new Error(`profiled run was not clean: ${JSON.stringify(result)}`);
    const exit = new Promise<number>((resolve) => server.child.once('exit', () => resolve(performance.now())));
    await stopServer(server);
    const exitedAt = await exit;
    window = [exitedAt - start, exitedAt - end];
  } catch (err) {
    await stopServer(server);
    throw err;
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('node wrote no .cpuprofile');
  const summary = summariseProfile(join(dir, file), ROOT, 30, window);
  const m = machine();
  const context = `\`${scenario.label}\`${reuse ? ' with token reuse (token_reuse: true)' : ''} for ${opts.durationSec} s after a ${opts.warmupSec} s warm-up (samples of the measured window only), ${opts.connections} connections, ${ctx.loader}; ${fmt(result.rps)} ${scenario.unit} under the profiler (p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, non-2xx ${result.non2xx}). Machine: ${m.cores} cores, ${m.cpuModel}, Node ${m.node}; Tessera ran ${tesseraStarts.sources ? '**from the sources through tsx** (dist/ was stale)' : 'its compiled dist/ build'}. Generated ${new Date().toISOString()} by \`npm run bench -- --profile${id === 'basic' ? '' : ` --scenarios ${id}`}\`.`;
  const profiledTokens = result.requests - result.non2xx;
  const md = profileMarkdown(summary, context, { budgets, profiledRequests: profiledTokens, unit: scenario.unit, warnings: ctx.warnings });
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, `profile-${id}.md`), md);
  writeFileSync(join(opts.out, `profile-${id}.json`), JSON.stringify({ context, budgets, profiledRequests: profiledTokens, ...summary, warnings: ctx.warnings }, null, 2) + '\n');
  log(`profile summary written to ${join(opts.out, `profile-${id}.md`)}`);
  process.stdout.write(md);
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const { loader, description } = await chooseLoader(opts);
  const workDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const fixture = createFixture();
  writeFileSync(join(workDir, 'fixture.json'), JSON.stringify(fixture));
  const ctx: Ctx = { opts, loader, fixture, workDir, problems: [], warnings: [], log };
  const running: RunningServer[] = [];
  try {
    if (opts.profile) {
      await profileTessera(ctx, opts);
      return 0;
    }
    const variants = opts.servers.includes('tessera') ? opts.variants : [];
    log(`loader: ${description}; servers: ${opts.servers.join(', ')}; scenarios: ${[...opts.scenarios.map((s) => s.id), ...variants].join(', ')}`);
    log(`${opts.runs} run(s) × ${opts.durationSec} s after ${opts.warmupSec} s warm-up, ${opts.connections} connections`);

    const startupMs: Report['startupMs'] = {};
    const scenarios: ScenarioResult[] = [];
    let micro: Report['micro'] = [];
    const peakRssBytes: Report['peakRssBytes'] = {};
    if (opts.scenarios.length) {
      for (let i = 0; i < opts.startupRuns; i++) {
        for (const name of opts.servers) {
          const s = await startServer(name, { fixture, fixtureFile: join(workDir, 'fixture.json') });
          (startupMs[name] ??= []).push(s.startupMs);
          await stopServer(s);
        }
      }
      // The servers under test start one at a time, so that each start-up is timed on an idle machine.
      for (const name of opts.servers) {
        const s = await startServer(name, { fixture, fixtureFile: join(workDir, 'fixture.json') });
        running.push(s);
        (startupMs[name] ??= []).push(s.startupMs);
        log(`${name} up: first token ${s.startupMs.toFixed(0)} ms after spawn (pid ${s.pid}, ${s.origin})`);
      }

      const rateHint = new Map<ServerName, number>();
      for (const scenario of opts.scenarios) scenarios.push(await runScenario(ctx, scenario, running, rateHint));

      const tessera = running.find((s) => s.name === 'tessera');
      micro = tessera && opts.microSec > 0 ? await runMicro(tessera, fixture, { seconds: opts.microSec, runs: opts.runs, log }) : [];

      for (const s of running) peakRssBytes[s.name] = memoryOf(s.pid)?.hwm ?? NaN;
      // The Tessera-only scenarios start servers of their own: these would only sit idle.
      for (const s of running.splice(0)) await stopServer(s);
    }

    const variantResults: VariantResult[] = [];
    const reference = (id: ScenarioId, server: ServerName) => {
      const s = scenarios.find((x) => x.id === id);
      const v = s ? medianRps(s, server) : NaN;
      return Number.isFinite(v) ? v : undefined;
    };
    const variantOptions = { clients: opts.clients, soakSec: opts.soakSec, pgUrl: opts.pgUrl, redisUrl: opts.redisUrl, servers: opts.servers, reference };
    if (opts.quick) {
      // A smoke run only checks that everything works: the variants may share the machine.
      variantResults.push(...(await Promise.all(variants.map((id) => runVariant(ctx, id, variantOptions)))));
    } else {
      for (const id of variants) variantResults.push(await runVariant(ctx, id, variantOptions));
    }
    for (const v of variantResults) {
      if (!v.skipped) continue;
      log(`${v.id} skipped: ${v.skipped}`);
      ctx.warnings.push(`${v.id}: skipped: ${v.skipped}`);
    }

    const report: Report = {
      generatedAt: new Date().toISOString(),
      quick: opts.quick,
      machine: machine(),
      loader: description,
      settings: {
        durationSec: loader === 'wrk' ? Math.max(1, Math.round(opts.durationSec)) : opts.durationSec,
        runs: opts.runs,
        warmupSec: opts.warmupSec,
        connections: opts.connections,
        threads: opts.threads,
        order: 'servers interleaved run by run (A B C A B C …)',
      },
      startupMs,
      peakRssBytes,
      scenarios,
      micro,
      variants: variantResults,
      ...(tesseraStarts.dist + tesseraStarts.sources > 0 ? { tesseraFromDist: tesseraStarts.sources === 0 } : {}),
      problems: ctx.problems,
      warnings: ctx.warnings,
      notes: NOTES,
    };
    mkdirSync(opts.out, { recursive: true });
    writeFileSync(join(opts.out, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(opts.out, 'latest.md'), toMarkdown(report));
    writeFileSync(join(opts.out, 'latest.svg'), toSvg(report));
    log(`report written to ${opts.out}/latest.{md,svg,json}`);
    if (ctx.problems.length) {
      log(`FAILED: ${ctx.problems.length} problem(s):\n  ${ctx.problems.join('\n  ')}`);
      return 1;
    }
    return 0;
  } finally {
    for (const s of running) await stopServer(s).catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  }
}

const NOTES = [
  'Tessera runs exactly as `npm start` runs it (`UV_THREADPOOL_SIZE=2 MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 bin/tessera.mjs serve`: the compiled dist/ build when it is fresh, pino at warn, Fastify, signatures on libuv\'s thread pool), on its embedded default storage: a SQLite file in a temp dir. Client-assertion jti values are recorded in SQLite (one write per private_key_jwt / client_secret_jwt request, group-committed: the requests of one event-loop turn share a transaction). oidc-provider and the ceiling get the same two environment variables.',
  'Tessera signs on libuv\'s thread pool, so a second core can carry its signatures while the main thread serves HTTP; the ceiling and oidc-provider sign on their main thread. On a machine with few cores the load generator competes for the same cores, which caps every server and narrows ratios near the top.',
  'Config-file client secrets are stored by Tessera with scrypt; after the first successful check it keeps a per-process HMAC of the secret, so the measured requests cost one HMAC each, not a KDF.',
  'oidc-provider uses its built-in in-memory adapter (an LRU of 1000 entries, so its replay detection only remembers the last ~1000 jti values) and no persistence; it cannot introspect JWT access tokens, so its introspection scenario introspects an opaque token of a second resource (a lookup in that memory adapter) while Tessera and the ceiling verify the JWT signature.',
  'The ceiling server does the least honest work: Basic/form parsing, SHA-256 + timingSafeEqual of the secret (or signature, iss/aud/exp and an in-memory jti set for assertions), one ES256 signature with a cached KeyObject; nothing else.',
  'Every client_secret_jwt / private_key_jwt request carries its own assertion (fresh jti, aud = that server\'s issuer), minted before the measured window; a run whose assertions ran out is discarded and repeated with more.',
  'Before and after each scenario, one request per server is checked: HTTP 200 with an ES256 JWT access token (iss, aud, scope, client_id, exp as expected, signature verified with a key of the server\'s JWK Set), an active introspection result, or a non-empty JWK Set.',
];

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Bad options are TypeErrors: their message says it all.
    const text = err instanceof TypeError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`bench failed: ${text}\n`);
    process.exit(1);
  },
);
