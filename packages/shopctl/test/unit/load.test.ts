import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ApiError, ApiUnreachableError } from '../../src/api';
import { UsageError } from '../../src/command';
import {
  arrivalsDue,
  type Clock,
  errorKind,
  formatProgress,
  formatSummary,
  LoadRecorder,
  type LoadSummary,
  loadCommand,
  parseMix,
  parseProducts,
  pickOperation,
  runLoad,
  runOpenLoop,
} from '../../src/load';

/** Time moves only when the test advances it; sleepers wake in time order. */
class FakeClock implements Clock {
  t = 0;
  private waiters: { at: number; wake: () => void }[] = [];
  now = () => this.t;
  sleep = (ms: number) => this.at(this.t + ms);
  at(when: number): Promise<void> {
    return new Promise((wake) => this.waiters.push({ at: when, wake }));
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      this.waiters.sort((a, b) => a.at - b.at);
      const first = this.waiters[0];
      if (!first || first.at > end) break;
      this.waiters.shift();
      this.t = Math.max(this.t, first.at);
      first.wake();
    }
    this.t = end;
    await new Promise((r) => setImmediate(r));
  }
}

async function drive<T>(clock: FakeClock, work: Promise<T>): Promise<T> {
  let done = false;
  const result = work.finally(() => {
    done = true;
  });
  while (!done) await clock.advance(10);
  return result;
}

test('the mix parses weights by name, missing ones weigh 0', () => {
  assert.deepEqual(parseMix('browse=10,cart=3,checkout=1'), { browse: 10, cart: 3, checkout: 1 });
  assert.deepEqual(parseMix('checkout=1'), { browse: 0, cart: 0, checkout: 1 });
  assert.throws(() => parseMix('browse=1,pay=2'), /'pay=2' is not <operation>=<weight>/);
  assert.throws(() => parseMix('browse=-1'), /must be ≥ 0/);
  assert.throws(() => parseMix('browse=0'), /weight above 0/);
});

test('operations are drawn in proportion to their weights', () => {
  const mix = { browse: 10, cart: 3, checkout: 1 };
  const counts = { browse: 0, cart: 0, checkout: 0 };
  for (let i = 0; i < 1400; i++) counts[pickOperation(mix, (i + 0.5) / 1400)]++;
  assert.deepEqual(counts, { browse: 1000, cart: 300, checkout: 100 });
  assert.equal(pickOperation({ browse: 0, cart: 1, checkout: 0 }, 0.99), 'cart');
});

test('arrival i is due at i/rate, and no more than rate × duration are due', () => {
  assert.equal(arrivalsDue(0, 10, 1000), 1);
  assert.equal(arrivalsDue(99, 10, 1000), 1);
  assert.equal(arrivalsDue(100, 10, 1000), 2);
  assert.equal(arrivalsDue(5000, 10, 1000), 10);
  assert.equal(arrivalsDue(1000, 2.5, 1000), 3); // at 0, 400, 800 ms
});

test('arrivals follow the clock, not the responses: slow answers do not delay the next request', async () => {
  const clock = new FakeClock();
  const launchedAt: number[] = [];
  const recorder = { sent: 0, dropped: 0, inFlight: 0 };
  const result = await drive(
    clock,
    runOpenLoop({
      rate: 10,
      durationMs: 1000,
      maxInFlight: 100,
      clock,
      recorder,
      launch: () => {
        launchedAt.push(clock.now());
        return clock.at(clock.now() + 5000); // every response takes 5 s
      },
    }),
  );
  assert.deepEqual(launchedAt, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  assert.equal(result.scheduled, 10);
  assert.deepEqual(recorder, { sent: 10, dropped: 0, inFlight: 0 });
  assert.ok(clock.now() >= 5900, 'the run ends when the last response is in');
});

test('over the in-flight cap an arrival is dropped and counted, not queued', async () => {
  const clock = new FakeClock();
  const recorder = { sent: 0, dropped: 0, inFlight: 0 };
  const launchedAt: number[] = [];
  await drive(
    clock,
    runOpenLoop({
      rate: 10,
      durationMs: 2000,
      maxInFlight: 3,
      clock,
      recorder,
      launch: () => {
        launchedAt.push(clock.now());
        return clock.at(clock.now() + 1000);
      },
    }),
  );
  // 0,100,200 fill the cap; the first answer at 1000 frees a slot for the arrival due then.
  assert.deepEqual(launchedAt, [0, 100, 200, 1000, 1100, 1200]);
  assert.deepEqual(recorder, { sent: 6, dropped: 14, inFlight: 0 });
});

test('an aborted run stops scheduling and says so', async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  const recorder = { sent: 0, dropped: 0, inFlight: 0 };
  const result = await drive(
    clock,
    runOpenLoop({
      rate: 10,
      durationMs: 10_000,
      maxInFlight: 100,
      clock,
      recorder,
      signal: controller.signal,
      launch: async () => {
        if (clock.now() >= 450) controller.abort();
      },
    }),
  );
  assert.equal(result.aborted, true);
  assert.equal(recorder.sent, 6);
});

