import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaultInjector, targetMatches } from '../../src/chaos';
import { ShopError } from '../../src/errors';
import { createMetrics } from '../../src/metrics';

test('a fail rule fails exactly the scoped target and counts the injection', async () => {
  const metrics = createMetrics('chaos-test');
  const chaos = new FaultInjector(metrics);
  chaos.add({ kind: 'grpc', target: 'catalog.v1.CatalogService/ReserveStock', fault: { type: 'fail' } });
  await assert.rejects(chaos.apply('grpc', 'catalog.v1.CatalogService/ReserveStock'), (err: unknown) => {
    return err instanceof ShopError && err.code === 'SHOP_CHAOS_INJECTED';
  });
  await chaos.apply('grpc', 'catalog.v1.CatalogService/GetProduct');
  await chaos.apply('http', 'catalog.v1.CatalogService/ReserveStock');
  const counted = await metrics.chaosInjections.get();
  assert.equal(counted.values.find((v) => v.labels.fault === 'fail')?.value, 1);
});

test('wildcards scope a rule to a family of targets', async () => {
  const chaos = new FaultInjector();
  chaos.add({ kind: 'http', target: 'GET /products*', fault: { type: 'fail' } });
  await assert.rejects(chaos.apply('http', 'GET /products/:id'));
  await chaos.apply('http', 'POST /cart/items');
});

test('a target pattern: `*` is any run of characters, the rest literal (no regular expression)', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'anything', true],
    ['GET /products*', 'GET /products/:id', true],
    ['GET /products*', 'GET /product', false],
    ['*Capture', 'payment.v1.PaymentService/Capture', true],
    ['payment.*/Cap*', 'payment.v1.PaymentService/Capture', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
    ['a*a', 'a', false],
    ['x.y', 'xzy', false],
    ['(.+)+$', '(.+)+$', true],
    ['(.+)*', 'aaaa', false],
  ];
  for (const [pattern, name, expected] of cases) {
    assert.equal(targetMatches(pattern, name), expected, `${pattern} ~ ${name}`);
  }
  // A regular expression built from this pattern backtracks polynomially in the stars (n^30):
  // this would not finish; the left-to-right search answers at once.
  const stars = `${'a*'.repeat(30)}b`;
  assert.equal(targetMatches(stars, 'a'.repeat(5_000)), false);
  assert.equal(targetMatches(stars, `${'a'.repeat(5_000)}b`), true);
});

test('an error rule fails the configured share of calls', async () => {
  const draws = [0.1, 0.9, 0.2, 0.8];
  const chaos = new FaultInjector(undefined, Date.now, () => draws.shift() ?? 1);
  chaos.add({ kind: 'consumer', target: 'order.events', fault: { type: 'error', rate: 0.5 } });
  const outcomes: boolean[] = [];
  for (let i = 0; i < 4; i++) {
    outcomes.push(
      await chaos.apply('consumer', 'order.events').then(
        () => true,
        () => false,
      ),
    );
  }
  assert.deepEqual(outcomes, [false, true, false, true]);
});

test('latency delays the call by the configured time', async () => {
  const chaos = new FaultInjector();
  chaos.add({ kind: 'relay', fault: { type: 'latency', ms: 80 } });
  const started = performance.now();
  await chaos.apply('relay', 'outbox');
  assert.ok(performance.now() - started >= 75);
});

test('a hang holds the call until the rule is cleared', async () => {
  const chaos = new FaultInjector();
  const rule = chaos.add({ kind: 'grpc', fault: { type: 'hang' } });
  let released = false;
  const call = chaos.apply('grpc', 'x').then(() => {
    released = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(released, false);
  assert.equal(chaos.clear(rule.id), 1);
  await call;
  assert.equal(released, true);
});

test('rules expire by themselves', async () => {
  let now = 1_000_000;
  const chaos = new FaultInjector(undefined, () => now);
  chaos.add({ kind: 'http', fault: { type: 'fail' }, durationSeconds: 60 });
  await assert.rejects(chaos.apply('http', 'GET /x'));
  now += 60_001;
  await chaos.apply('http', 'GET /x');
  assert.deepEqual(chaos.list(), []);
});

test('invalid rules are refused', () => {
  const chaos = new FaultInjector();
  assert.throws(() => chaos.add({ kind: 'http', fault: { type: 'error', rate: 2 } }));
  assert.throws(() => chaos.add({ kind: 'disk' as 'http', fault: { type: 'fail' } }));
});
