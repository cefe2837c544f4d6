// `shopctl bench`: the figures of docs/benchmarks.md (P1–P6) against the running local stack,
// printed, and with --write recorded in that page (its last run, and one line in its history).
// scripts/bench.sh (`make bench`) starts a gateway of the bench's own with the rate limit raised
// (the limit is a policy, not a cost) and passes it with --gateway; P5 runs exercise 1 on the
// shop's own gateway. A figure that misses its goal is reported, never an error: the exit status
// says only whether the bench could run.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { adminBaseUrl, messageOf, resolveAdminToken, serviceBaseUrl } from '../api';
import { type CliIo, parseDuration, parseOptions, UsageError } from '../command';
import { shopTarget } from '../exercises/command';
import { findExercise } from '../exercises/registry';
import { runExercise } from '../exercises/runner';
import { cpuCeiling, cpuSummary, cpuTable } from './cpu';
import {
  type BenchTarget,
  benchProduct,
  type CheckoutStep,
  type ComposedReadFigure,
  checkoutStep,
  composedRead,
  type ListThroughputFigure,
  listThroughput,
  registerShoppers,
  serviceMemory,
} from './figures';
import { proportionalMb } from './measure';

export const BENCH_USAGE = `usage: shopctl bench [--smoke] [--write docs/benchmarks.md] [--gateway URL] [--gateway-pid PID]
                     [--rates 10,25,50,75,100,125,150] [--step 10s] [--samples 200] [--connections 20]
                     [--throughput-for 10s] [--no-exercise] [--json]
  P1 the gateway's /me p50 at concurrency 1 ÷ the slowest of its gRPC calls sent directly (goal ≤ 1.3);
     beside it, the three sent at once straight to their services (what the gateway adds to the fan-out)
  P2 the gateway's GET /products?limit=20 throughput ÷ catalog's own, 20 connections (goal ≥ 0.5)
  P3 the highest open-loop checkout rate with POST /checkout p99 ≤ 300 ms, checkout→CONFIRMED
     p99 ≤ 2 s, no error (goal ≥ 100/s); the rates are tried in order until one is not sustained
     each step's CPU per accepted checkout, by process (/proc), and the rate this machine's cores allow
  P4 outbox commit → Kafka publish p99 at P3's rate (goal ≤ 50 ms)
  P5 exercise 1's time to end with payment slow, breakers on ÷ off (skipped by --smoke, --no-exercise)
  P6 resident memory of each service idle and under P3's load (goal ≤ 600 MB idle for the six)
  --smoke         a short run of every figure but P5 (make check runs it so the bench cannot rot)
  --write FILE    record the run in FILE (docs/benchmarks.md): its last-run section and a history line
  --gateway URL   the gateway to measure (scripts/bench.sh starts one with the rate limit raised)
  --gateway-pid   that gateway's pid, for its memory`;

interface BenchArgs {
  smoke: boolean;
  write?: string;
  gateway?: string;
  gatewayPid?: number;
  rates: number[];
  stepSeconds: number;
  samples: number;
  connections: number;
  throughputSeconds: number;
  exercise: boolean;
  json: boolean;
}

function parseBenchArgs(argv: string[]): BenchArgs {
  const { values, flags, positional } = parseOptions(argv, {
    valued: ['write', 'gateway', 'gateway-pid', 'rates', 'step', 'samples', 'connections', 'throughput-for'],
    flags: ['smoke', 'no-exercise', 'json'],
  });
  if (positional.length > 0) throw new UsageError(`unexpected argument '${positional[0]}'`);
  const smoke = flags.has('smoke');
  const number = (name: string, fallback: number) => {
    const text = values[name];
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a number above 0, not '${text}'`);
    return n;
  };
  const rates = (values.rates ?? (smoke ? '5' : '10,25,50,75,100,125,150')).split(',').map((r) => {
    const n = Number(r.trim());
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--rates: '${r}' is not a rate above 0`);
    return n;
  });
  return {
    smoke,
    ...(values.write ? { write: values.write } : {}),
    ...(values.gateway ? { gateway: values.gateway.replace(/\/+$/, '') } : {}),
    ...(values['gateway-pid'] ? { gatewayPid: number('gateway-pid', 0) } : {}),
    rates,
    stepSeconds: values.step ? parseDuration(values.step, '--step') / 1000 : smoke ? 4 : 10,
    samples: number('samples', smoke ? 20 : 200),
    connections: number('connections', 20),
    throughputSeconds: values['throughput-for']
      ? parseDuration(values['throughput-for'], '--throughput-for') / 1000
      : smoke
        ? 2
        : 10,
    exercise: !smoke && !flags.has('no-exercise'),
    json: flags.has('json'),
  };
}