test('the recorder summarizes counts, errors by kind and latency percentiles per operation', () => {
  const r = new LoadRecorder();
  for (let ms = 1; ms <= 100; ms++) r.record('browse', ms);
  r.record('checkout', 40);
  r.record('checkout', 2000, '503 SHOP_CHAOS_INJECTED');
  r.record('checkout', 10_000, 'timeout');
  r.record('checkout', 30, '503 SHOP_CHAOS_INJECTED');
  const ops = r.operations(10_000);
  assert.equal(ops.browse.count, 100);
  assert.equal(ops.browse.ok, 100);
  assert.equal(ops.browse.throughput, 10);
  // HdrHistogram with 3 significant digits: within 0.1 %.
  const near = (actual: number | undefined, expected: number) =>
    assert.ok(actual !== undefined && Math.abs(actual - expected) <= expected / 1000, `${actual} ≈ ${expected}`);
  near(ops.browse.latencyMs?.p50, 50);
  near(ops.browse.latencyMs?.p90, 90);
  near(ops.browse.latencyMs?.p99, 99);
  near(ops.browse.latencyMs?.max, 100);
  assert.deepEqual(ops.checkout.errors, { '503 SHOP_CHAOS_INJECTED': 2, timeout: 1 });
  assert.equal(ops.checkout.ok, 1);
  assert.equal(ops.cart.latencyMs, null);
  assert.equal(r.ok, 101);
  assert.equal(r.errors, 3);

  const first = r.snapshot(5000, 5000);
  assert.equal(first.currentRps, 20.8); // 104 responses in 5 s
  assert.ok(first.recentP95Ms !== null && first.recentP95Ms >= 95);
  const quiet = r.snapshot(6000, 1000);
  assert.equal(quiet.currentRps, 0);
  assert.equal(quiet.recentP95Ms, null);
  assert.match(formatProgress(first), /^ +5s {2}sent 0 {2}ok 101 {2}errors 3 {2}in flight 0 {2}20\.8 rps {2}p95 \d/);
});

test('failures are classified by status and code, timeout or unreachable', () => {
  assert.equal(
    errorKind(new ApiError('POST', 'u', 409, { code: 'SHOP_OUT_OF_STOCK', status: 409, title: 't' })),
    '409 SHOP_OUT_OF_STOCK',
  );
  assert.equal(errorKind(new ApiError('GET', 'u', 502, 'bad gateway')), '502');
  const timeout = new Error('timed out');
  timeout.name = 'TimeoutError';
  assert.equal(errorKind(new ApiUnreachableError('GET', 'u', timeout)), 'timeout');
  assert.equal(errorKind(new ApiUnreachableError('GET', 'u', new Error('ECONNREFUSED'))), 'unreachable');
});

test('the summary lists each operation, the errors and the orders', () => {
  const r = new LoadRecorder();
  r.record('browse', 12);
  r.record('checkout', 80);
  r.record('cart', 30, '409 SHOP_OUT_OF_STOCK');
  r.orderIds.push('o-1');
  const summary: LoadSummary = {
    startedAt: '2026-11-28T00:00:00.000Z',
    elapsedMs: 1000,
    rate: 3,
    durationMs: 1000,
    users: 2,
    mix: { browse: 10, cart: 3, checkout: 1 },
    maxInFlight: 50,
    scheduled: 3,
    sent: 3,
    dropped: 0,
    ok: r.ok,
    errors: r.errors,
    operations: r.operations(1000),
    orderIds: r.orderIds,
    aborted: false,
  };
  const text = formatSummary(summary);
  assert.match(text, /^OPERATION +COUNT +OK +ERRORS +RPS +P50 +P90 +P99 +MAX$/m);
  assert.match(text, /^browse +1 +1 +0 +1 +12ms/m);
  assert.match(text, /^cart +1 +0 +1 +1 +30ms/m);
  assert.match(text, /^ {2}cart: 1 × 409 SHOP_OUT_OF_STOCK$/m);
  assert.match(text, /^orders created: 1 \(o-1\)$/m);
});

