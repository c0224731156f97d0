/**
 * The measuring machinery shared by the comparison scenarios (bench/run.ts) and the Tessera-only
 * ones (variants.ts): the request stream of a prepared server, the check before and after, and one
 * measured run with its CPU and memory accounting.
 */
import { mintBodies, mintJob } from './assertions.ts';
import { cpuSnapshot, cpuUse, processTree, type CpuUse } from './cpu.ts';
import type { Fixture } from './fixtures.ts';
import { runLoad, type LoaderName, type LoadResult } from './load.ts';
import type { RunRecord } from './report.ts';
import { checkScenario, type CheckedToken, type RequestTemplate, type Scenario } from './scenarios.ts';
import { sampleRss, type RunningServer } from './servers.ts';

export interface RunnerOptions {
  durationSec: number;
  runs: number;
  warmupSec: number;
  connections: number;
  threads: number;
  quick: boolean;
}

export interface Ctx {
  opts: RunnerOptions;
  loader: LoaderName;
  fixture: Fixture;
  workDir: string;
  problems: string[];
  warnings: string[];
  log: (message: string) => void;
}

/** What varies from request to request in a run (beyond a static template). */
export interface Items {
  bodies?: string[];
  auths?: string[];
  /** The client each request authenticates as, when not the scenario's own (checked on the first). */
  clientIds?: string[];
}

/**
 * Supplies `count` distinct requests for one load (warm-up, or measured run `run`); used instead of
 * minted assertions, e.g. a different client per request.
 */
export type Feed = (count: number, run: number) => Promise<Items> | Items;

export interface Prepared {
  server: RunningServer;
  scenario: Scenario;
  /** Names the server (or the variant arm) in logs and messages. */
  label: string;
  template: RequestTemplate;
  /** Estimated 2xx/s, sizing the next batch of minted assertions. */
  estimate: number;
  feed?: Feed;
  /** Database processes working for this server (PostgreSQL backends, Redis), re-read before each run. */
  storagePids?: () => number[];
}

/** Distinct bodies are needed once per server for warm-up and each run; most scenarios need none. */
export const MAX_BODIES = 600_000;
/** Cores used by processes outside the benchmark above which a run is flagged as disturbed. */
export const NOISE_CORES = 0.15;

export const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