export interface BenchReport {
  date: string;
  commit: string;
  machine: string;
  mode: 'smoke' | 'full';
  gateway: string;
  p1: ComposedReadFigure;
  p2: ListThroughputFigure;
  p3: { steps: CheckoutStep[]; best: CheckoutStep | null };
  p5: { breakersOn: string; breakersOff: string; ratio: number | null } | { skipped: string };
  idleMb: Record<string, number | null>;
  /** The same, proportional (Pss): pages the services share counted once; absent from older records. */
  idlePssMb?: Record<string, number | null>;
}

const GRPC_PORTS = { user: 9081, cart: 9083, order: 9085 } as const;

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** The p50 of exercise 1's "time to end" evidence line (`p50 6.12 s, …`), in seconds. */
function p50Seconds(line: string | undefined): number | null {
  const m = line ? /time to end p50 ([\d.]+) s/.exec(line) : null;
  return m?.[1] ? Number(m[1]) : null;
}

export async function runBench(args: BenchArgs, io: CliIo): Promise<BenchReport> {
  const adminToken = resolveAdminToken(undefined, io.env);
  if (!adminToken) throw new UsageError('no admin token (set ADMIN_TOKEN, or start the local stack)');
  const env = io.env;
  const benchEnv = args.gateway ? { ...env, SHOPLAB_GATEWAY_URL: args.gateway } : env;
  const log = (line: string) => io.err(`bench: ${line}\n`);
  const target: BenchTarget = {
    gatewayUrl: serviceBaseUrl('gateway', benchEnv),
    serviceUrl: (service) => serviceBaseUrl(service, env),
    adminUrl: (service) => adminBaseUrl(service, env),
    grpcAddress: (service) => env[`SHOPLAB_${service.toUpperCase()}_GRPC`] ?? `127.0.0.1:${GRPC_PORTS[service]}`,
    adminToken,
    env,
    log,
  };
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const idleMb = await serviceMemory(target);
  const idlePssMb = await serviceMemory(target, undefined, proportionalMb);
  log(`idle memory: ${formatMemory(idleMb)}; proportional (Pss): ${formatMemory(idlePssMb)}`);

  const steps = args.rates;
  const productId = await benchProduct(
    target,
    runId,
    2 * steps.reduce((n, r) => n + Math.round(r * args.stepSeconds), 0) + 100,
  );

  log(`P1: /me and its three calls, ${args.samples} samples each`);
  const [reader] = await registerShoppers(target, runId, 1);
  if (!reader) throw new Error('could not register the reader');
  const p1 = await composedRead(target, reader, args.samples);
  log(
    `P1: gateway p50 ${p1.gatewayP50Ms.toFixed(2)} ms ÷ slowest call ${Math.max(...Object.values(p1.downstreamP50Ms)).toFixed(2)} ms = ${p1.ratio.toFixed(2)} (the three at once, straight: ${p1.parallelP50Ms.toFixed(2)} ms)`,
  );

  log(`P2: GET /products?limit=20, ${args.connections} connections, ${args.throughputSeconds} s each side`);
  const p2 = await listThroughput(target, args.connections, args.throughputSeconds);
  log(
    `P2: gateway ${p2.gatewayRps.toFixed(0)} req/s ÷ catalog ${p2.catalogRps.toFixed(0)} req/s = ${p2.ratio.toFixed(2)}`,
  );

  // Shoppers are registered as the steps need them (a password hash each): a run that stops at
  // its first step does not pay for the last one's.
  const shoppers: Awaited<ReturnType<typeof registerShoppers>> = [];
  const results: CheckoutStep[] = [];
  let best: CheckoutStep | null = null;
  for (const rate of steps) {
    const needed = Math.round(rate * args.stepSeconds);
    if (shoppers.length < needed) {
      log(`P3: registering ${needed - shoppers.length} more shoppers`);
      shoppers.push(...(await registerShoppers(target, runId, needed - shoppers.length)));
    }
    log(`P3: ${rate} checkouts/s for ${args.stepSeconds} s`);
    const step = await checkoutStep(target, shoppers, productId, rate, args.stepSeconds, args.gatewayPid);
    results.push(step);
    log(
      `P3: ${rate}/s: ${step.accepted}/${step.sent} accepted, POST p99 ${step.checkoutMs.p99.toFixed(0)} ms, ` +
        `→CONFIRMED p99 ${step.toConfirmedMs.p99.toFixed(0)} ms, errors ${JSON.stringify(step.errors)} — ${step.sustained ? 'sustained' : 'NOT sustained'}`,
    );
    if (!step.sustained) break;
    best = step;
  }

  let p5: BenchReport['p5'] = { skipped: args.smoke ? '--smoke' : '--no-exercise' };
  if (args.exercise) {
    const exercise = findExercise(1);
    if (exercise) {
      log('P5: exercise 1 (payment slow, breakers on, then off)');
      const result = await runExercise(exercise, {
        target: shopTarget(env, adminToken),
        out: () => {},
        signal: new AbortController().signal,
      });
      const evidence = result.checks.find((c) => c.name.startsWith('every order ends'))?.evidence ?? [];
      const on = evidence.find((l) => l.startsWith('breakers on'));
      const off = evidence.find((l) => l.startsWith('breakers off'));
      const onP50 = p50Seconds(on);
      const offP50 = p50Seconds(off);
      p5 = {
        breakersOn: on ?? 'not measured',
        breakersOff: off ?? 'not measured',
        ratio: onP50 !== null && offP50 ? onP50 / offP50 : null,
      };
      if (!result.ok) log('P5: exercise 1 did not pass; its figures are reported as measured');
    }
  }

  return {
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    mode: args.smoke ? 'smoke' : 'full',
    gateway: target.gatewayUrl,
    p1,
    p2,
    p3: { steps: results, best },
    p5,
    idleMb,
    idlePssMb,
  };
}

