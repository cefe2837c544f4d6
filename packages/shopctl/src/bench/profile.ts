// `shopctl profile <file.cpuprofile>`: what a V8 CPU profile (node --cpu-prof, written by
// scripts/profile.sh) says a process spent its time on — the top functions by self time, and
// the same samples grouped by where the code comes from (a package under node_modules, the
// service's own code, Node's internals, the garbage collector, idle).
import { readFile } from 'node:fs/promises';
import { type CliIo, formatTable, parseDuration, parseOptions, UsageError } from '../command';
import { messageOf } from '../error-text';
import { closedLoopThroughput } from './measure';

/** The parts of a `.cpuprofile` (Chrome DevTools' Profile) the summary reads. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  /** Wall time the profile covers, ms. */
  durationMs: number;
  /** Time not idle, ms. */
  busyMs: number;
  top: { name: string; where: string; selfMs: number; share: number }[];
  groups: { group: string; selfMs: number; share: number }[];
}

/** Where a frame's code comes from: `pkg:@prisma/client`, `shoplab:chassis`, `node`, `(gc)`, … */
export function codeGroup(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') {
      return functionName;
    }
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node';
  if (url.startsWith('wasm://')) return 'wasm';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    if (name?.startsWith('@shoplab/')) return `shoplab:${name.slice('@shoplab/'.length)}`;
    return `pkg:${name}`;
  }
  const own = /\/(packages|services)\/([^/]+)\//.exec(url);
  if (own) return `shoplab:${own[2]}`;
  return '(other)';
}

/**
 * Self time per node from the samples (each sample's time delta goes to the node it hit),
 * leaving out the first `fromMs` of the profile (a process' start: loading modules, connecting).
 */
function selfTimes(profile: CpuProfile, fromMs: number): Map<number, number> {
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    let atUs = 0;
    // The delta at i+1 is the time the sample at i lasted.
    for (let i = 0; i < samples.length; i++) {
      atUs += deltas[i] ?? 0;
      if (atUs < fromMs * 1000) continue;
      const id = samples[i] as number;
      const us = deltas[i + 1] ?? 0;
      self.set(id, (self.get(id) ?? 0) + us / 1000);
    }
    return self;
  }
  const total = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0) || 1;
  const ms = (profile.endTime - profile.startTime) / 1000;
  for (const node of profile.nodes) self.set(node.id, ((node.hitCount ?? 0) / total) * ms);
  return self;
}

export function summarizeProfile(profile: CpuProfile, topN = 20, fromMs = 0): ProfileSummary {
  const self = selfTimes(profile, fromMs);
  const byFunction = new Map<string, { name: string; where: string; selfMs: number }>();
  const byGroup = new Map<string, number>();
  let idleMs = 0;
  let totalMs = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const group = codeGroup(url, functionName);
    totalMs += ms;
    if (group === '(idle)') {
      idleMs += ms;
      continue;
    }
    byGroup.set(group, (byGroup.get(group) ?? 0) + ms);
    const file = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(packages|services)\//, '$1/');
    const where = url ? `${file}:${lineNumber + 1}` : group;
    const key = `${functionName}@${where}`;
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', where, selfMs: 0 };
    entry.selfMs += ms;
    byFunction.set(key, entry);
  }
  const busyMs = totalMs - idleMs;
  const share = (ms: number) => (busyMs > 0 ? ms / busyMs : 0);
  return {
    durationMs: Math.max(0, (profile.endTime - profile.startTime) / 1000 - fromMs),
    busyMs,
    top: [...byFunction.values()]
      .sort((a, b) => b.selfMs - a.selfMs || a.name.localeCompare(b.name))
      .slice(0, topN)
      .map((f) => ({ ...f, share: share(f.selfMs) })),
    groups: [...byGroup.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([group, selfMs]) => ({ group, selfMs, share: share(selfMs) })),
  };
}

