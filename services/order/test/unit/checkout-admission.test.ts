// Checkout admission (docs/adr/0016-checkout-load-shedding.md): a bounded number of checkouts
// run, a bounded line waits no longer than the caller's deadline allows, the rest are refused at
// once with SHOP_BULKHEAD_FULL and a Retry-After. Checkouts here are promises the test settles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import { CheckoutAdmission, type ShedReason } from '../../src/application/checkout-admission';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function recorder() {
  const shed: ShedReason[] = [];
  const depths: [number, number][] = [];
  return {
    shed,
    depths,
    observer: { shed: (r: ShedReason) => shed.push(r), depth: (a: number, b: number) => depths.push([a, b]) },
  };
}

const settings = { maxConcurrent: 2, maxQueue: 2, maxWaitMs: 60_000, reserveMs: 500, initialServiceMs: 100 };

/** Lets the promise callbacks run (a slot handed over is a few microtasks away). */
const settle = () => new Promise((r) => setImmediate(r));

async function refusal(promise: Promise<unknown>): Promise<ShopError> {
  const err = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ShopError, String(err));
  return err;
}

test('up to maxConcurrent run at once, the next wait in line and run in order as slots free', async () => {
  const r = recorder();
  const admission = new CheckoutAdmission(settings, { observer: r.observer, random: () => 0 });
  const gates = [deferred(), deferred(), deferred(), deferred()];
  const started: number[] = [];
  const runs = gates.map((g, i) =>
    admission.run(10_000, async () => {
      started.push(i);
      await g.promise;
      return i;
    }),
  );
  await settle();
  assert.deepEqual(started, [0, 1]);
  assert.equal(admission.active, 2);
  assert.equal(admission.queued, 2);
  gates[0]?.resolve();
  await settle();
  assert.deepEqual(started, [0, 1, 2]);
  for (const g of gates) g.resolve();
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3]);
  assert.equal(admission.active, 0);
  assert.equal(admission.queued, 0);
  assert.deepEqual(r.shed, []);
  assert.deepEqual(r.depths.at(-1), [0, 0]);
});

test('beyond the line a checkout is refused at once: 503 SHOP_BULKHEAD_FULL with retryAfterSeconds', async () => {
  const r = recorder();
  const admission = new CheckoutAdmission(settings, { observer: r.observer, random: () => 0 });
  const gate = deferred();
  const held = Array.from({ length: 4 }, () => admission.run(10_000, () => gate.promise));
  await settle();
  let ran = false;
  const err = await refusal(
    admission.run(10_000, async () => {
      ran = true;
    }),
  );
  assert.equal(ran, false);
  assert.equal(err.code, 'SHOP_BULKHEAD_FULL');
  assert.equal(err.httpStatus, 503);
  assert.equal(err.details?.reason, 'queue_full');
  assert.ok(Number.isInteger(err.details?.retryAfterSeconds) && (err.details?.retryAfterSeconds as number) >= 1);
  assert.deepEqual(r.shed, ['queue_full']);
  gate.resolve();
  await Promise.all(held);
});

test('a checkout whose caller has no time left to wait is refused at once when every slot is busy', async () => {
  const r = recorder();
  const admission = new CheckoutAdmission(settings, { observer: r.observer, random: () => 0 });
  const gate = deferred();
  const held = [admission.run(10_000, () => gate.promise), admission.run(10_000, () => gate.promise)];
  await settle();
  // 400 ms left, 500 ms reserved for the checkout itself: no wait fits.
  const err = await refusal(admission.run(400, async () => undefined));
  assert.equal(err.details?.reason, 'deadline');
  assert.deepEqual(r.shed, ['deadline']);
  gate.resolve();
  await Promise.all(held);
});

test('a free slot runs a checkout that has the time; one that arrives with less left than a checkout takes is refused', async () => {
  const r = recorder();
  const admission = new CheckoutAdmission(settings, { observer: r.observer, random: () => 0 });
  assert.equal(admission.reserveMs, 500, '100 ms ± 50 ms, and at least the 500 ms floor');
  const gate = deferred();
  const busy = admission.run(10_000, () => gate.promise);
  await settle();
  assert.equal(await admission.run(500, async () => 'ran'), 'ran');
  assert.equal(await admission.run(undefined, async () => 'ran too'), 'ran too', 'no deadline given: it runs');
  let ran = false;
  const err = await refusal(
    admission.run(499, async () => {
      ran = true;
    }),
  );
  assert.equal(err.details?.reason, 'deadline');
  assert.equal(err.details?.retryAfterSeconds, 1);
  assert.equal(ran, false);
  assert.deepEqual(r.shed, ['deadline']);
  gate.resolve();
  await busy;
});

test('an idle service runs a checkout whatever its estimate, so a slow spell cannot shut the door for good', async () => {
  let clock = 0;
  const admission = new CheckoutAdmission(
    { maxConcurrent: 2, maxQueue: 2, maxWaitMs: 60_000, reserveMs: 500, initialServiceMs: 10_000 },
    { now: () => clock },
  );
  assert.equal(admission.reserveMs, 30_000, 'the estimate says no checkout fits in 2 s');
  for (let i = 0; i < 30; i++) {
    assert.equal(
      await admission.run(2_000, async () => {
        clock += 50;
        return 'ran';
      }),
      'ran',
    );
  }
  assert.ok(admission.reserveMs < 2_000, `measured afresh: ${admission.reserveMs}`);
});