function formatMemory(mb: Record<string, number | null>): string {
  const known = Object.values(mb).filter((v): v is number => v !== null);
  const parts = Object.entries(mb).map(([s, v]) => `${s} ${v === null ? '?' : v.toFixed(0)}`);
  return `${parts.join(', ')} MB; total ${known.reduce((a, b) => a + b, 0).toFixed(0)} MB`;
}

const SIX = ['gateway', 'user', 'catalog', 'cart', 'payment', 'order'];
const total = (mb: Record<string, number | null>) => SIX.reduce((n, s) => n + (mb[s] ?? 0), 0);
/** The proportional figure beside the resident one, when the record has it. */
const sharedOnce = (pss: Record<string, number | null> | undefined) =>
  pss && Object.values(pss).some((v) => v !== null)
    ? `; with the pages they share (the node binary, libraries) counted once (Pss): **${total(pss).toFixed(0)} MB**`
    : '';

/** The run as the markdown of docs/benchmarks.md's last-run section. */
export function formatReport(r: BenchReport): string {
  const best = r.p3.best;
  const last = r.p3.steps.at(-1);
  const underLoad = best ?? last;
  // The CPU accounting shown in full: the highest step that accepted checkouts.
  const accounted = [...r.p3.steps].reverse().find((s) => s.cpu);
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 0)} ms` : 'n/a');
  const lines = [
    `Run of ${r.date} at ${r.commit} (${r.mode}), ${r.machine}; gateway ${r.gateway}.`,
    '',
    '| figure | measured | goal |',
    '|---|---|---|',
    `| P1 \`/me\` p50 ÷ slowest call it makes | ${ms(r.p1.gatewayP50Ms)} ÷ ${ms(Math.max(...Object.values(r.p1.downstreamP50Ms)))} = **${r.p1.ratio.toFixed(2)}** (user ${ms(r.p1.downstreamP50Ms.user)}, order ${ms(r.p1.downstreamP50Ms.order)}, cart ${ms(r.p1.downstreamP50Ms.cart)}; the three at once, straight: ${ms(r.p1.parallelP50Ms)}, so the gateway adds ×${(r.p1.gatewayP50Ms / r.p1.parallelP50Ms).toFixed(2)}; n=${r.p1.samples}) | ≤ 1.3 |`,
    `| P2 gateway ÷ catalog, \`GET /products?limit=20\`, ${r.p2.connections} connections | ${r.p2.gatewayRps.toFixed(0)} ÷ ${r.p2.catalogRps.toFixed(0)} req/s = **${r.p2.ratio.toFixed(2)}** (errors ${r.p2.gatewayErrors} / ${r.p2.catalogErrors}) | ≥ 0.5 (catalog ≥ 3 000 req/s) |`,
    `| P3 highest sustained checkout rate | **${best ? `${best.rate}/s` : `none of ${r.p3.steps.map((s) => s.rate).join(', ')}/s`}**${best ? ` (POST p99 ${ms(best.checkoutMs.p99)}, →CONFIRMED p99 ${ms(best.toConfirmedMs.p99)})` : ''}${accounted?.cpu ? `; CPU ceiling **${cpuCeiling(accounted.cpu)}** at ${accounted.rate}/s (below)` : ''} | ≥ 100/s |`,
    `| P4 outbox → Kafka publish p99 at P3's rate | ${underLoad?.publishLagP99Ms == null ? 'n/a' : `≤ ${underLoad.publishLagP99Ms} ms (bucket bound)`}${best ? '' : ' (at the lowest rate tried)'} | ≤ 50 ms |`,
    `| P5 exercise 1, time to end, breakers on ÷ off | ${'skipped' in r.p5 ? `skipped (${r.p5.skipped})` : `${r.p5.ratio === null ? 'n/a' : `**${r.p5.ratio.toFixed(2)}**`}: ${r.p5.breakersOn}; ${r.p5.breakersOff}`} | reported (the breaker's price: its reset timeout) |`,
    `| P6 memory of the six services, idle | **${total(r.idleMb).toFixed(0)} MB** resident (${formatMemory(r.idleMb)})${sharedOnce(r.idlePssMb)} | ≤ 600 MB |`,
    `| P6 … under P3's load (peak) | ${underLoad ? `**${total(underLoad.residentMb).toFixed(0)} MB** resident (${formatMemory(underLoad.residentMb)})${sharedOnce(underLoad.proportionalMb)}` : 'n/a'} | ≤ 1 GB |`,
    '',
    'P3 steps:',
    '',
    '| rate | accepted | POST /checkout p50 / p99 | → CONFIRMED p50 / p99 | errors | publish p99 | CPU per checkout: shop + bench → ceiling | sustained |',
    '|---|---|---|---|---|---|---|---|',
    ...r.p3.steps.map(
      (s) =>
        `| ${s.rate}/s × ${s.seconds} s | ${s.accepted}/${s.sent} | ${ms(s.checkoutMs.p50)} / ${ms(s.checkoutMs.p99)} | ${ms(s.toConfirmedMs.p50)} / ${ms(s.toConfirmedMs.p99)} | ${
          Object.entries(s.errors)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ') || '0'
        }${s.notConfirmed ? `; ${s.notConfirmed} not confirmed` : ''} | ${s.publishLagP99Ms == null ? 'n/a' : `≤ ${s.publishLagP99Ms} ms`} | ${s.cpu ? cpuSummary(s.cpu) : 'n/a'} | ${s.sustained ? 'yes' : 'no'} |`,
    ),
    ...(accounted?.cpu ? ['', ...cpuTable(accounted.cpu, accounted.rate)] : []),
  ];
  return lines.join('\n');
}

