/**
 * Results → latest.json, latest.md (Markdown tables) and latest.svg (a hand-written bar chart).
 */
import { cpus, totalmem, release } from 'node:os';
import { readFileSync } from 'node:fs';
import type { CpuUse } from './cpu.ts';
import type { MicroResult } from './micro.ts';
import { SERVER_LABELS, type ServerName } from './servers.ts';
import type { ScenarioId } from './scenarios.ts';
import type { VariantResult } from './variants.ts';

export interface RunRecord {
  run: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  durationSec: number;
  peakRssBytes: number;
  /** Attempts thrown away and done again: pre-minted assertions ran out (re-run with more), or not one answer came. */
  discardedAttempts: number;
  /** Average cores busy during the run: server process, load generator + harness, everything else. */
  cpu: CpuUse;
}

export interface ScenarioServerResult {
  server: ServerName;
  warmupRps: number | undefined;
  runs: RunRecord[];
}

export interface ScenarioResult {
  id: ScenarioId;
  label: string;
  unit: string;
  servers: ScenarioServerResult[];
}

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  memoryGiB: number;
}

export interface Report {
  generatedAt: string;
  quick: boolean;
  machine: Machine;
  loader: string;
  settings: { durationSec: number; runs: number; warmupSec: number; connections: number; threads: number; order: string };
  /** Milliseconds from spawn to the first token served, per server. */
  startupMs: Partial<Record<ServerName, number[]>>;
  /** VmHWM of each server process at the end, bytes. */
  peakRssBytes: Partial<Record<ServerName, number>>;
  scenarios: ScenarioResult[];
  micro: MicroResult[];
  /** Tessera-only scenarios (workers, token reuse, 1M clients, PostgreSQL, soak). */
  variants: VariantResult[];
  /** Whether Tessera ran its compiled dist/ build at every start (else, at least once, the sources through tsx). */
  tesseraFromDist?: boolean;
  /** Invalid measurements (non-2xx, errors, reused assertions): the command fails. */
  problems: string[];
  /** Doubtful measurements (e.g. other processes busy on the machine). */
  warnings: string[];
  notes: string[];
}

export function machine(): Machine {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? model;
  } catch {
    /* not Linux */
  }
  return { cores: cpus().length, cpuModel: model, node: process.version, platform: `${process.platform} ${release()}`, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10 };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const min = (xs: number[]) => Math.min(...xs);
const max = (xs: number[]) => Math.max(...xs);

