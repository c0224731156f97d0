/**
 * Tessera-only scenarios: Tessera run differently (worker processes, token reuse, a million
 * registered clients, PostgreSQL and Redis, a long soak), each against its own reference run
 * side by side. Every variant starts its servers fresh, checks each answer before and after the
 * load (200 and a genuine token, plus what the variant is about: reuse really reuses, the million
 * clients really authenticate, replayed assertions really fail), interleaves the measured runs of
 * its arms (A B A B …) and stops what it started.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bulkBasicHeader, bulkClientId, manyClientsDb, scatteredIndex, sqliteStats, type SqliteStats } from './clients.ts';
import { processTree, storageProcesses } from './cpu.ts';
import { mintBodies, mintJob } from './assertions.ts';
import type { RunRecord } from './report.ts';
import { check, fmt, measuredRun, measuredRuns, runLine, warmUp, type Ctx, type Feed, type MeasuredRun, type Prepared } from './runner.ts';
import { BenchCheckError, checkScenario, requestFor, SCENARIOS, type Scenario, type ScenarioId } from './scenarios.ts';
import { DEFAULT_PG_URL, DEFAULT_REDIS_URL, freshSchema, pgDropSchema, pgRowCounts, pgUnavailable, redisKeys, redisUnavailable, tesseraRedisPrefix } from './pg.ts';
import { basicHeader, memoryOf, send, startServer, stopServer, type RunningServer, type ServerName, type TesseraVariant } from './servers.ts';

export type VariantId = 'workers' | 'reuse' | 'clients_1m' | 'postgres' | 'soak' | 'observability';

export interface VariantDef {
  id: VariantId;
  label: string;
}

export const VARIANTS: readonly VariantDef[] = [
  { id: 'workers', label: 'tessera serve --workers 1 → 2 (client_secret_basic)' },
  { id: 'reuse', label: 'token reuse (client_secret_basic, token_reuse: true)' },
  { id: 'clients_1m', label: '1,000,000 registered clients (SQLite, client_secret_basic)' },
  { id: 'postgres', label: 'PostgreSQL storage (and Redis replay store)' },
  { id: 'soak', label: 'soak: client_secret_basic on SQLite, memory and database growth' },
  { id: 'observability', label: 'metrics (Prometheus) and management listener on vs off (basic, private_key_jwt ES256)' },
];

export interface VariantOptions {
  /** Extra registered clients of the clients_1m variant. */
  clients: number;
  /** Seconds of the soak's single measured run. */
  soakSec: number;
  pgUrl: string;
  redisUrl: string;
  servers: readonly ServerName[];
  /** Median throughput of a comparison scenario measured earlier in this benchmark, if any. */
  reference: (scenario: ScenarioId, server: ServerName) => number | undefined;
}

export interface ArmResult {
  id: string;
  label: string;
  server: ServerName;
  scenario: ScenarioId;
  scenarioLabel: string;
  unit: string;
  /** How the server ran. */
  setup: string;
  startupMs: number;
  fromDist?: boolean;
  warmupRps: number | undefined;
  runs: RunRecord[];
}

export interface VariantRatio {
  label: string;
  value: number;
  /** How to show the value (default: as a ratio, "1.23×"). */
  text?: string;
  /** The target, in words, and whether it was met (undefined: informational). */
  target?: string;
  met?: boolean;
}

export interface VariantResult {
  id: VariantId;
  label: string;
  arms: ArmResult[];
  ratios: VariantRatio[];
  facts: Array<{ label: string; value: string }>;
  /** Set when the variant could not run here (e.g. no PostgreSQL). */
  skipped?: string;
  /** Raw extras for latest.json (database statistics, RSS per second…). */
  data?: Record<string, unknown>;
}

interface ArmSpec {
  id: string;
  label: string;
  setup: string;
  server: ServerName;
  scenario: ScenarioId;
  tessera?: TesseraVariant;
  feed?: Feed;
  /** Account the PostgreSQL / Redis processes serving it ("db" CPU). */
  storage?: boolean;
  /** Further checks before the load, beyond a 200 with a genuine token. */
  verify?: (p: Prepared) => Promise<void>;
}

