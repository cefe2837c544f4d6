import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { type BenchReport, formatReport, recordRun } from '../../src/bench/command';
import type { CheckoutStep } from '../../src/bench/figures';
import {
  closedLoopThroughput,
  histogramBuckets,
  Latencies,
  procKbFieldMb,
  quantileBetween,
} from '../../src/bench/measure';

const PAGE_BEFORE = `# HELP shop_outbox_publish_lag_seconds Time from writing an outbox row to publishing it
# TYPE shop_outbox_publish_lag_seconds histogram
shop_outbox_publish_lag_seconds_bucket{le="0.01",topic="order.events"} 10
shop_outbox_publish_lag_seconds_bucket{le="0.05",topic="order.events"} 20
shop_outbox_publish_lag_seconds_bucket{le="0.1",topic="order.events"} 20
shop_outbox_publish_lag_seconds_bucket{le="+Inf",topic="order.events"} 20
shop_outbox_publish_lag_seconds_bucket{le="0.01",topic="order.dlq"} 1
shop_outbox_publish_lag_seconds_bucket{le="0.05",topic="order.dlq"} 1
shop_outbox_publish_lag_seconds_bucket{le="0.1",topic="order.dlq"} 1
shop_outbox_publish_lag_seconds_bucket{le="+Inf",topic="order.dlq"} 1
shop_outbox_publish_lag_seconds_count{topic="order.events"} 20
`;

test('histogramBuckets sums each bucket over every series of the histogram, and nothing else', () => {
  const buckets = histogramBuckets(PAGE_BEFORE, 'shop_outbox_publish_lag_seconds');
  assert.deepEqual(
    [...buckets.entries()],
    [
      [0.01, 11],
      [0.05, 21],
      [0.1, 21],
      [Number.POSITIVE_INFINITY, 21],
    ],
  );
  assert.equal(histogramBuckets(PAGE_BEFORE, 'shop_other').size, 0);
});

test('quantileBetween reads the quantile of what was observed between two scrapes as its bucket bound', () => {
  const before = histogramBuckets(PAGE_BEFORE, 'shop_outbox_publish_lag_seconds');
  // 100 more observations: 90 under 10 ms, 9 under 50 ms, 1 over 100 ms.
  const after = new Map([
    [0.01, 11 + 90],
    [0.05, 21 + 99],
    [0.1, 21 + 99],
    [Number.POSITIVE_INFINITY, 21 + 100],
  ]);
  assert.deepEqual(quantileBetween(before, after, 0.5), { upperBound: 0.01, observed: 100 });
  assert.deepEqual(quantileBetween(before, after, 0.95), { upperBound: 0.05, observed: 100 });
  assert.deepEqual(quantileBetween(before, after, 0.995), { upperBound: Number.POSITIVE_INFINITY, observed: 100 });
  assert.equal(quantileBetween(before, before, 0.99), null, 'nothing observed in between');
});

test('Latencies reports the quantiles of what it recorded, in ms', () => {
  const latencies = new Latencies();
  assert.ok(Number.isNaN(latencies.percentile(50)));
  for (let ms = 1; ms <= 100; ms++) latencies.record(ms);
  const summary = latencies.summary();
  assert.equal(summary.n, 100);
  assert.ok(Math.abs(summary.p50 - 50) < 0.1, `p50 ${summary.p50}`);
  assert.ok(Math.abs(summary.p99 - 99) < 0.1, `p99 ${summary.p99}`);
  assert.ok(Math.abs(summary.max - 100) < 0.1, `max ${summary.max}`);
});