const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ms = (x: number) => (!Number.isFinite(x) ? '–' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const mb = (bytes: number) => (Number.isFinite(bytes) && bytes > 0 ? `${Math.round(bytes / 2 ** 20)}` : '–');
const cores = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
/** Server CPU per 2xx response, microseconds (cores busy ÷ responses per second). */
const usPerRequest = (r: RunRecord) => (r.rps > 0 ? (r.cpu.server * 1e6) / r.rps : NaN);
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–');

function range(xs: number[], fmt: (x: number) => string): string {
  if (xs.length === 0) return '–';
  if (xs.length === 1) return fmt(xs[0]!);
  return `${fmt(median(xs))} (${fmt(min(xs))}–${fmt(max(xs))})`;
}

export function medianRps(s: ScenarioResult, server: ServerName): number {
  const r = s.servers.find((x) => x.server === server);
  return r ? median(r.runs.map((x) => x.rps)) : NaN;
}

export function toMarkdown(report: Report): string {
  const m = report.machine;
  const st = report.settings;
  const servers = [...new Set(report.scenarios.flatMap((s) => s.servers.map((x) => x.server)))];
  const lines: string[] = [];
  lines.push(`# Tessera benchmark${report.quick ? ' (quick smoke run — numbers are meaningless)' : ''}`, '');
  lines.push(`Generated ${report.generatedAt} by \`npm run bench\`.`, '');
  lines.push(`- Machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.platform}`);
  lines.push(`- Node ${m.node}; load generator: ${report.loader}`);
  lines.push(`- ${st.runs} run(s) × ${st.durationSec} s per server and scenario after a ${st.warmupSec} s warm-up; ${st.connections} keep-alive connections${report.loader.startsWith('wrk') ? `, ${st.threads} wrk thread(s)` : ''}; ${st.order}`);
  lines.push(`- Servers on loopback, each its own process; load generator on the same machine (it competes for the same ${m.cores} cores)`);
  if (report.tesseraFromDist !== undefined) lines.push(`- Tessera ran ${report.tesseraFromDist ? 'its compiled dist/ build (as `npm install` leaves it)' : '**from the TypeScript sources through tsx at least once** (dist/ was older than src/): its figures are pessimistic'}`);
  lines.push('- Cells: median (min–max) over runs. Throughput counts 2xx responses only; non-2xx is the total over all measured runs; peak RSS is the largest VmRSS sampled while that server was under load in that scenario (summed over a cluster\'s processes); CPU is average cores busy during a run (from /proc): the server process tree, the database processes serving it ("db", PostgreSQL/Redis only), and everything outside the benchmark ("other": the machine is shared); CPU µs/req is server CPU per 2xx response', '');

  if (report.problems.length) {
    lines.push('## ⚠ Problems', '', ...report.problems.map((p) => `- ${p}`), '');
  }
  if (report.warnings.length) {
    lines.push('## Warnings', '', ...report.warnings.map((p) => `- ${p}`), '');
  }

  if (report.scenarios.length) lines.push(...comparisonMarkdown(report, servers));
  if (report.variants.length) lines.push(...variantsMarkdown(report.variants));
  return restMarkdown(report, lines);
}

function comparisonMarkdown(report: Report, servers: ServerName[]): string[] {
  const lines: string[] = [];
  lines.push('## Summary (median throughput)', '');
  const head = ['Scenario', 'Unit', ...servers.map((s) => SERVER_LABELS[s])];
  if (servers.includes('tessera') && servers.includes('oidc-provider')) head.push('Tessera / oidc-provider');
  if (servers.includes('tessera') && servers.includes('ceiling')) head.push('Tessera / ceiling');
  lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const s of report.scenarios) {
    const row = [s.label, s.unit, ...servers.map((srv) => int(medianRps(s, srv)))];
    if (head.includes('Tessera / oidc-provider')) row.push(ratio(medianRps(s, 'tessera'), medianRps(s, 'oidc-provider')));
    if (head.includes('Tessera / ceiling')) row.push(ratio(medianRps(s, 'tessera'), medianRps(s, 'ceiling')));
    lines.push(`| ${row.join(' | ')} |`);
  }
  lines.push('');

  lines.push('## Detail', '');
  lines.push(
    '| Scenario | Server | Throughput /s | p50 ms | p99 ms | non-2xx | errors | peak RSS MiB | server CPU (cores) | CPU µs/req | other CPU (cores, max) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const s of report.scenarios) {
    for (const r of s.servers) {
      const runs = r.runs;
      lines.push(
        `| ${s.label} | ${SERVER_LABELS[r.server]} | ${range(runs.map((x) => x.rps), int)} | ${range(runs.map((x) => x.p50Ms), ms)} | ${range(runs.map((x) => x.p99Ms), ms)} | ${int(runs.reduce((a, x) => a + x.non2xx, 0))} | ${int(runs.reduce((a, x) => a + x.errors, 0))} | ${mb(max(runs.map((x) => x.peakRssBytes)))} | ${range(runs.map((x) => x.cpu.server), cores)} | ${range(runs.map(usPerRequest), int)} | ${cores(max(runs.map((x) => x.cpu.other)))} |`,
      );
    }
  }
  lines.push('');
  return lines;
}