test('bad load options exit 2 with the usage', async () => {
  let err = '';
  const io = { env: {}, out: () => {}, err: (t: string) => (err += t) };
  assert.equal(await loadCommand(['--rate', '20'], io), 2);
  assert.match(err, /--rate and --duration are required/);
  assert.equal(await loadCommand(['--rate', 'fast', '--duration', '10s'], io), 2);
  assert.match(err, /--rate 'fast' is not a number/);
  assert.equal(await loadCommand(['--rate', '5', '--duration', '10'], io), 2);
  assert.equal(await loadCommand(['--rate', '5', '--duration', '10s', '--users', '0'], io), 2);
  assert.match(err, /--users must be 1–1000/);
  assert.match(err, /usage: shopctl load/);
  assert.ok(new UsageError('x') instanceof Error);
});

test('--products lists ids; empty ones are a usage error', () => {
  assert.deepEqual(parseProducts('p-1, p-2,p-1'), ['p-1', 'p-2']);
  assert.throws(() => parseProducts('p-1,,p-2'), UsageError);
  assert.throws(() => parseProducts(''), UsageError);
});

test('with `products`, every cart add takes one of them, though the catalogue lists others in stock', async (t) => {
  // A gateway double on the loopback: a catalogue of two seeded products and the run's own one.
  const listed = [
    { id: 'p-seeded-1', name: 'Seeded mug', available: 50 },
    { id: 'p-seeded-2', name: 'Seeded book', available: 50 },
  ];
  const own = { id: 'p-own', name: 'Own product', available: 100 };
  const added: string[] = [];
  const body = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += chunk;
    return text ? JSON.parse(text) : undefined;
  };
  const server = createServer(async (req, res) => {
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const product = (p: { id: string; name: string; available: number }) => ({
      ...p,
      sku: p.id,
      description: '',
      category: 'test',
      price: { amount: 100, currency: 'USD' },
      imageUrl: null,
    });
    const url = req.url ?? '';
    if (req.method === 'GET' && url.startsWith('/api/v1/products/')) {
      const id = decodeURIComponent(url.slice('/api/v1/products/'.length));
      const found = [...listed, own].find((p) => p.id === id);
      return found ? send(200, product(found)) : send(404, { code: 'SHOP_NOT_FOUND' });
    }
    if (req.method === 'GET' && url.startsWith('/api/v1/products')) {
      return send(200, { items: listed.map(product), nextCursor: null });
    }
    if (req.method === 'POST' && url === '/api/v1/auth/register') {
      await body(req);
      return send(201, { user: { id: `u-${added.length}` } });
    }
    if (req.method === 'POST' && url === '/api/v1/auth/login') return send(200, { token: 'a-token' });
    if (req.method === 'POST' && url === '/api/v1/cart/items') {
      added.push((await body(req)).productId);
      return send(201, { lines: [], total: { amount: 0, currency: 'USD' }, itemCount: 1, version: 1 });
    }
    if (req.method === 'POST' && url === '/api/v1/checkout')
      return send(202, { orderId: `o-${added.length}`, status: 'PENDING' });
    send(404, { code: 'SHOP_ROUTE_NOT_FOUND' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;

  const summary = await runLoad({
    rate: 200,
    durationMs: 100,
    users: 3,
    mix: { browse: 0, cart: 1, checkout: 0 },
    products: ['p-own'],
    env: { SHOPLAB_GATEWAY_URL: `http://127.0.0.1:${port}` },
  });
  assert.equal(summary.errors, 0, JSON.stringify(summary.operations));
  assert.ok(added.length > 0, 'the run added products to carts');
  assert.deepEqual(new Set(added), new Set(['p-own']));
});
