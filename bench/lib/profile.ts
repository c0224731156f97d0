/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per origin
 * (Tessera source, each npm package, node internals, GC, idle).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  origin: string;
  /** The nearest non-node-internal caller that accounts for most of this function's self time. */
  calledFrom: string;
  selfMs: number;
  /** Share of non-idle time. */
  busyShare: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  functions: ProfileRow[];
  origins: Array<{ origin: string; selfMs: number; busyShare: number }>;
}

export function originOf(frame: CallFrame, root: string): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'V8/native (program)';
    return 'native';
  }
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const path = url.replace(/^file:\/\//, '');
  if (path.startsWith(root)) return `tessera ${path.slice(root.length).split('/').slice(0, 2).join('/')}`;
  return 'other';
}

/**
 * `window` keeps only samples taken between `window[0]` and `window[1]` milliseconds before the end
 * of the profile (which ends when the process exits), e.g. the measured run of a benchmark.
 */
export function summariseProfile(file: string, root: string, top = 25, window?: [number, number]): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const selfUs = new Map<number, number>();
  const from = window ? profile.endTime - window[0] * 1000 : -Infinity;
  const to = window ? profile.endTime - window[1] * 1000 : Infinity;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < from || t > to) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const fns = new Map<string, { name: string; where: string; origin: string; us: number; callers: Map<string, number> }>();
  const label = (frame: CallFrame) => {
    const name = frame.functionName || '(anonymous)';
    if (!frame.url) return { name, where: '' };
    const file = frame.url.replace(/^file:\/\//, '').replace(root, '');
    // tsx-compiled sources report line 0 for everything; a line number would mislead.
    return { name, where: frame.lineNumber > 0 ? `${file}:${frame.lineNumber + 1}` : file };
  };
  const origins = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    const origin = originOf(frame, root);
    if (origin === 'idle') {
      idleUs += us;
      continue;
    }
    origins.set(origin, (origins.get(origin) ?? 0) + us);
    const { name, where } = label(frame);
    const key = `${name}|${where}`;
    const e = fns.get(key) ?? { name, where, origin, us: 0, callers: new Map<string, number>() };
    e.us += us;
    // The nearest caller outside node's own modules says who asked for the work.
    let parent = parentOf.get(id);
    while (parent !== undefined && /^(node:|$)/.test(byId.get(parent)!.callFrame.url) && byId.get(parent)!.callFrame.functionName !== '(root)') parent = parentOf.get(parent);
    if (parent !== undefined && byId.get(parent)!.callFrame.functionName !== '(root)') {
      const p = label(byId.get(parent)!.callFrame);
      const caller = p.where ? `${p.name} (${p.where})` : p.name;
      e.callers.set(caller, (e.callers.get(caller) ?? 0) + us);
    }
    fns.set(key, e);
  }
  const busyUs = totalUs - idleUs;
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({
        name: f.name,
        where: f.where,
        origin: f.origin,
        calledFrom: [...f.callers.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '',
        selfMs: f.us / 1000,
        busyShare: f.us / busyUs,
      })),
    origins: [...origins.entries()].sort((a, b) => b[1] - a[1]).map(([origin, us]) => ({ origin, selfMs: us / 1000, busyShare: us / busyUs })),
  };
}

/** CPU per response of one server under load, without a profiler, from /proc (see cpu.ts). */
export interface CpuBudget {
  server: string;
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Microseconds per response: main thread user / kernel, all other threads user / kernel. */
  mainUser: number;
  mainSys: number;
  otherUser: number;
  otherSys: number;
  /** Microseconds per response of the busiest other threads. */
  busiestOthers: number[];
  serverCores: number;
  /** Load generator (wrk) microseconds per response, and its cores. */
  loaderUs: number;
  loaderCores: number;
  otherCores: number;
  cores: number;
}

export interface ProfileExtras {
  budgets: CpuBudget[];
  /** 2xx responses in the profiled window. */
  profiledRequests: number;
  unit: string;
  warnings: string[];
}