function restMarkdown(report: Report, lines: string[]): string {
  const startupServers = Object.keys(report.startupMs) as ServerName[];
  if (startupServers.length) {
    lines.push('## From `serve` to first token', '');
    lines.push('Milliseconds from spawning the process (fresh data directory: new SQLite file, migrations, key generation, client bootstrap) until the first `client_secret_basic` token response arrives; polled every 5 ms.', '');
    lines.push('| Server | median (min–max) ms | samples |', '| --- | ---: | ---: |');
    for (const srv of startupServers) {
      const xs = report.startupMs[srv]!;
      lines.push(`| ${SERVER_LABELS[srv]} | ${range(xs, (x) => x.toFixed(0))} | ${xs.length} |`);
    }
    lines.push('');
  }

  const hwm = Object.entries(report.peakRssBytes) as Array<[ServerName, number]>;
  if (hwm.length) {
    lines.push('## Peak memory over the whole benchmark (VmHWM)', '', '| Server | MiB |', '| --- | ---: |');
    for (const [srv, b] of hwm) lines.push(`| ${SERVER_LABELS[srv]} | ${mb(b)} |`);
    lines.push('');
  }

  if (report.micro.length) {
    lines.push('## In-process microbenchmarks', '', '| Benchmark | median (min–max) | unit |', '| --- | ---: | --- |');
    for (const r of report.micro) lines.push(`| ${r.label} | ${range(r.perSec, int)} | ${r.unit} |`);
    lines.push('');
  }

  if (report.notes.length) lines.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  lines.push('![throughput chart](latest.svg)', '');
  return lines.join('\n');
}

function variantsMarkdown(variants: VariantResult[]): string[] {
  const lines = ['## Tessera-only scenarios', '', 'Each variant starts its own servers and interleaves their runs (A B A B …); same connections, durations and checks as above.', ''];
  for (const v of variants) {
    lines.push(`### ${v.label}`, '');
    if (v.skipped) {
      lines.push(`Skipped: ${v.skipped}`, '');
      continue;
    }
    lines.push(
      '| Arm | Scenario | Throughput /s | p50 ms | p99 ms | non-2xx | errors | peak RSS MiB | server CPU (cores) | CPU µs/req | db CPU (cores) | other CPU (cores, max) | serve → first token ms |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const a of v.arms) {
      const runs = a.runs;
      const db = runs.some((x) => x.cpu.storage !== undefined) ? range(runs.map((x) => x.cpu.storage ?? 0), cores) : '–';
      lines.push(
        `| ${a.label} | ${a.scenarioLabel} | ${range(runs.map((x) => x.rps), int)} | ${range(runs.map((x) => x.p50Ms), ms)} | ${range(runs.map((x) => x.p99Ms), ms)} | ${int(runs.reduce((s, x) => s + x.non2xx, 0))} | ${int(runs.reduce((s, x) => s + x.errors, 0))} | ${mb(max(runs.map((x) => x.peakRssBytes)))} | ${range(runs.map((x) => x.cpu.server), cores)} | ${range(runs.map(usPerRequest), int)} | ${db} | ${cores(max(runs.map((x) => x.cpu.other)))} | ${a.startupMs.toFixed(0)} |`,
      );
    }
    lines.push('');
    for (const a of v.arms) lines.push(`- ${a.label}: ${a.setup}${a.fromDist === false ? ' — **ran from the sources (dist/ stale)**' : ''}`);
    for (const r of v.ratios) {
      const value = r.text ?? (Number.isFinite(r.value) ? `${r.value.toFixed(2)}×` : '–');
      lines.push(`- **${r.label}: ${value}**${r.target ? ` — target ${r.target}: **${r.met ? 'met' : 'not met'}**` : ''}`);
    }
    for (const f of v.facts) lines.push(`- ${f.label}: ${f.value}`);
    lines.push('');
  }
  return lines;
}

