// The bench's CPU accounting: what one accepted checkout costs every process of the shop, in
// CPU time (utime + stime from /proc/<pid>/stat), and the checkout rate that cost allows on this
// machine when every core is busy. A ceiling proven this way holds whatever the latencies say:
// a rate the machine has no CPU for cannot be sustained.
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The fields of /proc/<pid>/stat the accounting reads; times in clock ticks. */
export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** User and system time of the process itself. */
  utime: number;
  stime: number;
  /** User and system time of its children that ended and that it waited for. */
  cutime: number;
  cstime: number;
}

/**
 * One line of /proc/<pid>/stat (proc(5)): `pid (comm) state ppid … utime stime cutime cstime …`.
 * The command name may hold spaces and parentheses, so the fields are counted from the last `)`.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: '${text.slice(0, 80)}'`);
  // After ')': state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8) flags(9) minflt(10)
  // cminflt(11) majflt(12) cmajflt(13) utime(14) stime(15) cutime(16) cstime(17) …
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const field = (n: number) => {
    const value = Number(rest[n - 3]);
    if (!Number.isFinite(value)) throw new Error(`field ${n} of /proc/<pid>/stat is not a number`);
    return value;
  };
  return {
    pid: Number.parseInt(text.slice(0, open), 10),
    comm: text.slice(open + 1, close),
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  };
}

/**
 * The busy ticks of the whole machine from /proc/stat's first line
 * (`cpu user nice system idle iowait irq softirq steal …`): everything but idle and iowait.
 */
