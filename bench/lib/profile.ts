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

export function profileMarkdown(s: ProfileSummary, context: string): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    '# CPU profile of Tessera under load',
    '',
    context,
    '',
    `Profiled ${(s.totalMs / 1000).toFixed(1)} s of the server's main thread: busy ${(s.busyMs / 1000).toFixed(1)} s, idle ${(s.idleMs / 1000).toFixed(1)} s. Shares below are of busy time (self time: time spent in the function itself, not its callees).`,
    '',
    '## Self time by origin',
    '',
    '| Origin | self ms | share |',
    '| --- | ---: | ---: |',
    ...s.origins.map((o) => `| ${o.origin} | ${o.selfMs.toFixed(0)} | ${pct(o.busyShare)} |`),
    '',
    '## Top functions by self time',
    '',
    '| # | Function | Origin | Location | Mostly called from | self ms | share |',
    '| ---: | --- | --- | --- | --- | ---: | ---: |',
    ...s.functions.map((f, i) => `| ${i + 1} | \`${f.name}\` | ${f.origin} | ${f.where ? `\`${f.where}\`` : ''} | ${f.calledFrom ? `\`${f.calledFrom}\`` : ''} | ${f.selfMs.toFixed(0)} | ${pct(f.busyShare)} |`),
    '',
  ];
  return lines.join('\n');
}