/** One line of the history table. */
export function historyLine(r: BenchReport): string {
  const underLoad = r.p3.best ?? r.p3.steps.at(-1);
  return `| ${r.date.slice(0, 16).replace('T', ' ')} | ${r.commit} | ${r.mode} | ${r.p1.ratio.toFixed(2)} | ${r.p2.ratio.toFixed(2)} (${r.p2.catalogRps.toFixed(0)} req/s) | ${r.p3.best ? `${r.p3.best.rate}/s` : 'none'} | ${underLoad?.publishLagP99Ms == null ? 'n/a' : `≤ ${underLoad.publishLagP99Ms} ms`} | ${'skipped' in r.p5 || r.p5.ratio === null ? '—' : r.p5.ratio.toFixed(2)} | ${total(r.idleMb).toFixed(0)} / ${underLoad ? total(underLoad.residentMb).toFixed(0) : '—'} MB |`;
}

const LAST_RUN = /<!-- bench:last-run -->[\s\S]*?<!-- \/bench:last-run -->/;
const HISTORY_END = '<!-- /bench:history -->';

/** Replaces the page's last-run section and adds the history line above the history's end marker. */
export function recordRun(page: string, r: BenchReport): string {
  if (!LAST_RUN.test(page) || !page.includes(HISTORY_END)) {
    throw new Error('the page has no <!-- bench:last-run --> section or <!-- /bench:history --> marker');
  }
  return page
    .replace(LAST_RUN, `<!-- bench:last-run -->\n${formatReport(r)}\n<!-- /bench:last-run -->`)
    .replace(HISTORY_END, `${historyLine(r)}\n${HISTORY_END}`);
}

export async function benchCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(`${BENCH_USAGE}\n`);
    return 0;
  }
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (err) {
    io.err(`shopctl bench: ${messageOf(err)}\n${BENCH_USAGE}\n`);
    return 2;
  }
  let report: BenchReport;
  try {
    report = await runBench(args, io);
  } catch (err) {
    io.err(`shopctl bench: could not run: ${messageOf(err)}\n`);
    return 2;
  }
  io.out(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  if (args.write) {
    await writeFile(args.write, recordRun(await readFile(args.write, 'utf8'), report));
    io.err(`bench: recorded in ${args.write}\n`);
  }
  return 0;
}