export function parseMachineBusy(procStat: string): number {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat has no cpu line');
  const [user, nice, system, _idle, _iowait, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return [user, nice, system, irq, softirq, steal].reduce((a: number, b) => a + (b ?? 0), 0);
}

/**
 * The CPU ticks of a process and of everything it started: its own time, and for it and every
 * live descendant the time of their children that ended (cutime + cstime, counted when the parent
 * waits for them). A PostgreSQL backend that ends mid-measure thus still counts, in the postmaster.
 */
export function treeTicks(processes: ReadonlyMap<number, ProcStat>, root: number): number | null {
  if (!processes.has(root)) return null;
  const children = new Map<number, number[]>();
  for (const p of processes.values()) {
    const siblings = children.get(p.ppid);
    if (siblings) siblings.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  let ticks = 0;
  const pending = [root];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    const p = processes.get(pid);
    if (!p) continue;
    ticks += p.utime + p.stime + p.cutime + p.cstime;
    pending.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

/** The CPU of each part of the shop at one moment: ticks per part (its process tree), and the machine's. */
export interface CpuSnapshot {
  /** Part → its root pid and that tree's ticks (null when the process was not there). */
  parts: Record<string, { pid: number; ticks: number | null }>;
  machineTicks: number;
}

/** Builds a snapshot from /proc's texts (split out so it can be tested on fixture text). */
export function snapshotOf(
  roots: Readonly<Record<string, number>>,
  stats: readonly string[],
  procStat: string,
): CpuSnapshot {
  const processes = new Map<number, ProcStat>();
  for (const text of stats) {
    try {
      const p = parseProcStat(text);
      processes.set(p.pid, p);
    } catch {
      // a process that ended while /proc was read
    }
  }
  const parts: CpuSnapshot['parts'] = {};
  for (const [name, pid] of Object.entries(roots)) parts[name] = { pid, ticks: treeTicks(processes, pid) };
  return { parts, machineTicks: parseMachineBusy(procStat) };
}

/** Reads every process' /proc/<pid>/stat and /proc/stat now; null where /proc is not there (not Linux). */
export async function takeCpuSnapshot(roots: Readonly<Record<string, number>>): Promise<CpuSnapshot | null> {
  let entries: string[];
  let procStat: string;
  try {
    [entries, procStat] = await Promise.all([readdir('/proc'), readFile('/proc/stat', 'utf8')]);
  } catch {
    return null;
  }
  const stats = await Promise.all(
    entries.filter((e) => /^\d+$/.test(e)).map((pid) => readFile(join('/proc', pid, 'stat'), 'utf8').catch(() => '')),
  );
  return snapshotOf(
    roots,
    stats.filter((s) => s !== ''),
    procStat,
  );
}

/** Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked). */
export function clockTicksPerSecond(): number {
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    return Number.isFinite(hz) && hz > 0 ? hz : 100;
  } catch {
    return 100;
  }
}

/** The part of the accounting that is the bench itself (shown apart from the shop). */
export const BENCH_PART = 'bench (shopctl)';

export interface CpuAccount {
  /** Accepted checkouts the CPU is divided by. */
  checkouts: number;
  seconds: number;
  cores: number;
  /** Each part's CPU over the measure, and per accepted checkout, in ms; null when it cannot tell (not there, restarted). */
  parts: { name: string; cpuMs: number | null; perCheckoutMs: number | null }[];
  /** The shop's parts (every part but the bench), per accepted checkout. */
  shopPerCheckoutMs: number;
  benchPerCheckoutMs: number;
  /** Busy CPU of the machine that is none of the parts (other work on it), over the measure. */
  otherCpuMs: number;
  /** cores × 1000 ÷ (shop + bench) ms per checkout: checkouts/s the machine has CPU for. */
  ceilingPerSecond: number;
  /** cores × 1000 ÷ the shop's ms per checkout: the same with the bench on another machine. */
  shopCeilingPerSecond: number;
  /** What the same parts spent with no checkout running, measured just before (when it was). */
  idle?: IdleAccount;
}

/**
 * The shop at rest, measured just before a step: what each part spends per second with nothing
 * to do (polling, scrapes, heartbeats), and what a checkout costs above that. The ceiling that
 * follows: the cores left after the idle work, divided by what a checkout adds.
 */
export interface IdleAccount {
  seconds: number;
  /** Part → its CPU ms per second at rest; null when it cannot tell (not there, restarted). */
  msPerSecond: Record<string, number | null>;
  shopMsPerSecond: number;
  benchMsPerSecond: number;
  /** The shop's CPU per checkout above its idle work over the step's time. */
  shopAbovePerCheckoutMs: number;
  benchAbovePerCheckoutMs: number;
  /** (cores × 1000 − the idle ms per second) ÷ (shop + bench above idle per checkout). */
  ceilingPerSecond: number;
}

/** Two snapshots with no checkout running between them, `seconds` apart. */
export interface IdleBaseline {
  before: CpuSnapshot;
  after: CpuSnapshot;
  seconds: number;
}

/**
 * What each part spent between two snapshots, per accepted checkout, and the rate that cost
 * allows on `cores` cores. A part whose pid changed (restarted) or was not there counts as
 * unknown (null), not as zero.
 */
export function cpuAccount(
  before: CpuSnapshot,
  after: CpuSnapshot,
  options: { checkouts: number; seconds: number; cores: number; ticksPerSecond: number; idle?: IdleBaseline },
): CpuAccount | null {
  if (options.checkouts <= 0) return null;
  const ms = (ticks: number) => (ticks * 1000) / options.ticksPerSecond;
  const spent = (from: CpuSnapshot, to: CpuSnapshot, name: string): number | null => {
    const start = from.parts[name];
    const end = to.parts[name];
    const known = start && end && start.pid === end.pid && start.ticks !== null && end.ticks !== null;
    return known ? ms((end.ticks as number) - (start.ticks as number)) : null;
  };
  const parts: CpuAccount['parts'] = [];
  for (const name of Object.keys(after.parts)) {
    const cpuMs = spent(before, after, name);
    parts.push({ name, cpuMs, perCheckoutMs: cpuMs === null ? null : cpuMs / options.checkouts });
  }
  const sum = (keep: (name: string) => boolean) =>
    parts.filter((p) => keep(p.name)).reduce((n, p) => n + (p.cpuMs ?? 0), 0);
  const shopMs = sum((n) => n !== BENCH_PART);
  const benchMs = sum((n) => n === BENCH_PART);
  const shopPerCheckoutMs = shopMs / options.checkouts;
  const benchPerCheckoutMs = benchMs / options.checkouts;
  const perSecond = (perCheckout: number) =>
    perCheckout > 0 ? (options.cores * 1000) / perCheckout : Number.POSITIVE_INFINITY;
  return {
    checkouts: options.checkouts,
    seconds: options.seconds,
    cores: options.cores,
    parts,
    shopPerCheckoutMs,
    benchPerCheckoutMs,
    otherCpuMs: Math.max(0, ms(after.machineTicks - before.machineTicks) - shopMs - benchMs),
    ceilingPerSecond: perSecond(shopPerCheckoutMs + benchPerCheckoutMs),
    shopCeilingPerSecond: perSecond(shopPerCheckoutMs),
    ...(options.idle ? { idle: idleAccount(options.idle, parts, spent, options) } : {}),
  };
}

function idleAccount(
  idle: IdleBaseline,
  parts: CpuAccount['parts'],
  spent: (from: CpuSnapshot, to: CpuSnapshot, name: string) => number | null,
  options: { checkouts: number; seconds: number; cores: number },
): IdleAccount {
  const msPerSecond: Record<string, number | null> = {};
  let shopMsPerSecond = 0;
  let benchMsPerSecond = 0;
  let shopAboveMs = 0;
  let benchAboveMs = 0;
  for (const part of parts) {
    const rest = part.cpuMs === null ? null : spent(idle.before, idle.after, part.name);
    const rate = rest === null || idle.seconds <= 0 ? null : rest / idle.seconds;
    msPerSecond[part.name] = rate;
    if (part.cpuMs === null) continue;
    // A part whose rest could not be told (restarted between the two measures) counts whole.
    const above = Math.max(0, part.cpuMs - (rate ?? 0) * options.seconds);
    if (part.name === BENCH_PART) {
      benchMsPerSecond += rate ?? 0;
      benchAboveMs += above;
    } else {
      shopMsPerSecond += rate ?? 0;
      shopAboveMs += above;
    }
  }
  const shopAbovePerCheckoutMs = shopAboveMs / options.checkouts;
  const benchAbovePerCheckoutMs = benchAboveMs / options.checkouts;
  const left = options.cores * 1000 - shopMsPerSecond - benchMsPerSecond;
  const perCheckout = shopAbovePerCheckoutMs + benchAbovePerCheckoutMs;
  return {
    seconds: idle.seconds,
    msPerSecond,
    shopMsPerSecond,
    benchMsPerSecond,
    shopAbovePerCheckoutMs,
    benchAbovePerCheckoutMs,
    ceilingPerSecond: perCheckout > 0 ? Math.max(0, left) / perCheckout : Number.POSITIVE_INFINITY,
  };
}

/** The shop's processes of the local stack, from its pid files (`run/<name>.pid`), by the names of the accounting. */
export const SHOP_PROCESSES = [
  ['gateway :8080', 'gateway'],
  ['user', 'user'],
  ['catalog', 'catalog'],
  ['cart', 'cart'],
  ['payment', 'payment'],
  ['order', 'order'],
  ['history', 'history'],
  ['shipping', 'shipping'],
  ['legacy-shipping', 'legacy-shipping'],
  ['card-network', 'card-network'],
  ['HAProxy (card-network ambassador)', 'card-network-ambassador'],
  ['web', 'web'],
  ['PostgreSQL (all its backends)', 'postgres'],
  ['Kafka', 'kafka'],
  ['Jaeger', 'jaeger'],
  ['Prometheus', 'prometheus'],
] as const;

/**
 * The roots to account: the bench's own gateway (when given), every process of the local stack
 * with a pid file in `runDir`, and the bench itself.
 */
export async function shopProcessRoots(runDir: string, benchGatewayPid?: number): Promise<Record<string, number>> {
  const roots: Record<string, number> = {};
  if (benchGatewayPid !== undefined) roots['gateway (the bench’s)'] = benchGatewayPid;
  for (const [name, file] of SHOP_PROCESSES) {
    const pid = Number.parseInt(await readFile(join(runDir, `${file}.pid`), 'utf8').catch(() => ''), 10);
    if (Number.isFinite(pid)) roots[name] = pid;
  }
  roots[BENCH_PART] = process.pid;
  return roots;
}

const msText = (v: number | null) => (v === null ? 'n/a' : v < 10 ? v.toFixed(2) : v.toFixed(0));
const rateText = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '∞');

/** `150/s`: the checkout rate the machine has CPU for, bench included (above the shop's idle work when measured). */
export function cpuCeiling(a: CpuAccount): string {
  return `${rateText(a.idle?.ceilingPerSecond ?? a.ceilingPerSecond)}/s`;
}

/** `12.3 + 1.20 ms → 150/s`: the shop's and the bench's CPU per checkout, and the ceiling they imply. */
export function cpuSummary(a: CpuAccount): string {
  const all = `${msText(a.shopPerCheckoutMs)} + ${msText(a.benchPerCheckoutMs)} ms → ${rateText(a.ceilingPerSecond)}/s`;
  return a.idle
    ? `${all}; above idle ${msText(a.idle.shopAbovePerCheckoutMs)} + ${msText(a.idle.benchAbovePerCheckoutMs)} ms → ${rateText(a.idle.ceilingPerSecond)}/s`
    : all;
}

/** The markdown lines of one step's accounting: a table by process, largest first, and the ceiling. */
export function cpuTable(a: CpuAccount, rate: number): string[] {
  const shop = a.parts.filter((p) => p.name !== BENCH_PART).sort((x, y) => (y.cpuMs ?? -1) - (x.cpuMs ?? -1));
  const bench = a.parts.find((p) => p.name === BENCH_PART);
  const unknown = shop.filter((p) => p.cpuMs === null).map((p) => p.name);
  const idle = a.idle;
  const idleCells = (name: string, cpuMs: number | null) => {
    if (!idle) return '';
    const rest = name in idle.msPerSecond ? idle.msPerSecond[name] : null;
    const above = cpuMs === null ? null : Math.max(0, cpuMs - (rest ?? 0) * a.seconds) / a.checkouts;
    return ` ${msText(rest)} | ${msText(above)} |`;
  };
  const row = (name: string, cpuMs: number | null, idleText = idleCells(name, cpuMs)) =>
    `| ${name} | ${msText(cpuMs)} | ${msText(cpuMs === null ? null : cpuMs / a.checkouts)} |${idleText}`;
  const totals = (shopOrBench: 'shop' | 'bench') =>
    idle
      ? ` ${msText(shopOrBench === 'shop' ? idle.shopMsPerSecond : idle.benchMsPerSecond)} | ${msText(shopOrBench === 'shop' ? idle.shopAbovePerCheckoutMs : idle.benchAbovePerCheckoutMs)} |`
      : '';
  return [
    `CPU at ${rate}/s (utime + stime from \`/proc\`, from the first checkout sent until every order ended: ${a.seconds.toFixed(1)} s, ${a.checkouts} accepted checkouts${idle ? `; at rest: the same processes over ${idle.seconds.toFixed(1)} s with no checkout, just before` : ''}):`,
    '',
    `| process | CPU ms | CPU ms per checkout |${idle ? ' at rest, ms per second | per checkout above rest |' : ''}`,
    `|---|---|---|${idle ? '---|---|' : ''}`,
    ...shop.filter((p) => p.cpuMs !== null).map((p) => row(p.name, p.cpuMs)),
    row('**the shop**', a.shopPerCheckoutMs * a.checkouts, totals('shop')),
    row(`${BENCH_PART}, apart`, bench?.cpuMs ?? null, totals('bench')),
    row('rest of the machine (not the shop)', a.otherCpuMs, idle ? ' | |' : ''),
    '',
    `Ceiling on this machine: ${a.cores} cores × 1000 ms ÷ ${msText(a.shopPerCheckoutMs + a.benchPerCheckoutMs)} ms per checkout (shop ${msText(a.shopPerCheckoutMs)} + bench ${msText(a.benchPerCheckoutMs)}) = **${rateText(a.ceilingPerSecond)} checkouts/s**; ${rateText(a.shopCeilingPerSecond)}/s with the bench on another machine.${idle ? ` Counting only what a checkout adds to the shop at rest: (${a.cores} × 1000 − ${msText(idle.shopMsPerSecond + idle.benchMsPerSecond)} ms of idle work a second) ÷ ${msText(idle.shopAbovePerCheckoutMs + idle.benchAbovePerCheckoutMs)} ms = **${rateText(idle.ceilingPerSecond)} checkouts/s**.` : ''}${unknown.length > 0 ? ` Not counted (not running, or restarted during the step): ${unknown.join(', ')}.` : ''}`,
  ];
}
