/**
 * CPU accounting around a measured run, from /proc: the server (its process and every descendant,
 * so a `--workers N` cluster counts whole), the database processes serving it (PostgreSQL backends
 * holding its connections, PostgreSQL's own background processes, Redis), the harness with its
 * reaped children (wrk), and everything else on the machine. The machine is shared, so "other"
 * tells how much a run was disturbed by processes outside the benchmark.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface CpuSnapshot {
  at: number;
  total: number;
  server: number;
  /** Ticks per database process serving the server (undefined: none is accounted). */
  storage: Map<number, number> | undefined;
  self: number;
}

export interface CpuUse {
  /** Average cores busy in the server process tree (1 = one core fully used). */
  server: number;
  /** Cores busy in the database processes serving it (0 for SQLite: it runs inside the server). */
  storage?: number;
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

/** The fields of /proc/…/stat after "(comm) ", and comm. */
function statFields(path: string): { comm: string; f: string[] } | undefined {
  const stat = read(path);
  if (!stat) return undefined;
  const close = stat.lastIndexOf(')');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), f: stat.slice(close + 2).split(' ') };
}

/** utime + stime (+ cutime + cstime) of a process, in clock ticks. */
function processTicks(pid: number | 'self', withChildren: boolean): number {
  const s = statFields(`/proc/${pid}/stat`);
  if (!s) return NaN;
  // fields after "(comm) ": state=0, ppid=1 … utime=11, stime=12, cutime=13, cstime=14
  const n = (i: number) => Number(s.f[i]);
  return n(11) + n(12) + (withChildren ? n(13) + n(14) : 0);
}

function sumTicks(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    const t = processTicks(pid, false);
    if (Number.isFinite(t)) sum += t;
  }
  return sum;
}

function busyTicks(): number {
  const line = read('/proc/stat')?.split('\n')[0];
  if (!line?.startsWith('cpu ')) return NaN;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  return user! + nice! + system! + irq! + softirq! + steal!;
}

function allPids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** `pid` and all its live descendants (a cluster primary and its workers, tsx's esbuild, …). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of allPids()) {
    const ppid = Number(statFields(`/proc/${p}/stat`)?.f[1]);
    if (Number.isFinite(ppid)) children.set(ppid, [...(children.get(ppid) ?? []), p]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/** Socket inodes a process holds open. */
function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** TCP sockets of this network namespace: inode → local and remote port. */
function tcpSockets(): Map<string, { local: number; remote: number }> {
  const out = new Map<string, { local: number; remote: number }>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (read(file) ?? '').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = (addr: string) => parseInt(addr.slice(addr.lastIndexOf(':') + 1), 16);
      out.set(cols[9]!, { local: port(cols[1]!), remote: port(cols[2]!) });
    }
  }
  return out;
}

/**
 * The database processes working for a server process tree: the PostgreSQL backends at the other
 * end of its connections to `pgPort`, PostgreSQL's background processes (WAL writer, checkpointer…:
 * they write what the backends commit), and Redis when the server is connected to `redisPort`.
 * Backends of other clients (another test suite) are left out: they count as "other".
 */
export function storageProcesses(serverPids: number[], pgPort = 5432, redisPort = 6379): number[] {
  const sockets = tcpSockets();
  const ourPgPorts = new Set<number>();
  let usesRedis = false;
  for (const pid of serverPids) {
    for (const inode of socketInodes(pid)) {
      const s = sockets.get(inode);
      if (s?.remote === pgPort) ourPgPorts.add(s.local);
      if (s?.remote === redisPort) usesRedis = true;
    }
  }
  const out: number[] = [];
  for (const pid of allPids()) {
    const comm = statFields(`/proc/${pid}/stat`)?.comm;
    if (comm === 'redis-server' && usesRedis) out.push(pid);
    if (comm !== 'postgres' || ourPgPorts.size === 0) continue;
    const cmdline = (read(`/proc/${pid}/cmdline`) ?? '').replace(/\0/g, ' ').trim();
    // A client backend's title: "postgres: user database host(port) state".
    if (!/^postgres: \S+ \S+ [\d.:a-f\[\]]+\(\d+\)/.test(cmdline)) {
      out.push(pid); // the postmaster and its background processes
      continue;
    }
    for (const inode of socketInodes(pid)) {
      const s = sockets.get(inode);
      if (s && s.local === pgPort && ourPgPorts.has(s.remote)) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

/**
 * `storagePids`: the database processes serving the server, or undefined when it has none (SQLite).
 * Read them again for the closing snapshot: a process that appeared meanwhile (a new pooled
 * connection's backend) counts from zero.
 */
export function cpuSnapshot(serverPids: number[], storagePids?: number[]): CpuSnapshot {
  const storage = storagePids ? new Map(storagePids.map((pid) => [pid, processTicks(pid, false)] as [number, number]).filter(([, t]) => Number.isFinite(t))) : undefined;
  return { at: performance.now(), total: busyTicks(), server: sumTicks(serverPids), storage, self: processTicks('self', true) };
}

export function cpuUse(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const cores = (ticks: number) => (Number.isFinite(ticks) && seconds > 0 ? Math.max(0, ticks / CLK_TCK / seconds) : NaN);
  const server = b.server - a.server;
  let storage = 0;
  for (const [pid, t] of b.storage ?? []) storage += t - (a.storage?.get(pid) ?? 0);
  const self = b.self - a.self;
  return { server: cores(server), ...(b.storage ? { storage: cores(storage) } : {}), loader: cores(self), other: cores(b.total - a.total - server - storage - self) };
}

/** CPU time of one process split by thread: its main thread, and all its other threads. */
export interface ThreadTicks {
  mainUser: number;
  mainSys: number;
  otherUser: number;
  otherSys: number;
  /** Per other thread: ticks (user + sys), for the busiest ones. */
  others: Map<number, number>;
}

/**
 * Per-thread CPU ticks of `pid` from /proc/<pid>/task. Node names none of its threads, so the only
 * split /proc gives is the main thread (JavaScript, the event loop, HTTP parsing, syscalls) against
 * the rest: libuv's thread pool (async crypto: the signatures), V8's helper threads (concurrent
 * GC and compilation) and a few idle ones.
 */
export function threadTicks(pid: number): ThreadTicks {
  const out: ThreadTicks = { mainUser: 0, mainSys: 0, otherUser: 0, otherSys: 0, others: new Map() };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const s = statFields(`/proc/${pid}/task/${tid}/stat`);
    if (!s) continue;
    const user = Number(s.f[11]);
    const sys = Number(s.f[12]);
    if (Number(tid) === pid) {
      out.mainUser += user;
      out.mainSys += sys;
    } else {
      out.otherUser += user;
      out.otherSys += sys;
      out.others.set(Number(tid), user + sys);
    }
  }
  return out;
}

/** Microseconds of CPU per request between two thread snapshots. */
export function perRequestUs(a: ThreadTicks, b: ThreadTicks, requests: number): { mainUser: number; mainSys: number; otherUser: number; otherSys: number; busiestOthers: number[] } {
  const us = (ticks: number) => (requests > 0 ? (ticks / CLK_TCK) * 1e6 / requests : NaN);
  const busiest = [...b.others.entries()].map(([tid, t]) => t - (a.others.get(tid) ?? 0)).sort((x, y) => y - x);
  return {
    mainUser: us(b.mainUser - a.mainUser),
    mainSys: us(b.mainSys - a.mainSys),
    otherUser: us(b.otherUser - a.otherUser),
    otherSys: us(b.otherSys - a.otherSys),
    busiestOthers: busiest.slice(0, 4).map(us),
  };
}
