/**
 * `npm run bench`: Tessera against oidc-provider and a bare node:http ceiling, side by side on
 * loopback, under one load generator (wrk when installed, else autocannon). See bench/README.md.
 *
 *   npm run bench                               # 3 runs × 10 s per server and scenario
 *   npm run bench -- --duration 5 --runs 5      # other durations
 *   npm run bench -- --scenarios basic,jwks     # a subset
 *   npm run bench -- --quick --out /tmp/b       # smoke run (~2 s), never meaningful
 *   npm run bench -- --profile                  # CPU profile of Tessera under client_secret_basic
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mintBodies, mintJob } from './lib/assertions.ts';
import { createFixture, type Fixture } from './lib/fixtures.ts';
import { cpuSnapshot, cpuUse } from './lib/cpu.ts';
import { autocannonVersion, runLoad, wrkVersion, type LoaderName, type LoadResult } from './lib/load.ts';
import { runMicro } from './lib/micro.ts';
import { profileMarkdown, summariseProfile } from './lib/profile.ts';
import { machine, median, toMarkdown, toSvg, type Report, type RunRecord, type ScenarioResult, type ScenarioServerResult } from './lib/report.ts';
import { checkScenario, introspectionToken, requestFor, SCENARIOS, type RequestTemplate, type Scenario, type ScenarioId } from './lib/scenarios.ts';
import { memoryOf, ROOT, sampleRss, SERVER_NAMES, startServer, stopServer, type RunningServer, type ServerName } from './lib/servers.ts';

const HELP = `Usage: npm run bench -- [options]

  --duration <s>        seconds per measured run (default 10; env BENCH_DURATION)
  --runs <n>            measured runs per server and scenario (default 3; env BENCH_RUNS)
  --warmup <s>          warm-up seconds per server and scenario (default 3; env BENCH_WARMUP)
  --connections <n>     keep-alive connections (default 32; env BENCH_CONNECTIONS)
  --threads <n>         wrk threads (default 1; env BENCH_THREADS)
  --loader <name>       auto | wrk | autocannon (default auto: wrk when installed; env BENCH_LOADER)
  --scenarios <list>    comma-separated subset of: ${SCENARIOS.map((s) => s.id).join(', ')}
  --servers <list>      comma-separated subset of: ${SERVER_NAMES.join(', ')}
  --startup-runs <n>    extra fresh starts per server to time "serve → first token" (default 3)
  --micro-duration <s>  seconds per microbenchmark run (default 3; 0 skips them)
  --out <dir>           report directory (default bench/results; env BENCH_OUT)
  --quick               smoke mode: basic scenario only, one tiny run, no warm-up (for tests)
  --profile             instead: CPU-profile Tessera (node --cpu-prof) under client_secret_basic
                        (or under the first of --scenarios); writes profile-<scenario>.{md,json}
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
  servers: ServerName[];
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
  const ids = SCENARIOS.map((s) => s.id);
  const scenarioIds = list<ScenarioId>('scenarios', values.scenarios ?? env.BENCH_SCENARIOS, ids, quick ? ['basic'] : ids);
  const out = values.out ?? env.BENCH_OUT ?? join(ROOT, 'bench/results');
  return {
    durationSec: num('duration', values.duration ?? env.BENCH_DURATION, quick ? 0.3 : 10, false, 0.1),
    runs: num('runs', values.runs ?? env.BENCH_RUNS, quick ? 1 : 3, true, 1),
    warmupSec: num('warmup', values.warmup ?? env.BENCH_WARMUP, quick ? 0 : 3),
    connections: num('connections', values.connections ?? env.BENCH_CONNECTIONS, quick ? 8 : 32, true, 1),
    threads: num('threads', values.threads ?? env.BENCH_THREADS, 1, true, 1),
    loader,
    scenarios: SCENARIOS.filter((s) => scenarioIds.includes(s.id)),
    servers: list<ServerName>('servers', values.servers ?? env.BENCH_SERVERS, SERVER_NAMES, SERVER_NAMES),
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
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

/** Distinct bodies are needed once per server for warm-up and each run; most scenarios need none. */
const MAX_BODIES = 600_000;
/** Cores used by processes outside the benchmark above which a run is flagged as disturbed. */
const NOISE_CORES = 0.15;

interface Ctx {
  opts: Options;
  loader: LoaderName;
  fixture: Fixture;
  workDir: string;
  problems: string[];
  warnings: string[];
}

interface Prepared {
  server: RunningServer;
  template: RequestTemplate;
  /** Estimated 2xx/s, sizing the next batch of minted assertions. */
  estimate: number;
}