export function formatProfileSummary(s: ProfileSummary, groupsShown = 15): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return [
    `${(s.durationMs / 1000).toFixed(1)} s profiled, ${(s.busyMs / 1000).toFixed(1)} s busy (${pct(s.durationMs > 0 ? s.busyMs / s.durationMs : 0)})`,
    '',
    'by where the code comes from (share of busy time):',
    formatTable([
      ['group', 'self', 'share'],
      ...s.groups.slice(0, groupsShown).map((g) => [g.group, `${g.selfMs.toFixed(0)} ms`, pct(g.share)]),
    ]),
    '',
    'top functions by self time:',
    formatTable([
      ['function', 'where', 'self', 'share'],
      ...s.top.map((f) => [f.name, f.where, `${f.selfMs.toFixed(0)} ms`, pct(f.share)]),
    ]),
  ].join('\n');
}

export const PROFILE_USAGE = `usage: shopctl profile <file.cpuprofile> [--top 20] [--from MS] [--json]
  Summarises a V8 CPU profile (node --cpu-prof; scripts/profile.sh records one of a service
  under load): busy time, the share of each code origin, the top functions by self time.
  --from MS leaves out the profile's first MS milliseconds (the process' start).`;

export async function profileCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(`${PROFILE_USAGE}\n`);
    return 0;
  }
  let file: string;
  let top = 20;
  let fromMs = 0;
  let json = false;
  try {
    const { positional, values, flags } = parseOptions(argv, { valued: ['top', 'from'], flags: ['json'] });
    if (positional.length !== 1) throw new UsageError('name one .cpuprofile file');
    file = positional[0] as string;
    if (values.top !== undefined) {
      top = Number(values.top);
      if (!Number.isInteger(top) || top <= 0)
        throw new UsageError(`--top must be a whole number above 0, not '${values.top}'`);
    }
    if (values.from !== undefined) {
      fromMs = Number(values.from);
      if (!Number.isFinite(fromMs) || fromMs < 0) throw new UsageError(`--from must be ms ≥ 0, not '${values.from}'`);
    }
    json = flags.has('json');
  } catch (err) {
    io.err(`shopctl profile: ${messageOf(err)}\n${PROFILE_USAGE}\n`);
    return 2;
  }
  let profile: CpuProfile;
  try {
    profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    if (!Array.isArray(profile.nodes)) throw new Error('not a CPU profile (no nodes)');
  } catch (err) {
    io.err(`shopctl profile: cannot read ${file}: ${messageOf(err)}\n`);
    return 2;
  }
  const summary = summarizeProfile(profile, top, fromMs);
  io.out(json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatProfileSummary(summary)}\n`);
  return 0;
}

export const HAMMER_USAGE = `usage: shopctl hammer <url> [--connections 20] [--duration 20s] [--token T]
  GETs the url in a closed loop on as many keep-alive connections for the duration, and prints
  the rate of 2xx answers and their latency (the load scripts/profile.sh profiles under).`;

/** `shopctl hammer`: a closed loop of GETs on one URL (closedLoopThroughput), as a command. */
export async function hammerCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(`${HAMMER_USAGE}\n`);
    return 0;
  }
  let url: URL;
  let connections = 20;
  let durationMs = 20_000;
  let token: string | undefined;
  try {
    const { positional, values } = parseOptions(argv, { valued: ['connections', 'duration', 'token'] });
    if (positional.length !== 1) throw new UsageError('name one url');
    url = new URL(positional[0] as string);
    if (values.connections !== undefined) {
      connections = Number(values.connections);
      if (!Number.isInteger(connections) || connections <= 0)
        throw new UsageError('--connections must be a whole number above 0');
    }
    if (values.duration !== undefined) durationMs = parseDuration(values.duration, '--duration');
    token = values.token;
  } catch (err) {
    io.err(`shopctl hammer: ${messageOf(err)}\n${HAMMER_USAGE}\n`);
    return 2;
  }
  const result = await closedLoopThroughput(url.origin, `${url.pathname}${url.search}`, {
    connections,
    durationMs,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  const l = result.latency;
  io.out(
    `${result.rps.toFixed(0)} req/s (${result.ok} ok, ${result.errors} errors) over ${connections} connections; ` +
      `latency p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms\n`,
  );
  return result.ok > 0 ? 0 : 1;
}