const COLORS: Record<ServerName, string> = { tessera: '#2f6fdf', 'oidc-provider': '#e08a1e', ceiling: '#8a8f98' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface SvgBar {
  server: ServerName;
  title: string;
  rps: number[];
}
interface SvgGroup {
  label: string;
  unit: string;
  /** One slot per bar; undefined leaves a gap (a server that did not run), keeping servers aligned. */
  bars: Array<SvgBar | undefined>;
}

/**
 * Grouped horizontal bars on a log scale (equal ratios look equal), min–max whiskers: the
 * comparison scenarios (one bar per server), then each Tessera-only arm (one bar each).
 */
export function toSvg(report: Report): string {
  const servers = [...new Set(report.scenarios.flatMap((s) => s.servers.map((x) => x.server)))];
  const groups: SvgGroup[] = report.scenarios.map((s) => ({
    label: s.label,
    unit: s.unit,
    bars: servers.map((srv) => {
      const r = s.servers.find((z) => z.server === srv);
      return r && r.runs.length ? { server: srv, title: SERVER_LABELS[srv], rps: r.runs.map((z) => z.rps) } : undefined;
    }),
  }));
  for (const v of report.variants ?? []) {
    for (const a of v.arms) if (a.runs.length) groups.push({ label: a.label, unit: a.unit, bars: [{ server: a.server, title: `${a.label} (${a.scenarioLabel})`, rps: a.runs.map((z) => z.rps) }] });
  }
  const legend = [...new Set([...servers, ...groups.flatMap((g) => g.bars.filter((b): b is SvgBar => !!b).map((b) => b.server))])];
  const all = groups.flatMap((g) => g.bars.flatMap((b) => b?.rps ?? [])).filter((x) => x > 0);
  if (all.length === 0) all.push(1, 10);
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...all))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, lo * 10)));
  const left = 290;
  const plotW = 560;
  const barH = 12;
  const groupGap = 14;
  const top = 70;
  const groupH = (g: SvgGroup) => g.bars.length * (barH + 3) + groupGap;
  const height = top + groups.reduce((h, g) => h + groupH(g), 0) + 40;
  const width = left + plotW + 110;
  const x = (v: number) => left + (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  const m = report.machine;
  out.push(`<text x="12" y="20" font-size="14" font-weight="600">Tessera benchmark — median 2xx responses/s (log scale), whiskers min–max${report.quick ? ' — QUICK SMOKE RUN' : ''}</text>`);
  out.push(`<text x="12" y="37" fill="#555">${esc(`${m.cores} cores, ${m.cpuModel}, Node ${m.node}, ${report.loader.split(' (')[0]}, ${report.settings.runs} × ${report.settings.durationSec} s, ${report.settings.connections} connections`)}</text>`);
  legend.forEach((srv, i) => {
    const lx = 12 + i * 190;
    out.push(`<rect x="${lx}" y="47" width="12" height="10" fill="${COLORS[srv]}"/><text x="${lx + 17}" y="56">${esc(SERVER_LABELS[srv])}</text>`);
  });
  for (let d = lo; d <= hi; d *= 10) {
    for (const k of [1, 2, 5]) {
      const v = d * k;
      if (v > hi) break;
      const gx = x(v).toFixed(1);
      out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${height - 30}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      out.push(`<text x="${gx}" y="${height - 16}" text-anchor="middle" fill="#666">${v >= 1000 ? `${v / 1000}k` : v}</text>`);
    }
  }
  let gy = top;
  for (const g of groups) {
    out.push(`<text x="${left - 8}" y="${gy + (g.bars.length * (barH + 3)) / 2 + 3}" text-anchor="end">${esc(g.label)}</text>`);
    g.bars.forEach((b, bi) => {
      if (!b) return;
      const rps = b.rps;
      const y = gy + bi * (barH + 3);
      const med = median(rps);
      out.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(med) - left).toFixed(1)}" height="${barH}" fill="${COLORS[b.server]}"><title>${esc(`${b.title}: ${int(med)} ${g.unit}`)}</title></rect>`);
      if (rps.length > 1) {
        const y0 = y + barH / 2;
        out.push(`<line x1="${x(min(rps)).toFixed(1)}" y1="${y0}" x2="${x(max(rps)).toFixed(1)}" y2="${y0}" stroke="#222"/>`);
        for (const v of [min(rps), max(rps)]) out.push(`<line x1="${x(v).toFixed(1)}" y1="${y + 2}" x2="${x(v).toFixed(1)}" y2="${y + barH - 2}" stroke="#222"/>`);
      }
      out.push(`<text x="${(Math.max(x(med), x(max(rps))) + 5).toFixed(1)}" y="${y + barH - 2}" fill="#333">${int(med)}</text>`);
    });
    gy += groupH(g);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
