/**
 * CPU accounting around a measured run, from /proc: the server process, the harness with its
 * reaped children (wrk), and everything else on the machine. The machine is shared, so "other"
 * tells how much a run was disturbed by processes outside the benchmark.
 */
import { readFileSync } from 'node:fs';

export interface CpuSnapshot {
  at: number;
  total: number;
  server: number;
  self: number;
}

export interface CpuUse {
  /** Average cores busy in the server process (1 = one core fully used). */
  server: number;
  /** Cores busy in the harness and its finished children (the load generator). */
  loader: number;
  /** Cores busy in anything else on the machine. */
  other: number;
}

const CLK_TCK = 100;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime + stime (+ cutime + cstime) of a process, in clock ticks. */
function processTicks(pid: number | 'self', withChildren: boolean): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return NaN;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after "(comm) ": state=0 … utime=11, stime=12, cutime=13, cstime=14
  const n = (i: number) => Number(f[i]);
  return n(11) + n(12) + (withChildren ? n(13) + n(14) : 0);
}

function busyTicks(): number {
  const line = read('/proc/stat')?.split('\n')[0];
  if (!line?.startsWith('cpu ')) return NaN;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  return user! + nice! + system! + irq! + softirq! + steal!;
}

export function cpuSnapshot(serverPid: number): CpuSnapshot {
  return { at: performance.now(), total: busyTicks(), server: processTicks(serverPid, false), self: processTicks('self', true) };
}

export function cpuUse(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const cores = (ticks: number) => (Number.isFinite(ticks) && seconds > 0 ? Math.max(0, ticks / CLK_TCK / seconds) : NaN);
  const server = b.server - a.server;
  const self = b.self - a.self;
  return { server: cores(server), loader: cores(self), other: cores(b.total - a.total - server - self) };
}