test('closedLoopThroughput counts only 2xx answers, on as many connections as asked', async () => {
  let calls = 0;
  const sockets = new Set<unknown>();
  const server = createServer((req, res) => {
    sockets.add(req.socket);
    calls++;
    res.statusCode = calls % 4 === 0 ? 503 : 200;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const result = await closedLoopThroughput(`http://127.0.0.1:${port}`, '/x', { connections: 4, durationMs: 300 });
    assert.equal(result.ok + result.errors, calls);
    assert.ok(result.errors > 0 && result.ok > result.errors, JSON.stringify(result));
    assert.equal(result.latency.n, result.ok);
    assert.ok(result.rps > 0);
    assert.equal(sockets.size, 4, 'one keep-alive connection per worker');
  } finally {
    server.close();
  }
});

function step(rate: number, sustained: boolean): CheckoutStep {
  const latency = { n: rate, p50: 20, p90: 40, p99: sustained ? 90 : 900, max: 1000 };
  return {
    rate,
    seconds: 10,
    sent: rate * 10,
    accepted: rate * 10 - (sustained ? 0 : 3),
    errors: sustained ? {} : { '503 SHOP_BULKHEAD_FULL': 3 },
    checkoutMs: latency,
    toConfirmedMs: { ...latency, p99: 800 },
    notConfirmed: 0,
    publishLagP99Ms: sustained ? 25 : 100,
    residentMb: { gateway: 100, user: 100, catalog: 100, cart: 100, payment: 100, order: 150 },
    cpu: null,
    sustained,
  };
}

const REPORT: BenchReport = {
  date: '2026-12-05T10:00:00.000Z',
  commit: 'abc1234',
  machine: '2 × test cpu',
  mode: 'full',
  gateway: 'http://127.0.0.1:18081',
  p1: { samples: 200, gatewayP50Ms: 6, downstreamP50Ms: { user: 2, order: 4, cart: 3 }, parallelP50Ms: 5, ratio: 1.5 },
  p2: {
    connections: 20,
    seconds: 10,
    gatewayRps: 400,
    catalogRps: 1000,
    gatewayErrors: 0,
    catalogErrors: 0,
    ratio: 0.4,
  },
  p3: { steps: [step(10, true), step(25, true), step(50, false)], best: step(25, true) },
  p5: { skipped: '--no-exercise' },
  idleMb: { gateway: 90, user: 90, catalog: 90, cart: 90, payment: 90, order: 90 },
  idlePssMb: { gateway: 60, user: 60, catalog: 60, cart: 60, payment: 60, order: 70 },
};

test('the report names each figure with its measurement, and P3 as the last sustained rate', () => {
  const text = formatReport(REPORT);
  assert.match(text, /P1 .* = \*\*1\.50\*\* .*the three at once, straight: 5\.00 ms, so the gateway adds ×1\.20/);
  assert.match(text, /P2 .* 400 ÷ 1000 req\/s = \*\*0\.40\*\*/);
  assert.match(text, /P3 highest sustained checkout rate \| \*\*25\/s\*\*/);
  assert.match(text, /P4 .* ≤ 25 ms/);
  assert.match(text, /P5 .* skipped \(--no-exercise\)/);
  assert.match(
    text,
    /P6 memory of the six services, idle \| \*\*540 MB\*\* resident .* counted once \(Pss\): \*\*370 MB\*\*/,
  );
  assert.match(text, /P6 … under P3's load \(peak\) \| \*\*650 MB\*\* resident \(gateway 100,[^|]*MB\) \| ≤ 1 GB/);
  assert.doesNotMatch(
    text.split('\n').find((l) => l.includes('under P3')) ?? '',
    /Pss/,
    'a step without Pss says nothing of it',
  );
  assert.match(text, /\| 50\/s × 10 s \| 497\/500 .* 503 SHOP_BULKHEAD_FULL: 3 .* \| no \|/);
});

test('procKbFieldMb reads a kB field of /proc/<pid>/status or smaps_rollup as MB', () => {
  const rollup = [
    '55d0c0a00000-7ffd1a5f3000 ---p 00000000 00:00 0                          [rollup]',
    'Rss:              123904 kB',
    'Pss:               71680 kB',
    'Pss_Anon:          61440 kB',
  ].join('\n');
  assert.equal(procKbFieldMb(rollup, 'Pss'), 70);
  assert.equal(procKbFieldMb(rollup, 'Rss'), 121);
  assert.equal(procKbFieldMb('Name:\tnode\nVmRSS:\t  204800 kB\n', 'VmRSS'), 200);
  assert.equal(procKbFieldMb(rollup, 'Swap'), null);
});

test('recording a run replaces the last run and adds one history line, keeping the rest of the page', () => {
  const page = [
    '# Benchmarks',
    '<!-- bench:last-run -->',
    'old run',
    '<!-- /bench:last-run -->',
    '| date |',
    '| old line |',
    '<!-- /bench:history -->',
    'tail',
  ].join('\n');
  const once = recordRun(page, REPORT);
  assert.doesNotMatch(once, /old run/);
  assert.match(once, /<!-- bench:last-run -->\nRun of 2026-12-05T10:00:00.000Z at abc1234/);
  assert.match(
    once,
    /\| old line \|\n\| 2026-12-05 10:00 \| abc1234 \| full \| 1\.50 \| 0\.40 \(1000 req\/s\) \| 25\/s \|/,
  );
  const twice = recordRun(once, REPORT);
  assert.equal(twice.match(/\| 2026-12-05 10:00 \| abc1234/g)?.length, 2, 'each run adds its line');
  assert.match(twice, /tail$/);
  assert.throws(() => recordRun('# no markers', REPORT), /no <!-- bench:last-run -->/);
});