export async function itemsFor(ctx: Ctx, p: Prepared, count: number, run: number): Promise<Items | undefined> {
  const n = Math.min(MAX_BODIES, Math.max(1, Math.ceil(count)));
  if (p.feed) return p.feed(n, run);
  const alg = p.scenario.assertionAlg;
  if (!alg) return undefined;
  const started = performance.now();
  const bodies = await mintBodies(mintJob(ctx.fixture, alg, p.server.issuer, n));
  if (n > 5000) ctx.log(`    minted ${fmt(n)} ${alg} assertions for ${p.label} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { bodies };
}

const itemCount = (items: Items | undefined) => items?.auths?.length ?? items?.bodies?.length ?? 0;

export function load(ctx: Ctx, p: Prepared, seconds: number, items: Items | undefined): Promise<LoadResult> {
  return runLoad(ctx.loader, {
    origin: p.server.origin,
    method: p.template.method,
    path: p.template.path,
    headers: p.template.headers,
    ...(items?.bodies ? { bodies: items.bodies } : p.template.body !== undefined ? { body: p.template.body } : {}),
    ...(items?.auths ? { auths: items.auths } : {}),
    connections: ctx.opts.connections,
    durationSec: seconds,
    threads: ctx.opts.threads,
    workDir: ctx.workDir,
  });
}

/** One request checked for a correct answer (see checkScenario); for a feed, its first request. */
export async function check(ctx: Ctx, p: Prepared): Promise<CheckedToken | undefined> {
  if (p.feed) {
    const items = await p.feed(1, -1);
    const body = items.bodies?.[0] ?? p.template.body;
    return checkScenario(p.scenario, p.server, ctx.fixture, p.template, body, {
      ...(items.auths ? { authorization: items.auths[0]! } : {}),
      ...(items.clientIds ? { clientId: items.clientIds[0]! } : {}),
    });
  }
  const items = await itemsFor(ctx, p, 1, 0);
  return checkScenario(p.scenario, p.server, ctx.fixture, p.template, items?.bodies ? items.bodies[0] : p.template.body);
}

/** The warm-up of one prepared server; updates its rate estimate. */
export async function warmUp(ctx: Ctx, p: Prepared, seconds: number): Promise<number> {
  const items = await itemsFor(ctx, p, p.estimate * seconds * 1.5 + 500, 0);
  const r = await load(ctx, p, seconds, items);
  p.estimate = Math.max(r.rps, 1);
  return r.rps;
}

export interface MeasuredRun extends RunRecord {
  /** VmRSS of the server process tree, one sample per second of the run. */
  rssSeries: number[];
}

/** One measured run; re-done with more requests if the pre-minted ones ran out. */
export async function measuredRun(ctx: Ctx, p: Prepared, run: number, durationSec = ctx.opts.durationSec): Promise<MeasuredRun> {
  return (await measuredRuns(ctx, [p], run, durationSec))[0]!;
}

/**
 * Measured runs of several servers at the same time, each under a load of its own started together:
 * they share the machine's moments, so a slower or faster stretch of this shared VM touches all of
 * them alike, and their ratio is far steadier than that of runs taken one after another. Each
 * server's "other" CPU leaves out the servers measured with it; its "loader" CPU covers every load
 * generator of the group (they are children of this process). Re-done (all of them) with more
 * requests if the pre-minted ones of one ran out.
 */
export async function measuredRuns(ctx: Ctx, ps: Prepared[], run: number, durationSec = ctx.opts.durationSec): Promise<MeasuredRun[]> {
  const discarded = ps.map(() => 0);
  for (;;) {
    const items: Array<Items | undefined> = [];
    for (const p of ps) items.push(await itemsFor(ctx, p, p.estimate * durationSec * 1.5 + 1000, run));
    const serverPids = ps.map((p) => processTree(p.server.pid));
    const rss = ps.map((p) => sampleRss(p.server.pid));
    const before = ps.map((p, i) => cpuSnapshot(serverPids[i]!, p.storagePids?.()));
    // The loads start one after another within a millisecond; which goes first alternates by run.
    const order = run % 2 ? ps.map((_, i) => i) : ps.map((_, i) => ps.length - 1 - i);
    const started = new Map(order.map((i) => [i, load(ctx, ps[i]!, durationSec, items[i])] as const));
    const results = await Promise.all(ps.map((_, i) => started.get(i)!));
    const cpus = ps.map((p, i) => cpuUse(before[i]!, cpuSnapshot(serverPids[i]!, p.storagePids?.())));
    const ours = (c: CpuUse) => c.server + (c.storage ?? 0);
    const together = cpus.reduce((sum, c) => sum + ours(c), 0);
    for (const c of cpus) c.other = Math.max(0, c.other - (together - ours(c)));
    const peaks = rss.map((r) => r.stop());
    let again = false;
    for (const [i, p] of ps.entries()) {
      const r = results[i]!;
      const n = itemCount(items[i]);
      if (r.exhausted > 0 && discarded[i]! < 3 && n < MAX_BODIES) {
        discarded[i]!++;
        p.estimate = Math.max(p.estimate, r.requests / r.durationSec) * 2;
        ctx.log(`    ${p.label}: pre-made requests ran out (${fmt(n)}); repeating the run with more`);
        again = true;
      } else if (r.requests === 0 && discarded[i]! < 3) {
        // Not one answer in the whole run (a --quick run lasts 0.3 s: a stall of the machine or a
        // cold start is enough): there is nothing to measure, so the run is done again.
        discarded[i]!++;
        ctx.log(`    ${p.label}: no answer within the run; repeating it`);
        again = true;
      }
    }
    if (again) continue;
    return ps.map((p, i) => {
      const r = results[i]!;
      const cpu = cpus[i]!;
      const where = `${p.scenario.label} @ ${p.label}, run ${run}`;
      if (r.exhausted > 0) ctx.problems.push(`${where}: pre-made requests ran out and were reused (${r.exhausted}×); replayed assertions count as non-2xx`);
      if (r.requests === 0) ctx.problems.push(`${where}: not one answer in ${discarded[i]! + 1} tries`);
      if (r.non2xx > 0 || r.errors > 0) {
        ctx.problems.push(`${where}: ${fmt(r.non2xx)} non-2xx responses and ${fmt(r.errors)} socket errors/timeouts out of ${fmt(r.requests)} requests`);
      }
      if (cpu.other > NOISE_CORES) {
        ctx.warnings.push(`${where}: processes outside the benchmark used ${cpu.other.toFixed(2)} cores during the run`);
      }
      p.estimate = Math.max(r.rps, 1);
      const rssSampler = rss[i]!;
      return { run, rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, requests: r.requests, non2xx: r.non2xx, errors: r.errors, durationSec: r.durationSec, peakRssBytes: peaks[i]!, discardedAttempts: discarded[i]!, cpu, rssSeries: rssSampler.series() };
    });
  }
}

export function runLine(p: Prepared, rec: RunRecord, runs: number, width = 13): string {
  const storage = rec.cpu.storage !== undefined ? ` db ${rec.cpu.storage.toFixed(2)}` : '';
  return `  run ${rec.run}/${runs} ${p.label.padEnd(width)} ${fmt(rec.rps).padStart(7)} ${p.scenario.unit}  p50 ${rec.p50Ms.toFixed(2)} ms  p99 ${rec.p99Ms.toFixed(2)} ms  non-2xx ${rec.non2xx}  RSS ${Math.round(rec.peakRssBytes / 2 ** 20)} MiB  CPU server ${rec.cpu.server.toFixed(2)}${storage} loader ${rec.cpu.loader.toFixed(2)} other ${rec.cpu.other.toFixed(2)}`;
}