test('a line longer than the caller can wait is refused on arrival, from the recent checkout duration', async () => {
  const r = recorder();
  // 1 slot, checkouts take 1 s (± 0.5 s): 3 s of the caller's time are kept for the checkout itself.
  const admission = new CheckoutAdmission(
    { maxConcurrent: 1, maxQueue: 10, maxWaitMs: 60_000, reserveMs: 500, initialServiceMs: 1_000 },
    { observer: r.observer, random: () => 0 },
  );
  assert.equal(admission.reserveMs, 3_000);
  const gate = deferred();
  const held = Array.from({ length: 4 }, () => admission.run(60_000, () => gate.promise));
  await settle();
  // One running and three waiting: a fourth in line waits about 4 s.
  const err = await refusal(admission.run(6_500, async () => undefined));
  assert.equal(err.details?.reason, 'deadline');
  assert.equal(err.details?.retryAfterSeconds, 4, 'the line drains in 4 s');
  const spread = new CheckoutAdmission(
    { maxConcurrent: 1, maxQueue: 0, maxWaitMs: 60_000, reserveMs: 500, initialServiceMs: 1_000 },
    { random: () => 0.99 },
  );
  const spreadGate = deferred();
  const one = spread.run(60_000, () => spreadGate.promise);
  await settle();
  assert.equal(
    (await refusal(spread.run(60_000, async () => undefined))).details?.retryAfterSeconds,
    2,
    'spread up to twice the drain time',
  );
  spreadGate.resolve();
  await one;

  // With 1 s more to spare it joins the line.
  const joined = admission.run(7_500, async () => 'joined');
  await settle();
  assert.equal(admission.queued, 4);
  gate.resolve();
  await Promise.all(held);
  assert.equal(await joined, 'joined');
  assert.deepEqual(r.shed, ['deadline']);
});

test('the time kept for the checkout follows how long checkouts take, never below reserveMs', async () => {
  let clock = 0;
  const admission = new CheckoutAdmission(
    { maxConcurrent: 4, maxQueue: 10, maxWaitMs: 60_000, reserveMs: 500 },
    { now: () => clock },
  );
  assert.equal(admission.reserveMs, 1_500, 'a first guess of 500 ms ± 250 ms');
  const take = (ms: number) =>
    admission.run(60_000, async () => {
      clock += ms;
    });
  for (let i = 0; i < 20; i++) await take(2_000);
  assert.ok(admission.reserveMs > 2_000, `slow checkouts keep more: ${admission.reserveMs}`);
  for (let i = 0; i < 60; i++) await take(20);
  assert.equal(admission.reserveMs, 500, 'fast ones fall back to the floor');
});

test('a checkout that waited its whole budget is refused (wait_timeout) and never runs, and the line moves on', async () => {
  const r = recorder();
  // The guess says a slot frees within 10 ms; it does not (the test holds it).
  const admission = new CheckoutAdmission(
    { maxConcurrent: 1, maxQueue: 10, maxWaitMs: 50, reserveMs: 0, initialServiceMs: 10 },
    { observer: r.observer, random: () => 0 },
  );
  const gate = deferred();
  const held = admission.run(undefined, () => gate.promise);
  await settle();
  let ran = false;
  const err = await refusal(
    admission.run(undefined, async () => {
      ran = true;
    }),
  );
  assert.equal(err.details?.reason, 'wait_timeout');
  assert.equal(admission.queued, 0);
  gate.resolve();
  await held;
  await settle();
  assert.equal(ran, false);
  assert.equal(await admission.run(undefined, async () => 'next'), 'next', 'the slot of the one that gave up is free');
  assert.deepEqual(r.shed, ['wait_timeout']);
});

test('a caller that hung up while waiting gets no checkout run for it, and its slot goes on', async () => {
  const admission = new CheckoutAdmission(settings);
  const gate = deferred();
  const held = [admission.run(10_000, () => gate.promise), admission.run(10_000, () => gate.promise)];
  await settle();
  let ran = false;
  const gone = admission.run(
    10_000,
    async () => {
      ran = true;
    },
    () => false,
  );
  gate.resolve();
  const err = await refusal(gone);
  assert.equal(err.code, 'SHOP_TIMEOUT');
  assert.equal(ran, false);
  await Promise.all(held);
  assert.equal(admission.active, 0);
});

test('a failing checkout frees its slot and keeps its own error', async () => {
  const admission = new CheckoutAdmission({ ...settings, maxConcurrent: 1 });
  await assert.rejects(
    admission.run(10_000, async () => {
      throw new ShopError('SHOP_CART_EMPTY');
    }),
    (e: unknown) => e instanceof ShopError && e.code === 'SHOP_CART_EMPTY',
  );
  assert.equal(await admission.run(10_000, async () => 'free again'), 'free again');
});

test('settings out of range are refused', () => {
  assert.throws(() => new CheckoutAdmission({ ...settings, maxConcurrent: 0 }), RangeError);
  assert.throws(() => new CheckoutAdmission({ ...settings, maxQueue: -1 }), RangeError);
});