interface RunArmsOptions {
  runs: number;
  durationSec: number;
  warmupSec: number;
  /**
   * Measure this many consecutive arms at the same time (each under its own load), instead of one
   * after another: see measuredRuns.
   */
  together?: number;
  /** Called once all arms are warm, before the first measured run. */
  beforeRuns?: (prepared: Prepared[]) => Promise<void> | void;
  /** Called after the checks that follow the runs, while the servers are still up. */
  afterRuns?: (prepared: Prepared[], results: ArmResult[], measured: MeasuredRun[][]) => Promise<void> | void;
}

const scenarioById = (id: ScenarioId): Scenario => SCENARIOS.find((s) => s.id === id)!;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const medianOf = (arm: ArmResult | undefined) => (arm ? median(arm.runs.map((r) => r.rps)) : NaN);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const stripSeries = ({ rssSeries: _s, ...rest }: MeasuredRun): RunRecord => rest;

/** Starts the arms one at a time, checks them, warms them up, interleaves the runs, stops them. */
async function runArms(ctx: Ctx, specs: ArmSpec[], o: RunArmsOptions): Promise<ArmResult[]> {
  const started: RunningServer[] = [];
  const prepared: Prepared[] = [];
  const fixtureFile = join(ctx.workDir, 'fixture.json');
  try {
    // One at a time, so that each start-up is timed on an idle machine; all at once in a smoke run.
    const start = (spec: ArmSpec) => startServer(spec.server, { fixture: ctx.fixture, fixtureFile, ...(spec.tessera ? { tessera: spec.tessera } : {}) });
    if (ctx.opts.quick) {
      const all = await Promise.allSettled(specs.map(start));
      for (const r of all) if (r.status === 'fulfilled') started.push(r.value);
      const failed = all.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    for (const [i, spec] of specs.entries()) {
      const server = ctx.opts.quick ? started[i]! : await start(spec);
      if (!ctx.opts.quick) started.push(server);
      ctx.log(`  ${spec.label} up: first token ${server.startupMs.toFixed(0)} ms after spawn (pid ${server.pid}${server.fromDist === false ? ', from sources' : ''})`);
      const scenario = scenarioById(spec.scenario);
      const p: Prepared = {
        server,
        scenario,
        label: spec.label,
        template: requestFor(scenario, server, ctx.fixture),
        estimate: ctx.opts.quick ? 2000 : 10_000,
        ...(spec.feed ? { feed: spec.feed } : {}),
        ...(spec.storage ? { storagePids: () => storageProcesses(processTree(server.pid)) } : {}),
      };
      await check(ctx, p);
      await spec.verify?.(p);
      prepared.push(p);
    }
    const results: ArmResult[] = specs.map((spec, i) => {
      const scenario = scenarioById(spec.scenario);
      return {
        id: spec.id,
        label: spec.label,
        server: spec.server,
        scenario: spec.scenario,
        scenarioLabel: scenario.label,
        unit: scenario.unit,
        setup: spec.setup,
        startupMs: started[i]!.startupMs,
        ...(started[i]!.fromDist !== undefined ? { fromDist: started[i]!.fromDist } : {}),
        warmupRps: undefined,
        runs: [],
      };
    });
    if (o.warmupSec > 0) {
      for (const [i, p] of prepared.entries()) {
        results[i]!.warmupRps = await warmUp(ctx, p, o.warmupSec);
        ctx.log(`  warm-up ${p.label}: ${fmt(results[i]!.warmupRps!)}/s`);
      }
    }
    await o.beforeRuns?.(prepared);
    const measured: MeasuredRun[][] = prepared.map(() => []);
    const width = Math.max(...prepared.map((p) => p.label.length));
    const size = o.together ?? 1;
    for (let run = 1; run <= o.runs; run++) {
      for (let first = 0; first < prepared.length; first += size) {
        const group = prepared.slice(first, first + size);
        const recs = size === 1 ? [await measuredRun(ctx, group[0]!, run, o.durationSec)] : await measuredRuns(ctx, group, run, o.durationSec);
        for (const [k, rec] of recs.entries()) {
          measured[first + k]!.push(rec);
          results[first + k]!.runs.push(stripSeries(rec));
          ctx.log(runLine(group[k]!, rec, o.runs, width));
        }
      }
    }
    for (const p of prepared) await check(ctx, p);
    await o.afterRuns?.(prepared, results, measured);
    return results;
  } finally {
    for (const s of started) await stopServer(s).catch(() => undefined);
  }
}

const armOptions = (ctx: Ctx): RunArmsOptions => ({ runs: ctx.opts.runs, durationSec: ctx.opts.durationSec, warmupSec: ctx.opts.warmupSec });

function ratio(label: string, a: number, b: number, target?: { min: number; text: string }): VariantRatio {
  const value = a / b;
  return { label, value, ...(target ? { target: target.text, met: value >= target.min } : {}) };
}

// ---- workers ------------------------------------------------------------------------------------

async function workers(ctx: Ctx): Promise<VariantResult> {
  const spec = (n: number): ArmSpec => ({
    id: `workers_${n}`,
    label: `Tessera --workers ${n}`,
    setup: `tessera serve --workers ${n}, SQLite${n > 1 ? ` (cluster: a primary and ${n} worker processes sharing the port)` : ' (one process)'}`,
    server: 'tessera',
    scenario: 'basic',
    tessera: { workers: n },
    verify: async (p) => {
      // Worker processes are node processes below the primary (tsx's esbuild, if any, is not).
      const nodes = processTree(p.server.pid).filter((pid) => pid !== p.server.pid && /node/.test(safeComm(pid)));
      const expected = n > 1 ? n : 0;
      if (nodes.length < expected) throw new BenchCheckError(`${p.label}: expected ${expected} worker processes, found ${nodes.length}`);
    },
  });
  const arms = await runArms(ctx, [spec(1), spec(2)], armOptions(ctx));
  const [w1, w2] = arms;
  return {
    id: 'workers',
    label: VARIANTS[0]!.label,
    arms,
    ratios: [ratio('--workers 2 / --workers 1 (tokens/s)', medianOf(w2), medianOf(w1))],
    facts: [{ label: 'peak RSS, --workers 2 (primary + workers, summed)', value: mib(Math.max(...w2!.runs.map((r) => r.peakRssBytes))) }],
  };
}

function safeComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

// ---- observability (issue 9) ----------------------------------------------------------------------

/**
 * The same build with metrics and the management listener on (the default) and off, for
 * client_secret_basic and private_key_jwt ES256. Each pair of servers is measured at the same time,
 * each under a load of its own (measuredRuns): measured one after another, this shared 2-core VM's
 * speed drifts between runs by more than the 5 % in question (runs of one arm ranged from 7,700 to
 * 14,400 tokens/s), while two servers measured together see the same moments. Both get the same
 * CPU share from the scheduler, so the one that needs more CPU per token issues fewer tokens/s.
 * The ratio is the median of the runs' on/off ratios; an A/A pair (two identical servers with
 * metrics off) shows what the method itself can tell apart. Failure recording is on in every arm:
 * it has no switch, and it runs only for refused requests.
 */
async function observability(ctx: Ctx): Promise<VariantResult> {
  // Throttling off in all arms: a run that outlives its pre-made assertions repeats some (replays),
  // and the throttle would then refuse the rest.
  const on = { metrics: { enabled: true }, management: { listen: { host: '127.0.0.1', port: 0 } }, throttle: { max_failures: 0 } };
  const off = { metrics: { enabled: false }, management: { listen: false }, throttle: { max_failures: 0 } };
  const setupOn = 'metrics.enabled: true, management listener on (defaults), SQLite';
  const setupOff = 'metrics.enabled: false, management.listen: false, SQLite';
  const specs: ArmSpec[] = [];
  for (const scenario of ['basic', 'pkjwt_es256'] as const) {
    specs.push({ id: `obs_on_${scenario}`, label: `metrics on, ${scenario}`, setup: setupOn, server: 'tessera', scenario, tessera: { config: on } });
    specs.push({ id: `obs_off_${scenario}`, label: `metrics off, ${scenario}`, setup: setupOff, server: 'tessera', scenario, tessera: { config: off } });
  }
  specs.push({ id: 'obs_aa1_basic', label: 'A/A control 1, basic', setup: setupOff, server: 'tessera', scenario: 'basic', tessera: { config: off } });
  specs.push({ id: 'obs_aa2_basic', label: 'A/A control 2, basic', setup: setupOff, server: 'tessera', scenario: 'basic', tessera: { config: off } });
  // At least 7 runs: the median of the pairs is what is judged.
  const arms = await runArms(ctx, specs, { ...armOptions(ctx), runs: ctx.opts.quick ? ctx.opts.runs : Math.max(7, ctx.opts.runs), together: 2 });
  const arm = (id: string) => arms.find((a) => a.id === id)!;
  const pairRatios = (a: ArmResult, b: ArmResult, per: (r: RunRecord) => number) => a.runs.map((r, i) => per(r) / per(b.runs[i]!));
  const target = { min: 0.95, text: 'at most 5 % fewer tokens/s' };
  const ratios: VariantRatio[] = [];
  const facts: VariantResult['facts'] = [];
  const rps = (r: RunRecord) => r.rps;
  const perCpu = (r: RunRecord) => r.rps / r.cpu.server;
  const spread = (xs: number[]) => `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)} over ${xs.length} runs`;
  for (const [scenario, name] of [['basic', 'client_secret_basic'], ['pkjwt_es256', 'private_key_jwt ES256']] as const) {
    const xs = pairRatios(arm(`obs_on_${scenario}`), arm(`obs_off_${scenario}`), rps);
    ratios.push(ratio(`metrics on / off, ${name} (tokens/s, measured together; median of the runs)`, median(xs), 1, target));
    facts.push({ label: `on / off per run, ${name}`, value: spread(xs) });
    const cpu = pairRatios(arm(`obs_on_${scenario}`), arm(`obs_off_${scenario}`), perCpu);
    ratios.push(ratio(`metrics on / off, ${name} (tokens per server CPU-second; median)`, median(cpu), 1));
  }
  const aa = pairRatios(arm('obs_aa1_basic'), arm('obs_aa2_basic'), rps);
  ratios.push(ratio('A/A control: two identical servers, client_secret_basic (tokens/s; median)', median(aa), 1));
  facts.push({ label: 'A/A control per run', value: spread(aa) });
  facts.push({ label: 'failure recording', value: 'on in every arm (it has no switch; it only runs for refused requests)' });
  return { id: 'observability', label: VARIANTS.find((v) => v.id === 'observability')!.label, arms, ratios, facts };
}

// ---- token reuse --------------------------------------------------------------------------------

async function reuse(ctx: Ctx, vo: VariantOptions): Promise<VariantResult> {
  let kept: string | undefined;
  const specs: ArmSpec[] = [
    {
      id: 'reuse',
      label: 'Tessera, token_reuse',
      setup: 'Basic client with token_reuse: true (min_remaining_fraction 0.5 by default), same scope and audience every request, SQLite',
      server: 'tessera',
      scenario: 'basic',
      tessera: { basicClient: { token_reuse: true } },
      verify: async (p) => {
        // Reuse must really happen: the second answer is the first token (no more time left).
        const a = await check(ctx, p);
        const b = await check(ctx, p);
        if (!a || !b || a.token !== b.token) throw new BenchCheckError(`${p.label}: a second request got another token: reuse is not on`);
        if (b.expiresIn > a.expiresIn) throw new BenchCheckError(`${p.label}: the reused token's expires_in went up (${a.expiresIn} → ${b.expiresIn})`);
        kept = a.token;
      },
    },
  ];
  if (vo.servers.includes('ceiling')) specs.push({ id: 'ceiling', label: 'ceiling (node:http)', setup: 'bench/servers/ceiling.ts: one ES256 signature per request', server: 'ceiling', scenario: 'basic' });
  let stillKept = false;
  const arms = await runArms(ctx, specs, {
    ...armOptions(ctx),
    afterRuns: async (prepared) => {
      const t = await check(ctx, prepared[0]!);
      stillKept = t?.token === kept;
    },
  });
  const r = arms.find((a) => a.id === 'reuse');
  const c = arms.find((a) => a.id === 'ceiling');
  const ratios: VariantRatio[] = [];
  if (c) ratios.push(ratio('token reuse / ceiling (tokens/s)', medianOf(r), medianOf(c)));
  const plain = vo.reference('basic', 'tessera');
  if (plain) ratios.push(ratio('token reuse / Tessera client_secret_basic without reuse (comparison table)', medianOf(r), plain));
  return {
    id: 'reuse',
    label: VARIANTS[1]!.label,
    arms,
    ratios,
    facts: [{ label: 'the token served after the load is the one kept before it', value: stillKept ? 'yes (every request of the runs got the kept token)' : 'no (a new token was minted meanwhile)' }],
  };
}

// ---- 1M clients -----------------------------------------------------------------------------------

async function manyClients(ctx: Ctx, vo: VariantOptions): Promise<VariantResult> {
  const n = vo.clients;
  ctx.log(`  preparing a SQLite file with ${n.toLocaleString('en-US')} extra clients`);
  const db = await manyClientsDb(n, ctx.fixture.scope, ctx.log);
  const total = n + 7; // the bench clients Tessera bootstraps from its config
  const nLabel = n >= 1_000_000 && n % 1_000_000 === 0 ? `${n / 1_000_000}M` : n.toLocaleString('en-US');
  const runs = ctx.opts.runs;
  // A different client per request, scattered over all N: warm-up and each run get their own share,
  // so that no client repeats within the benchmark (the client cache never helps).
  const share = Math.floor(n / (runs + 1));
  const cold: Feed = (count, run) => {
    if (run < 0) return { auths: [bulkBasicHeader(n - 1)], clientIds: [bulkClientId(n - 1)] };
    const k0 = run * share;
    const m = Math.min(count, share);
    return { auths: Array.from({ length: m }, (_, k) => bulkBasicHeader(scatteredIndex(k0 + k, n))) };
  };
  const verifyBulk = async (p: Prepared) => {
    // A registered bulk client gets its token; a wrong secret is refused.
    for (const i of [0, Math.floor(n / 2), n - 1]) {
      await checkScenario(p.scenario, p.server, ctx.fixture, p.template, p.template.body, { authorization: bulkBasicHeader(i), clientId: bulkClientId(i) });
    }
    const bad = await send(p.server.origin, { method: 'POST', path: p.template.path, headers: { ...p.template.headers, authorization: basicHeader(bulkClientId(1), 'wrong-secret') }, body: p.template.body! });
    if (bad.status !== 401) throw new BenchCheckError(`${p.label}: a wrong secret got HTTP ${bad.status}, expected 401`);
  };
  let stats: SqliteStats | undefined;
  const arms = await runArms(
    ctx,
    [
      { id: 'clients_10', label: 'Tessera, 7 clients', setup: 'the 7 bench clients only (the comparison setup), SQLite', server: 'tessera', scenario: 'basic' },
      { id: 'clients_many', label: `Tessera, ${nLabel} clients`, setup: `${n.toLocaleString('en-US')} extra clients in the SQLite file; the Basic client as before`, server: 'tessera', scenario: 'basic', tessera: { seedSqlite: db.path }, verify: verifyBulk },
      {
        id: 'clients_many_cold',
        label: `Tessera, ${nLabel} clients, new client each request`,
        setup: `same file; every request authenticates as another of the ${n.toLocaleString('en-US')} clients (scattered, never repeated: each a client-cache miss, a SQLite read and a JSON parse)`,
        server: 'tessera',
        scenario: 'basic',
        tessera: { seedSqlite: db.path },
        feed: cold,
      },
    ],
    {
      ...armOptions(ctx),
      afterRuns: (prepared) => {
        stats = sqliteStats(prepared[1]!.server.sqlitePath!);
      },
    },
  );
  const [a10, many, manyCold] = arms;
  return {
    id: 'clients_1m',
    label: VARIANTS[2]!.label,
    arms,
    ratios: [
      ratio(`${nLabel} clients / 7 clients (same client each request)`, medianOf(many), medianOf(a10), { min: 0.9, text: 'within 10 % (≥ 0.90)' }),
      ratio(`${nLabel} clients, new client each request / 7 clients`, medianOf(manyCold), medianOf(a10)),
    ],
    facts: [
      { label: 'registered clients', value: `${total.toLocaleString('en-US')} (${stats?.rows.clients?.toLocaleString('en-US') ?? '?'} rows in clients)` },
      { label: 'SQLite file as built (clients only)', value: `${mib(db.bytes)} (${(db.bytes / n).toFixed(0)} bytes per client)` },
      ...(stats ? [{ label: 'SQLite file after the runs (db + wal)', value: `${mib(stats.dbBytes)} + ${mib(stats.walBytes)}` }] : []),
      { label: 'file build', value: db.cached ? `cached from an earlier run (${db.path})` : `${db.buildSec.toFixed(1)} s (one transaction, one prepared statement)` },
      { label: `serve → first token with ${nLabel} clients`, value: `${many!.startupMs.toFixed(0)} ms (7 clients: ${a10!.startupMs.toFixed(0)} ms)` },
    ],
    data: { dbPath: db.path, dbBytes: db.bytes, cached: db.cached, buildSec: db.buildSec, statsAfter: stats },
  };
}

// ---- PostgreSQL -----------------------------------------------------------------------------------

async function postgresVariant(ctx: Ctx, vo: VariantOptions): Promise<VariantResult> {
  const label = VARIANTS[3]!.label;
  const pgDown = await pgUnavailable(vo.pgUrl);
  if (pgDown) return { id: 'postgres', label, arms: [], ratios: [], facts: [], skipped: `PostgreSQL not reachable at ${vo.pgUrl}: ${pgDown}` };
  const redisDown = await redisUnavailable(vo.redisUrl);
  const schemas = { basic: freshSchema(), es256: freshSchema(), redis: freshSchema() };
  const url = (schema: string, redis?: string) => `${vo.pgUrl}${vo.pgUrl.includes('?') ? '&' : '?'}schema=${schema}${redis ? `&redis=${encodeURIComponent(redis)}` : ''}`;
  const replayRejected = async (p: Prepared) => {
    // The replay store is in use: the same assertion twice, the second refused.
    const [body] = await mintBodies(mintJob(ctx.fixture, 'ES256', p.server.issuer, 1));
    const first = await send(p.server.origin, { method: 'POST', path: p.template.path, headers: p.template.headers, body: body! });
    const second = await send(p.server.origin, { method: 'POST', path: p.template.path, headers: p.template.headers, body: body! });
    if (first.status !== 200 || second.status < 400 || second.status >= 500) throw new BenchCheckError(`${p.label}: a replayed assertion got HTTP ${first.status} then ${second.status} (expected 200 then 400/401)`);
  };
  const specs: ArmSpec[] = [
    { id: 'pg_basic', label: 'Tessera, PostgreSQL, basic', setup: `storage.url ${url(schemas.basic)}`, server: 'tessera', scenario: 'basic', tessera: { storageUrl: url(schemas.basic) }, storage: true },
    { id: 'pg_es256', label: 'Tessera, PostgreSQL, ES256', setup: `storage.url ${url(schemas.es256)} (jti replay records in PostgreSQL)`, server: 'tessera', scenario: 'pkjwt_es256', tessera: { storageUrl: url(schemas.es256) }, storage: true, verify: replayRejected },
  ];
  if (!redisDown) {
    specs.push({ id: 'pg_redis_es256', label: 'Tessera, PostgreSQL + Redis, ES256', setup: `storage.url ${url(schemas.redis, vo.redisUrl)} (jti replay records in Redis)`, server: 'tessera', scenario: 'pkjwt_es256', tessera: { storageUrl: url(schemas.redis, vo.redisUrl) }, storage: true, verify: replayRejected });
  }
  let rows: Record<string, Record<string, number>> = {};
  let redisReplayKeys = NaN;
  const redisPrefix = tesseraRedisPrefix(vo.pgUrl, schemas.redis);
  try {
    const arms = await runArms(ctx, specs, {
      ...armOptions(ctx),
      afterRuns: async () => {
        rows = { basic: await pgRowCounts(vo.pgUrl, schemas.basic), es256: await pgRowCounts(vo.pgUrl, schemas.es256) };
        if (!redisDown) {
          rows.redis = await pgRowCounts(vo.pgUrl, schemas.redis);
          redisReplayKeys = await redisKeys(vo.redisUrl, redisPrefix);
        }
      },
    });
    const byId = (id: string) => arms.find((a) => a.id === id);
    const ratios: VariantRatio[] = [];
    const sqliteBasic = vo.reference('basic', 'tessera');
    const sqliteEs256 = vo.reference('pkjwt_es256', 'tessera');
    const ceilingEs256 = vo.reference('pkjwt_es256', 'ceiling');
    const oidcBasic = vo.reference('basic', 'oidc-provider');
    const oidcEs256 = vo.reference('pkjwt_es256', 'oidc-provider');
    if (sqliteBasic) ratios.push(ratio('PostgreSQL basic / SQLite basic (comparison table)', medianOf(byId('pg_basic')), sqliteBasic));
    if (sqliteEs256) ratios.push(ratio('PostgreSQL ES256 / SQLite ES256 (comparison table)', medianOf(byId('pg_es256')), sqliteEs256));
    if (sqliteEs256 && byId('pg_redis_es256')) ratios.push(ratio('PostgreSQL + Redis ES256 / SQLite ES256', medianOf(byId('pg_redis_es256')), sqliteEs256));
    if (oidcBasic) ratios.push(ratio('PostgreSQL basic / oidc-provider basic', medianOf(byId('pg_basic')), oidcBasic));
    if (oidcEs256) ratios.push(ratio('PostgreSQL ES256 / oidc-provider ES256', medianOf(byId('pg_es256')), oidcEs256));
    if (oidcEs256 && byId('pg_redis_es256')) ratios.push(ratio('PostgreSQL + Redis ES256 / oidc-provider ES256', medianOf(byId('pg_redis_es256')), oidcEs256));
    if (ceilingEs256) ratios.push(ratio('PostgreSQL ES256 / ceiling ES256', medianOf(byId('pg_es256')), ceilingEs256));
    const facts = [
      { label: 'PostgreSQL', value: `${vo.pgUrl}, a fresh schema per arm (${Object.values(schemas).join(', ')}), dropped afterwards` },
      { label: 'replay rows in PostgreSQL after the ES256 runs', value: `${(rows.es256?.replay ?? NaN).toLocaleString('en-US')} (one per assertion accepted)` },
    ];
    if (!redisDown) {
      facts.push({ label: 'with Redis: replay rows in PostgreSQL / replay keys in Redis', value: `${(rows.redis?.replay ?? NaN).toLocaleString('en-US')} / ${redisReplayKeys.toLocaleString('en-US')} under ${redisPrefix}` });
    } else {
      facts.push({ label: 'Redis', value: `not reachable at ${vo.redisUrl} (${redisDown}): the Redis arm was skipped` });
    }
    return { id: 'postgres', label, arms, ratios, facts, data: { schemas, rows, redisReplayKeys } };
  } finally {
    for (const s of Object.values(schemas)) await pgDropSchema(vo.pgUrl, s).catch((e: Error) => ctx.warnings.push(`could not drop schema ${s}: ${e.message}`));
    if (!redisDown) await redisKeys(vo.redisUrl, redisPrefix, true).catch(() => undefined);
  }
}

// ---- soak ---------------------------------------------------------------------------------------

/** 150 MB, the memory target (issue: peak RSS ≤ 150 MB), in bytes. */
export const RSS_TARGET_BYTES = 150e6;

/**
 * The one table written whatever the load: the console's per-minute activity counts, which each
 * instance adds every 5 s (ACTIVITY_FLUSH_MS) — at most a row per client and per realm per minute.
 * Its writes follow the clock, not the tokens: the soak allows them a bound per flush, no more.
 */
const TIME_BASED_TABLES = new Set(['activity']);
const ACTIVITY_FLUSH_SEC = 5;
/** WAL bytes one flush may add: a handful of pages (4 KiB each) for a few rows and their index. */
const BYTES_PER_FLUSH = 32 * 1024;

async function soak(ctx: Ctx, vo: VariantOptions): Promise<VariantResult> {
  let before: SqliteStats | undefined;
  let after: SqliteStats | undefined;
  let hwm = NaN;
  let series: number[] = [];
  const arms = await runArms(
    ctx,
    [{ id: 'soak', label: `Tessera (SQLite), ${vo.soakSec} s`, setup: 'the comparison setup: SQLite file, one process, client_secret_basic', server: 'tessera', scenario: 'basic' }],
    {
      runs: 1,
      durationSec: vo.soakSec,
      warmupSec: ctx.opts.warmupSec,
      beforeRuns: (prepared) => {
        before = sqliteStats(prepared[0]!.server.sqlitePath!);
      },
      afterRuns: (prepared, _results, measured) => {
        after = sqliteStats(prepared[0]!.server.sqlitePath!);
        hwm = memoryOf(prepared[0]!.server.pid)?.hwm ?? NaN;
        series = measured[0]![0]!.rssSeries;
      },
    },
  );
  const run = arms[0]!.runs[0]!;
  const tokens = run.requests - run.non2xx;
  const size = (s: SqliteStats | undefined) => (s ? s.dbBytes + s.walBytes : NaN);
  const growth = size(after) - size(before);
  const rowsChanged = before && after ? Object.keys({ ...before.rows, ...after.rows }).filter((t) => before!.rows[t] !== after!.rows[t] && !TIME_BASED_TABLES.has(t)) : ['?'];
  // Flushes that may have happened between the two measurements (warm-up included), and their bound.
  const flushes = Math.ceil((vo.soakSec + ctx.opts.warmupSec + 2) / ACTIVITY_FLUSH_SEC) + 1;
  const allowedGrowth = flushes * BYTES_PER_FLUSH;
  const peak = Math.max(run.peakRssBytes, Number.isFinite(hwm) ? hwm : 0);
  const finite = series.filter(Number.isFinite);
  return {
    id: 'soak',
    label: VARIANTS[4]!.label,
    arms,
    ratios: [
      { label: `peak RSS over the ${vo.soakSec} s run (VmRSS sampled every 200 ms, and VmHWM since start)`, value: peak / 1e6, text: `${(peak / 1e6).toFixed(1)} MB (${mib(peak)})`, target: '≤ 150 MB', met: peak <= RSS_TARGET_BYTES },
      {
        label: 'database growth per token issued',
        value: tokens > 0 ? growth / tokens : NaN,
        text: `${growth.toLocaleString('en-US')} bytes over ${tokens.toLocaleString('en-US')} tokens (the per-minute activity counts, written every ${ACTIVITY_FLUSH_SEC} s whatever the load, may add up to ${allowedGrowth.toLocaleString('en-US')}); rows changed outside ${[...TIME_BASED_TABLES].join(', ')}: ${rowsChanged.length ? rowsChanged.join(', ') : 'none'}`,
        target: 'none (no write per token)',
        met: growth <= allowedGrowth && rowsChanged.length === 0,
      },
    ],
    facts: [
      { label: 'tokens issued in the measured run', value: tokens.toLocaleString('en-US') },
      { label: 'peak RSS: sampled / VmHWM (whole process life)', value: `${mib(run.peakRssBytes)} / ${mib(hwm)} (= ${(run.peakRssBytes / 1e6).toFixed(1)} / ${(hwm / 1e6).toFixed(1)} MB)` },
      ...(finite.length ? [{ label: 'RSS at the start / middle / end of the run', value: `${mib(finite[0]!)} / ${mib(finite[Math.floor(finite.length / 2)]!)} / ${mib(finite[finite.length - 1]!)}` }] : []),
      { label: 'SQLite db + wal before the run', value: before ? `${before.dbBytes.toLocaleString('en-US')} + ${before.walBytes.toLocaleString('en-US')} bytes` : '?' },
      { label: 'SQLite db + wal after the run', value: after ? `${after.dbBytes.toLocaleString('en-US')} + ${after.walBytes.toLocaleString('en-US')} bytes (${growth >= 0 ? '+' : ''}${growth.toLocaleString('en-US')})` : '?' },
      { label: 'rows before → after', value: before && after ? Object.keys(after.rows).map((t) => `${t} ${before!.rows[t] ?? 0}→${after!.rows[t]}`).join(', ') : '?' },
    ],
    data: { before, after, hwmBytes: hwm, rssPerSecondBytes: series },
  };
}

// ---- entry ----------------------------------------------------------------------------------------

export async function runVariant(ctx: Ctx, id: VariantId, vo: VariantOptions): Promise<VariantResult> {
  ctx.log(`Tessera-only: ${VARIANTS.find((v) => v.id === id)!.label}`);
  switch (id) {
    case 'workers':
      return workers(ctx);
    case 'reuse':
      return reuse(ctx, vo);
    case 'clients_1m':
      return manyClients(ctx, vo);
    case 'postgres':
      return postgresVariant(ctx, vo);
    case 'soak':
      return soak(ctx, vo);
    case 'observability':
      return observability(ctx);
  }
}

export const VARIANT_DEFAULTS = { clients: 1_000_000, soakSec: 60, pgUrl: DEFAULT_PG_URL, redisUrl: DEFAULT_REDIS_URL };