async function bodiesFor(ctx: Ctx, scenario: Scenario, server: RunningServer, count: number): Promise<string[] | undefined> {
  if (!scenario.assertionAlg) return undefined;
  const n = Math.min(MAX_BODIES, Math.max(1, Math.ceil(count)));
  const started = performance.now();
  const bodies = await mintBodies(mintJob(ctx.fixture, scenario.assertionAlg, server.issuer, n));
  if (n > 5000) log(`    minted ${fmt(n)} ${scenario.assertionAlg} assertions for ${server.name} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return bodies;
}

function load(ctx: Ctx, p: Prepared, seconds: number, bodies: string[] | undefined): Promise<LoadResult> {
  return runLoad(ctx.loader, {
    origin: p.server.origin,
    method: p.template.method,
    path: p.template.path,
    headers: p.template.headers,
    ...(bodies ? { bodies } : p.template.body !== undefined ? { body: p.template.body } : {}),
    connections: ctx.opts.connections,
    durationSec: seconds,
    threads: ctx.opts.threads,
    workDir: ctx.workDir,
  });
}

async function check(ctx: Ctx, scenario: Scenario, p: Prepared): Promise<void> {
  const bodies = await bodiesFor(ctx, scenario, p.server, 1);
  await checkScenario(scenario, p.server, ctx.fixture, p.template, bodies ? bodies[0] : p.template.body);
}

/** One measured run; re-done with more assertions if the pre-minted ones ran out. */
async function measuredRun(ctx: Ctx, scenario: Scenario, p: Prepared, run: number): Promise<RunRecord> {
  const { durationSec } = ctx.opts;
  let discarded = 0;
  for (;;) {
    const bodies = await bodiesFor(ctx, scenario, p.server, p.estimate * durationSec * 1.5 + 1000);
    const rss = sampleRss(p.server.pid);
    const before = cpuSnapshot(p.server.pid);
    const r = await load(ctx, p, durationSec, bodies);
    const cpu = cpuUse(before, cpuSnapshot(p.server.pid));
    const peakRssBytes = rss.stop();
    if (r.exhausted > 0 && discarded < 3 && (bodies?.length ?? 0) < MAX_BODIES) {
      discarded++;
      p.estimate = Math.max(p.estimate, r.requests / r.durationSec) * 2;
      log(`    ${p.server.name}: pre-minted assertions ran out (${fmt(bodies!.length)}); repeating the run with more`);
      continue;
    }
    if (r.exhausted > 0) ctx.problems.push(`${scenario.label} @ ${p.server.name}, run ${run}: assertions ran out and were reused (${r.exhausted}×); replays count as non-2xx`);
    if (r.non2xx > 0 || r.errors > 0) {
      ctx.problems.push(`${scenario.label} @ ${p.server.name}, run ${run}: ${fmt(r.non2xx)} non-2xx responses and ${fmt(r.errors)} socket errors/timeouts out of ${fmt(r.requests)} requests`);
    }
    if (cpu.other > NOISE_CORES) {
      ctx.warnings.push(`${scenario.label} @ ${p.server.name}, run ${run}: processes outside the benchmark used ${cpu.other.toFixed(2)} cores during the run`);
    }
    p.estimate = Math.max(r.rps, 1);
    return { run, rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, requests: r.requests, non2xx: r.non2xx, errors: r.errors, durationSec: r.durationSec, peakRssBytes, discardedAttempts: discarded, cpu };
  }
}

async function runScenario(ctx: Ctx, scenario: Scenario, servers: RunningServer[], rateHint: Map<ServerName, number>): Promise<ScenarioResult> {
  const { opts } = ctx;
  log(`scenario ${scenario.label}`);
  const prepared: Prepared[] = [];
  for (const server of servers) {
    const token = scenario.kind === 'introspect' ? await introspectionToken(server, ctx.fixture) : undefined;
    const p: Prepared = { server, template: requestFor(scenario, server, ctx.fixture, token), estimate: rateHint.get(server.name) ?? (opts.quick ? 2000 : 20_000) };
    await check(ctx, scenario, p);
    prepared.push(p);
  }
  const results: ScenarioServerResult[] = prepared.map((p) => ({ server: p.server.name, warmupRps: undefined, runs: [] }));
  if (opts.warmupSec > 0) {
    for (const [i, p] of prepared.entries()) {
      const bodies = await bodiesFor(ctx, scenario, p.server, p.estimate * opts.warmupSec * 1.5 + 500);
      const r = await load(ctx, p, opts.warmupSec, bodies);
      results[i]!.warmupRps = r.rps;
      p.estimate = Math.max(r.rps, 1);
      log(`  warm-up ${p.server.name}: ${fmt(r.rps)}/s`);
    }
  }
  for (let run = 1; run <= opts.runs; run++) {
    for (const [i, p] of prepared.entries()) {
      const rec = await measuredRun(ctx, scenario, p, run);
      results[i]!.runs.push(rec);
      log(
        `  run ${run}/${opts.runs} ${p.server.name.padEnd(13)} ${fmt(rec.rps).padStart(7)} ${scenario.unit}  p50 ${rec.p50Ms.toFixed(2)} ms  p99 ${rec.p99Ms.toFixed(2)} ms  non-2xx ${rec.non2xx}  RSS ${Math.round(rec.peakRssBytes / 2 ** 20)} MiB  CPU server ${rec.cpu.server.toFixed(2)} loader ${rec.cpu.loader.toFixed(2)} other ${rec.cpu.other.toFixed(2)}`,
      );
    }
  }
  // The answers are still right after the load (same check as before it).
  for (const p of prepared) await check(ctx, scenario, p);
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

async function profileTessera(ctx: Ctx): Promise<void> {
  const { opts } = ctx;
  // client_secret_basic unless --scenarios names another one.
  const scenario = opts.scenarios.length === SCENARIOS.length ? SCENARIOS[0]! : opts.scenarios[0]!;
  const dir = join(ctx.workDir, 'cpu-profile');
  mkdirSync(dir, { recursive: true });
  log(`starting Tessera with --cpu-prof; scenario ${scenario.label}`);
  const server = await startServer('tessera', { fixture: ctx.fixture, fixtureFile: join(ctx.workDir, 'fixture.json'), nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
  let window: [number, number];
  let result: LoadResult;
  try {
    const token = scenario.kind === 'introspect' ? await introspectionToken(server, ctx.fixture) : undefined;
    const p: Prepared = { server, template: requestFor(scenario, server, ctx.fixture, token), estimate: 10_000 };
    await check(ctx, scenario, p);
    if (opts.warmupSec > 0) {
      const r = await load(ctx, p, opts.warmupSec, await bodiesFor(ctx, scenario, server, p.estimate * opts.warmupSec));
      p.estimate = Math.max(1, r.rps);
    }
    const bodies = await bodiesFor(ctx, scenario, server, p.estimate * opts.durationSec * 1.5 + 1000);
    const start = performance.now();
    result = await load(ctx, p, opts.durationSec, bodies);
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
  const context = `\`${scenario.label}\` for ${opts.durationSec} s after a ${opts.warmupSec} s warm-up (samples of the measured window only), ${opts.connections} connections, ${ctx.loader}; ${fmt(result.rps)} ${scenario.unit} under the profiler (p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, non-2xx ${result.non2xx}). Machine: ${m.cores} cores, ${m.cpuModel}, Node ${m.node}. Generated ${new Date().toISOString()} by \`npm run bench -- --profile${scenario.id === 'basic' ? '' : ` --scenarios ${scenario.id}`}\`.`;
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, `profile-${scenario.id}.md`), profileMarkdown(summary, context));
  writeFileSync(join(opts.out, `profile-${scenario.id}.json`), JSON.stringify({ context, ...summary }, null, 2) + '\n');
  log(`profile summary written to ${join(opts.out, `profile-${scenario.id}.md`)}`);
  process.stdout.write(profileMarkdown(summary, context));
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const { loader, description } = await chooseLoader(opts);
  const workDir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const fixture = createFixture();
  writeFileSync(join(workDir, 'fixture.json'), JSON.stringify(fixture));
  const ctx: Ctx = { opts, loader, fixture, workDir, problems: [], warnings: [] };
  const running: RunningServer[] = [];
  try {
    if (opts.profile) {
      await profileTessera(ctx);
      return 0;
    }
    log(`loader: ${description}; servers: ${opts.servers.join(', ')}; scenarios: ${opts.scenarios.map((s) => s.id).join(', ')}`);
    log(`${opts.runs} run(s) × ${opts.durationSec} s after ${opts.warmupSec} s warm-up, ${opts.connections} connections`);

    const startupMs: Report['startupMs'] = {};
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
    const scenarios: ScenarioResult[] = [];
    for (const scenario of opts.scenarios) scenarios.push(await runScenario(ctx, scenario, running, rateHint));

    const tessera = running.find((s) => s.name === 'tessera');
    const micro = tessera && opts.microSec > 0 ? await runMicro(tessera, fixture, { seconds: opts.microSec, runs: opts.runs, log }) : [];

    const peakRssBytes: Report['peakRssBytes'] = {};
    for (const s of running) peakRssBytes[s.name] = memoryOf(s.pid)?.hwm ?? NaN;

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
  'Tessera runs exactly as shipped (`node bin/tessera.mjs serve`, TypeScript through tsx, pino at warn, Fastify), on its embedded default storage: a SQLite file in a temp dir. Client-assertion jti values are recorded in SQLite (one write per private_key_jwt / client_secret_jwt request).',
  'Config-file client secrets are stored by Tessera with scrypt; after the first successful check it keeps a per-process HMAC of the secret, so the measured requests cost one HMAC each, not a KDF.',
  'oidc-provider uses its built-in in-memory adapter (an LRU of 1000 entries, so its replay detection only remembers the last ~1000 jti values) and no persistence; it cannot introspect JWT access tokens, so its introspection scenario introspects an opaque token of a second resource (a lookup in that memory adapter) while Tessera and the ceiling verify the JWT signature.',
  'The ceiling server does the least honest work: Basic/form parsing, SHA-256 + timingSafeEqual of the secret (or signature, iss/aud/exp and an in-memory jti set for assertions), one ES256 signature with a cached KeyObject; nothing else.',
  'Every client_secret_jwt / private_key_jwt request carries its own assertion (fresh jti, aud = that server\'s issuer), minted before the measured window; a run whose assertions ran out is discarded and repeated with more.',
  'Before and after each scenario, one request per server is checked: HTTP 200 with an ES256 JWT access token (iss, aud, scope, client_id as expected), an active introspection result, or a non-empty JWK Set.',
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
