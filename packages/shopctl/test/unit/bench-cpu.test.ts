import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BenchReport, formatReport } from '../../src/bench/command';
import {
  BENCH_PART,
  cpuAccount,
  cpuTable,
  parseMachineBusy,
  parseProcStat,
  snapshotOf,
  treeTicks,
} from '../../src/bench/cpu';
import type { CheckoutStep } from '../../src/bench/figures';

/** A /proc/<pid>/stat line as Linux writes it: utime, stime, cutime, cstime are fields 14–17. */
function statLine(pid: number, comm: string, ppid: number, [u, s, cu, cs]: number[]): string {
  return `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 1200 0 0 0 ${u} ${s} ${cu} ${cs} 20 0 11 0 3551 1147613184 51234 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 0 0 0 0 0`;
}

const MACHINE = (busy: [number, number, number], idle: number) =>
  `cpu  ${busy[0]} 0 ${busy[1]} ${idle} 40 0 ${busy[2]} 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 12345\n`;

test('parseProcStat reads the fields after the command name, whatever the name holds', () => {
  const p = parseProcStat(statLine(4242, 'postgres: shop (x) idle', 15206, [1234, 567, 89, 10]));
  assert.deepEqual(p, {
    pid: 4242,
    comm: 'postgres: shop (x) idle',
    ppid: 15206,
    utime: 1234,
    stime: 567,
    cutime: 89,
    cstime: 10,
  });
  assert.throws(() => parseProcStat('garbage'), /not a \/proc\/<pid>\/stat line/);
});

test('parseMachineBusy counts user, nice, system, irq, softirq and steal, not idle or iowait', () => {
  assert.equal(parseMachineBusy(MACHINE([100, 50, 5], 99_999)), 155);
  assert.throws(() => parseMachineBusy('intr 1\n'), /no cpu line/);
});

test('treeTicks adds a process, its live descendants and the children they waited for', () => {
  const processes = new Map(
    [
      statLine(10, 'postgres', 1, [100, 50, 30, 20]), // 30 + 20: backends that already ended
      statLine(11, 'postgres: backend', 10, [5, 5, 0, 0]),
      statLine(12, 'postgres: walwriter', 10, [1, 1, 0, 0]),
      statLine(13, 'sh', 11, [2, 0, 0, 0]), // a grandchild
      statLine(20, 'node', 1, [7, 7, 0, 0]), // someone else's
    ].map((l) => {
      const p = parseProcStat(l);
      return [p.pid, p] as const;
    }),
  );
  assert.equal(treeTicks(processes, 10), 100 + 50 + 30 + 20 + 10 + 2 + 2);
  assert.equal(treeTicks(processes, 20), 14);
  assert.equal(treeTicks(processes, 99), null, 'not running');
});

test('cpuAccount divides each part’s CPU by the accepted checkouts and derives the ceiling from the cores', () => {
  const roots = { order: 20, 'PostgreSQL (all its backends)': 10, gone: 30, [BENCH_PART]: 40 };
  const before = snapshotOf(
    roots,
    [
      statLine(10, 'postgres', 1, [100, 0, 0, 0]),
      statLine(11, 'postgres: backend', 10, [50, 0, 0, 0]),
      statLine(20, 'node', 1, [1000, 200, 0, 0]),
      statLine(40, 'node', 1, [10, 0, 0, 0]),
    ],
    MACHINE([10_000, 0, 0], 0),
  );
  // 100 ticks = 1 s each at 100 Hz. The backend ended meanwhile: its 50 + 30 more ticks are in the postmaster's cutime.
  const after = snapshotOf(
    { ...roots, order: 21 }, // order restarted: its CPU cannot be told
    [
      statLine(10, 'postgres', 1, [120, 0, 80, 0]),
      statLine(21, 'node', 1, [5, 5, 0, 0]),
      statLine(40, 'node', 1, [60, 0, 0, 0]),
    ],
    MACHINE([10_500, 0, 0], 0),
  );
  const account = cpuAccount(before, after, { checkouts: 50, seconds: 10, cores: 2, ticksPerSecond: 100 });
  assert.ok(account);
  const part = (name: string) => account.parts.find((p) => p.name === name);
  // PostgreSQL: (120 + 80) - (100 + 50) = 50 ticks = 500 ms; 10 ms a checkout.
  assert.deepEqual(part('PostgreSQL (all its backends)'), {
    name: 'PostgreSQL (all its backends)',
    cpuMs: 500,
    perCheckoutMs: 10,
  });
  assert.equal(part('order')?.cpuMs, null, 'restarted');
  assert.equal(part('gone')?.cpuMs, null, 'never there');
  assert.equal(account.shopPerCheckoutMs, 10);
  assert.equal(account.benchPerCheckoutMs, 10, '50 ticks = 500 ms over 50 checkouts');
  // The machine was busy 500 ticks = 5000 ms; the parts account for 1000 ms of it.
  assert.equal(account.otherCpuMs, 4000);
  assert.equal(account.ceilingPerSecond, 100, '2 cores × 1000 ms ÷ 20 ms');
  assert.equal(account.shopCeilingPerSecond, 200, '2 cores × 1000 ms ÷ 10 ms');
  assert.equal(cpuAccount(before, after, { checkouts: 0, seconds: 10, cores: 2, ticksPerSecond: 100 }), null);

  const table = cpuTable(account, 5).join('\n');
  assert.match(table, /\| PostgreSQL \(all its backends\) \| 500 \| 10 \|/);
  assert.match(table, /\| bench \(shopctl\), apart \| 500 \| 10 \|/);
  assert.match(table, /= \*\*100 checkouts\/s\*\*; 200\/s with the bench on another machine/);
  assert.match(table, /Not counted .*: order, gone\./);
});