export function profileMarkdown(s: ProfileSummary, context: string, extras?: ProfileExtras): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const us = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  const budgets = extras?.budgets ?? [];
  const tessera = budgets[0];
  // Main-thread microseconds per response without the profiler: the scale for the profile's shares.
  const mainUs = tessera ? tessera.mainUser + tessera.mainSys : NaN;
  const lines = ['# CPU profile of Tessera under load', '', context, ''];
  if (extras?.warnings.length) lines.push('Warnings:', '', ...extras.warnings.map((w) => `- ${w}`), '');
  if (budgets.length) {
    const row = (label: string, f: (b: CpuBudget) => string) => `| ${label} | ${budgets.map(f).join(' | ')} |`;
    lines.push(
      '## CPU per response (no profiler)',
      '',
      'From /proc/<pid>/task: CPU time of the server\'s main thread (JavaScript, the event loop, HTTP parsing, the syscalls it makes) and of all its other threads (libuv\'s thread pool, where Tessera signs; V8\'s helper threads: concurrent GC and compilation), divided by the 2xx responses of the same window. Same load, one server at a time, nothing profiled. The machine budget is what the cores could give each response at that rate: cores × 10⁶ / throughput.',
      '',
      `| µs per response | ${budgets.map((b) => b.server).join(' | ')} |`,
      `| --- |${budgets.map(() => ' ---: |').join('')}`,
      row(`throughput (${extras!.unit})`, (b) => Math.round(b.rps).toLocaleString('en-US')),
      row('p50 / p99 ms', (b) => `${b.p50Ms.toFixed(2)} / ${b.p99Ms.toFixed(2)}`),
      row('main thread, user', (b) => us(b.mainUser)),
      row('main thread, kernel', (b) => us(b.mainSys)),
      row('**main thread**', (b) => `**${us(b.mainUser + b.mainSys)}**`),
      row('other threads, user', (b) => us(b.otherUser)),
      row('other threads, kernel', (b) => us(b.otherSys)),
      row('**other threads**', (b) => `**${us(b.otherUser + b.otherSys)}**`),
      row('busiest other threads', (b) => b.busiestOthers.filter((x) => x >= 0.05).map(us).join(', ') || '–'),
      row('**server total**', (b) => `**${us(b.mainUser + b.mainSys + b.otherUser + b.otherSys)}**`),
      row('load generator (wrk)', (b) => us(b.loaderUs)),
      row('server + load generator', (b) => us(b.mainUser + b.mainSys + b.otherUser + b.otherSys + b.loaderUs)),
      row('machine budget (cores × 10⁶ / throughput)', (b) => us((b.cores * 1e6) / b.rps)),
      row('cores busy: server / wrk / other', (b) => `${b.serverCores.toFixed(2)} / ${b.loaderCores.toFixed(2)} / ${b.otherCores.toFixed(2)}`),
      '',
    );
  }
  lines.push(
    `Profiled ${(s.totalMs / 1000).toFixed(1)} s of the server's main thread: busy ${(s.busyMs / 1000).toFixed(1)} s, idle ${(s.idleMs / 1000).toFixed(1)} s${extras ? `, ${extras.profiledRequests.toLocaleString('en-US')} responses (${((s.busyMs * 1000) / extras.profiledRequests).toFixed(1)} µs busy per response under the profiler)` : ''}. Shares below are of busy time (self time: time spent in the function itself, not its callees)${tessera ? `; the µs column applies each share to the main thread's ${us(mainUs)} µs per response measured without the profiler` : ''}.`,
    '',
    '## Self time by origin',
    '',
    `| Origin | self ms | share |${tessera ? ' µs per response |' : ''}`,
    `| --- | ---: | ---: |${tessera ? ' ---: |' : ''}`,
    ...s.origins.map((o) => `| ${o.origin} | ${o.selfMs.toFixed(0)} | ${pct(o.busyShare)} |${tessera ? ` ${us(o.busyShare * mainUs)} |` : ''}`),
    '',
    '## Top functions by self time',
    '',
    `| # | Function | Origin | Location | Mostly called from | self ms | share |${tessera ? ' µs per response |' : ''}`,
    `| ---: | --- | --- | --- | --- | ---: | ---: |${tessera ? ' ---: |' : ''}`,
    ...s.functions.map((f, i) => `| ${i + 1} | \`${f.name}\` | ${f.origin} | ${f.where ? `\`${f.where}\`` : ''} | ${f.calledFrom ? `\`${f.calledFrom}\`` : ''} | ${f.selfMs.toFixed(0)} | ${pct(f.busyShare)} |${tessera ? ` ${us(f.busyShare * mainUs)} |` : ''}`),
    '',
  );
  return lines.join('\n');
}