test('cpuAccount with the shop at rest: what a checkout adds above the idle work, and the ceiling left after it', () => {
  const roots = { order: 20, kafka: 30, [BENCH_PART]: 40 };
  const snap = (order: number, kafka: number, bench: number, machine: number) =>
    snapshotOf(
      roots,
      [
        statLine(20, 'node', 1, [order, 0, 0, 0]),
        statLine(30, 'java', 1, [kafka, 0, 0, 0]),
        statLine(40, 'node', 1, [bench, 0, 0, 0]),
      ],
      MACHINE([machine, 0, 0], 0),
    );
  // At rest for 2 s: order 20 ticks (100 ms/s), Kafka 40 ticks (200 ms/s), the bench nothing.
  const restStart = snap(0, 0, 0, 0);
  const restEnd = snap(20, 40, 0, 60);
  // The step, 10 s, 50 checkouts: order 600 ticks (6 000 ms: 1 000 at rest, 5 000 above), Kafka
  // 200 ticks (2 000 ms: all of it its idle work), the bench 50 ticks (500 ms, nothing at rest).
  const stepEnd = snap(620, 240, 50, 910);
  const account = cpuAccount(restEnd, stepEnd, {
    checkouts: 50,
    seconds: 10,
    cores: 2,
    ticksPerSecond: 100,
    idle: { before: restStart, after: restEnd, seconds: 2 },
  });
  assert.ok(account?.idle);
  assert.equal(account.shopPerCheckoutMs, 160, 'everything: (6 000 + 2 000) ÷ 50');
  assert.deepEqual(account.idle.msPerSecond, { order: 100, kafka: 200, [BENCH_PART]: 0 });
  assert.equal(account.idle.shopMsPerSecond, 300);
  assert.equal(account.idle.shopAbovePerCheckoutMs, 100, '5 000 ms above rest ÷ 50');
  assert.equal(account.idle.benchAbovePerCheckoutMs, 10);
  // (2 000 − 300) ms a second left ÷ 110 ms a checkout.
  assert.equal(account.idle.ceilingPerSecond, 1700 / 110);
  const table = cpuTable(account, 5).join('\n');
  assert.match(table, /\| order \| 6000 \| 120 \| 100 \| 100 \|/);
  assert.match(table, /\| kafka \| 2000 \| 40 \| 200 \| 0\.00 \|/);
  assert.match(table, /Counting only what a checkout adds .*= \*\*15 checkouts\/s\*\*/);
  assert.equal(
    cpuAccount(restEnd, stepEnd, { checkouts: 50, seconds: 10, cores: 2, ticksPerSecond: 100 })?.idle,
    undefined,
  );
});

test('the report shows each step’s CPU per checkout and the accounting of the highest step', () => {
  const account = cpuAccount(
    snapshotOf(
      { order: 1, [BENCH_PART]: 2 },
      [statLine(1, 'node', 0, [0, 0, 0, 0]), statLine(2, 'node', 0, [0, 0, 0, 0])],
      MACHINE([0, 0, 0], 0),
    ),
    snapshotOf(
      { order: 1, [BENCH_PART]: 2 },
      [statLine(1, 'node', 0, [300, 100, 0, 0]), statLine(2, 'node', 0, [40, 0, 0, 0])],
      MACHINE([500, 0, 0], 0),
    ),
    { checkouts: 40, seconds: 8, cores: 2, ticksPerSecond: 100 },
  );
  const latency = { n: 40, p50: 20, p90: 40, p99: 90, max: 100 };
  const step: CheckoutStep = {
    rate: 5,
    seconds: 8,
    sent: 40,
    accepted: 40,
    errors: {},
    checkoutMs: latency,
    toConfirmedMs: latency,
    notConfirmed: 0,
    publishLagP99Ms: 25,
    residentMb: {},
    cpu: account,
    sustained: true,
  };
  const report: BenchReport = {
    date: '2026-12-06T00:00:00.000Z',
    commit: 'abc1234',
    machine: '2 × test cpu',
    mode: 'smoke',
    gateway: 'http://127.0.0.1:18081',
    p1: { samples: 20, gatewayP50Ms: 6, downstreamP50Ms: { user: 2, order: 4, cart: 3 }, parallelP50Ms: 5, ratio: 1.5 },
    p2: {
      connections: 20,
      seconds: 2,
      gatewayRps: 400,
      catalogRps: 1000,
      gatewayErrors: 0,
      catalogErrors: 0,
      ratio: 0.4,
    },
    p3: { steps: [step], best: step },
    p5: { skipped: '--smoke' },
    idleMb: {},
  };
  const text = formatReport(report);
  // order: 400 ticks = 4000 ms ÷ 40 = 100 ms; bench 400 ms ÷ 40 = 10 ms; 2000 ÷ 110 = 18/s.
  assert.match(text, /P3 highest sustained checkout rate \| \*\*5\/s\*\* .*CPU ceiling \*\*18\/s\*\* at 5\/s/);
  assert.match(text, /\| 5\/s × 8 s \| 40\/40 .* \| 100 \+ 10 ms → 18\/s \| yes \|/);
  assert.match(text, /\| order \| 4000 \| 100 \|/);
});
