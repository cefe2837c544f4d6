import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { pgPoolOf, ShopError } from '@shoplab/chassis';
import { eventually, until } from '@shoplab/chassis/testing';
import type { SagaStore } from '../../src/application/ports';
import type { SagaRunner } from '../../src/application/saga-runner';
import type { TimelineEntry } from '../../src/domain/order';
import { PgSagaRepository } from '../../src/infrastructure/saga.repository';
import { type Harness, newUserId, startHarness, VISA } from '../support/harness';
import { DECLINED_CARD, type ReceivedCall } from '../support/participants';

let h: Harness;
const runners: SagaRunner[] = [];

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-lamp', { name: 'A Lamp', price: 4500 });
  h.catalog.products.set('p-bulb', { name: 'A Bulb', price: 300 });
});

after(() => h.close());

beforeEach(() => {
  for (const fake of [h.catalog, h.payments, h.users]) fake.reset();
});

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
});

/** A runner of a fresh "order instance", stopped after the test. */
function startRunner(options?: Parameters<Harness['newRunner']>[0]): SagaRunner {
  const runner = h.newRunner(options);
  runners.push(runner);
  runner.start();
  return runner;
}

let keys = 0;
async function placeOrder(
  options: {
    userId?: string;
    card?: typeof VISA;
    shippingAddress?: object;
    lines?: { productId: string; quantity: number }[];
  } = {},
): Promise<string> {
  const userId = options.userId ?? newUserId();
  h.cart.set(
    userId,
    options.lines ?? [
      { productId: 'p-lamp', quantity: 1 },
      { productId: 'p-bulb', quantity: 2 },
    ],
  );
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `saga-test-${++keys}-${userId}` },
    payload: {
      card: options.card ?? VISA,
      ...(options.shippingAddress ? { shippingAddress: options.shippingAddress } : {}),
    },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().orderId;
}

interface OrderBody {
  status: string;
  userId: string;
  cancelReason?: string;
  paymentId?: string;
  shippingAddress?: Record<string, string>;
  timeline: TimelineEntry[];
}

/** Waits (polling the database) until the order's saga has ended, then reads it through the API. */
async function settled(orderId: string, timeoutMs = 10_000): Promise<OrderBody> {
  let last = 'not read yet';
  await eventually(
    () => `the saga of ${orderId} to end (${last})`,
    async () => {
      const saga = await h.prisma.sagaInstance.findUniqueOrThrow({ where: { orderId } });
      last = `still ${saga.state} at step ${saga.currentStep}`;
      return saga.state === 'CONFIRMED' || saga.state === 'CANCELLED' ? true : undefined;
    },
    { timeoutMs, intervalMs: 20, onError: 'fail' },
  );
  const { userId } = await h.prisma.order.findUniqueOrThrow({ where: { id: orderId } });
  const res = await h.app.http.inject({
    method: 'GET',
    url: `/v1/orders/${orderId}`,
    headers: { authorization: `Bearer ${h.tokenFor(userId)}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/** Every command and lookup the fakes received for one order, in arrival order: `method key-suffix`. */
function commandsOf(orderId: string): string[] {
  const mine = (c: ReceivedCall) =>
    c.key?.startsWith(orderId) ||
    (c.request as { orderId?: string; reservationId?: string }).orderId === orderId ||
    (c.request as { reservationId?: string }).reservationId === orderId;
  return [...h.catalog.calls, ...h.payments.calls]
    .filter(mine)
    .sort((a, b) => a.seq - b.seq)
    .map((c) => (c.key ? `${c.method} ${c.key.slice(orderId.length + 1)}` : c.method));
}

function steps(timeline: TimelineEntry[]): string[] {
  return timeline.map((e) => `${e.step}#${e.attempt} ${e.outcome}${e.errorCode ? ` ${e.errorCode}` : ''}`);
}

async function outboxOf(orderId: string) {
  const rows = await h.prisma.outbox.findMany({ where: { aggregateId: orderId }, orderBy: { id: 'asc' } });
  return rows.map((r) => ({ type: r.eventType, data: r.payload as Record<string, unknown> }));
}

/** The store's methods bound to it, to wrap some of them. */
function bind(store: SagaStore): SagaStore {
  return {
    claimDue: (...args) => store.claimDue(...args),
    beginAttempt: (...args) => store.beginAttempt(...args),
    finishAttempt: (...args) => store.finishAttempt(...args),
    release: (...args) => store.release(...args),
    sealedCard: (...args) => store.sealedCard(...args),
  };
}

const cardHeld = (orderId: string) => h.prisma.sagaPaymentInstruction.count({ where: { orderId } });

// ---------------------------------------------------------------------------------------

test('a checkout is confirmed: reserve → authorize → commit → capture, each with its key, then OrderConfirmed', async () => {
  // The app's own runner: checkout wakes it in-process.
  runners.push(h.app.saga);
  h.app.saga.start();
  const orderId = await placeOrder({
    shippingAddress: { line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' },
  });

  const order = await settled(orderId);

  assert.equal(order.status, 'CONFIRMED');
  assert.deepEqual(commandsOf(orderId), [
    'reserveStock reserve_stock',
    'authorize authorize_payment',
    'commitStock commit_stock',
    'capture capture_payment',
  ]);
  assert.deepEqual(
    h.users.calls.map((c) => c.method),
    ['getUser', 'validateAddress'],
  );
  assert.deepEqual(steps(order.timeline), [
    'validate_user#1 SUCCEEDED',
    'reserve_stock#1 SUCCEEDED',
    'authorize_payment#1 SUCCEEDED',
    'commit_stock#1 SUCCEEDED',
    'capture_payment#1 SUCCEEDED',
    'confirm#1 SUCCEEDED',
  ]);
  const times = order.timeline.map((e) => Date.parse(e.startedAt));
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
    'the timeline is in time order',
  );
  assert.ok(order.timeline.every((e) => e.finishedAt && Date.parse(e.finishedAt) >= Date.parse(e.startedAt)));

  // The payment id is kept, the address is the user service's normalised one.
  const payment = h.payments.forOrder(orderId);
  assert.equal(order.paymentId, payment?.id);
  assert.equal(payment?.status, 'CAPTURED');
  assert.equal(payment?.amount, 4500 + 2 * 300);
  assert.equal(order.shippingAddress?.line1, '1 MAIN ST');
  assert.equal(h.catalog.reservations.get(orderId)?.status, 'COMMITTED');

  const events = await outboxOf(orderId);
  assert.deepEqual(
    events.map((e) => e.type),
    ['shop.order.created.v1', 'shop.order.confirmed.v1'],
  );
  assert.equal(events[1]?.data.paymentId, payment?.id);
  assert.equal(events[1]?.data.userId, order.userId);
  assert.equal(await cardHeld(orderId), 0, 'the card is deleted');

  const metrics = await h.app.http.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /shop_saga_outcomes_total\{[^}]*outcome="confirmed"[^}]*\} 1\n/);
  assert.match(metrics.body, /shop_orders_total\{[^}]*status="PENDING"[^}]*\} 1\n/);
  assert.match(metrics.body, /shop_orders_total\{[^}]*status="CONFIRMED"[^}]*\} 1\n/);
  assert.match(
    metrics.body,
    /shop_saga_step_attempts_total\{[^}]*step="capture_payment",outcome="SUCCEEDED"[^}]*\} 1\n/,
  );
  assert.match(metrics.body, /shop_saga_duration_seconds_count\{[^}]*outcome="confirmed"[^}]*\} 1\n/);
});

test('a declined card cancels the order: the stock is released once, nothing is committed or captured', async () => {
  startRunner();
  const orderId = await placeOrder({ card: { ...VISA, number: DECLINED_CARD } });

  const order = await settled(orderId);

  assert.equal(order.status, 'CANCELLED');
  assert.equal(order.cancelReason, 'payment_declined');
  assert.deepEqual(commandsOf(orderId), [
    'reserveStock reserve_stock',
    'authorize authorize_payment',
    'releaseStock compensate:release_stock',
  ]);
  assert.equal(h.catalog.effectsOf('releaseStock', orderId), 1);
  assert.equal(h.catalog.reservations.get(orderId)?.status, 'RELEASED');
  assert.deepEqual(steps(order.timeline), [
    'validate_user#1 SUCCEEDED',
    'reserve_stock#1 SUCCEEDED',
    'authorize_payment#1 REFUSED SHOP_PAYMENT_DECLINED',
    'compensate:release_stock#1 SUCCEEDED',
    'cancel#1 SUCCEEDED',
  ]);
  const events = await outboxOf(orderId);
  assert.deepEqual(
    events.map((e) => e.type),
    ['shop.order.created.v1', 'shop.order.cancelled.v1'],
  );
  assert.equal(events[1]?.data.reason, 'payment_declined');
  assert.equal(await cardHeld(orderId), 0, 'the card is deleted when the saga ends');
});

test('an order with too little stock is cancelled before any payment call', async () => {
  startRunner();
  h.catalog.available.set('p-bulb', 1);
  const orderId = await placeOrder();

  const order = await settled(orderId);

  assert.equal(order.status, 'CANCELLED');
  assert.equal(order.cancelReason, 'out_of_stock');
  assert.deepEqual(commandsOf(orderId), ['reserveStock reserve_stock']);
  assert.equal(h.payments.calls.length, 0);
  h.catalog.available.delete('p-bulb');
});

test('an unknown buyer is rejected at step 1 without touching stock or money', async () => {
  startRunner();
  const userId = newUserId();
  h.users.unknown.add(userId);
  const orderId = await placeOrder({ userId });

  const order = await settled(orderId);

  assert.equal(order.status, 'CANCELLED');
  assert.equal(order.cancelReason, 'user_invalid');
  assert.deepEqual(commandsOf(orderId), []);
  assert.deepEqual(steps(order.timeline), ['validate_user#1 REFUSED SHOP_NOT_FOUND', 'cancel#1 SUCCEEDED']);
});

const refusals = [
  {
    step: 'authorize_payment',
    refuse: () => h.payments.script.next('authorize', { refuse: new ShopError('SHOP_INSUFFICIENT_FUNDS') }),
    reason: 'insufficient_funds',
    compensations: ['releaseStock compensate:release_stock'],
    reservation: 'RELEASED',
    payment: 'AUTHORIZED' as string | undefined,
  },
  {
    step: 'commit_stock',
    refuse: () =>
      h.catalog.script.next('commitStock', { refuse: new ShopError('SHOP_RESERVATION_INVALID_STATE', 'expired') }),
    reason: 'commit_stock_refused',
    compensations: ['void compensate:void_payment', 'releaseStock compensate:release_stock'],
    reservation: 'RELEASED',
    payment: 'VOIDED',
  },
  {
    step: 'capture_payment',
    refuse: () =>
      h.payments.script.next('capture', { refuse: new ShopError('SHOP_ORDER_INVALID_STATE', 'authorization expired') }),
    reason: 'capture_payment_refused',
    compensations: ['restockCommitted compensate:restock_committed', 'void compensate:void_payment'],
    reservation: 'RESTOCKED',
    payment: 'VOIDED',
  },
];

for (const r of refusals) {
  test(`a refused ${r.step} runs exactly its compensations: ${r.compensations.map((c) => c.split(' ')[0]).join(' + ')}`, async () => {
    startRunner();
    r.refuse();
    const stockBefore = ['p-lamp', 'p-bulb'].map((id) => h.catalog.available.get(id) ?? 100);
    const orderId = await placeOrder();

    const order = await settled(orderId);

    assert.equal(order.status, 'CANCELLED');
    assert.equal(order.cancelReason, r.reason);
    const sent = commandsOf(orderId);
    const refusedAt = sent.findIndex((c) => c.endsWith(` ${r.step}`));
    assert.deepEqual(sent.slice(refusedAt + 1), r.compensations);
    assert.equal(h.catalog.reservations.get(orderId)?.status, r.reservation);
    if (r.step === 'authorize_payment') assert.equal(h.payments.effectsOf('authorize', orderId), 0);
    else assert.equal(h.payments.forOrder(orderId)?.status, r.payment);
    assert.equal(h.payments.effectsOf('capture', orderId), 0, 'no money taken');
    assert.deepEqual(order.timeline.at(-1)?.step, 'cancel');
    // Every unit is back where it was.
    assert.deepEqual(
      ['p-lamp', 'p-bulb'].map((id) => h.catalog.available.get(id) ?? 100),
      stockBefore,
    );
  });
}

test('transient failures are retried with the same key and the saga still confirms; the attempts are on the timeline', async () => {
  startRunner();
  h.catalog.script.next('reserveStock', 'unavailable', 'unavailable');
  const orderId = await placeOrder();

  const order = await settled(orderId);

  assert.equal(order.status, 'CONFIRMED');
  assert.deepEqual(steps(order.timeline.filter((e) => e.step === 'reserve_stock')), [
    'reserve_stock#1 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'reserve_stock#2 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'reserve_stock#3 SUCCEEDED',
  ]);
  assert.deepEqual(
    h.catalog.callsOf('reserveStock', orderId).map((c) => c.key),
    Array(3).fill(`${orderId}:reserve_stock`),
  );
  assert.equal(h.catalog.effectsOf('reserveStock', orderId), 1);
});

test('an Authorize whose answer was lost is sent again with its key and authorizes once', async () => {
  startRunner();
  h.payments.script.next('authorize', 'lose-answer');
  const orderId = await placeOrder();

  const order = await settled(orderId);

  assert.equal(order.status, 'CONFIRMED');
  assert.equal(h.payments.callsOf('authorize', orderId).length, 2);
  assert.equal(h.payments.effectsOf('authorize', orderId), 1);
  assert.equal(order.paymentId, h.payments.forOrder(orderId)?.id);
  assert.deepEqual(steps(order.timeline.filter((e) => e.step === 'authorize_payment')), [
    'authorize_payment#1 FAILED SHOP_TIMEOUT',
    'authorize_payment#2 SUCCEEDED',
  ]);
});

test('a compensation that fails three times is retried until it succeeds and the order ends CANCELLED', async () => {
  startRunner();
  h.catalog.script.next('releaseStock', 'unavailable', 'unavailable', 'unavailable');
  const orderId = await placeOrder({ card: { ...VISA, number: DECLINED_CARD } });

  const order = await settled(orderId);

  assert.equal(order.status, 'CANCELLED');
  assert.equal(order.cancelReason, 'payment_declined');
  assert.deepEqual(steps(order.timeline.filter((e) => e.step === 'compensate:release_stock')), [
    'compensate:release_stock#1 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'compensate:release_stock#2 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'compensate:release_stock#3 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'compensate:release_stock#4 SUCCEEDED',
  ]);
  assert.equal(h.catalog.effectsOf('releaseStock', orderId), 1);
  assert.equal(h.catalog.reservations.get(orderId)?.status, 'RELEASED');
});

test('a step that keeps failing past its deadline compensates: step_deadline_exceeded', async () => {
  startRunner();
  h.payments.script.always('capture', 'unavailable');
  const orderId = await placeOrder();

  const order = await settled(orderId);

  assert.equal(order.status, 'CANCELLED');
  assert.equal(order.cancelReason, 'step_deadline_exceeded:capture_payment');
  const captures = order.timeline.filter((e) => e.step === 'capture_payment');
  assert.ok(captures.length >= 3, 'retried before giving up');
  assert.ok(captures.every((e) => e.outcome === 'FAILED'));
  // The backoff never jumps over the deadline, and the attempt at the deadline is the last one:
  // it showed the participant still failing after its time was up.
  const deadline = Date.parse(captures[0]!.startedAt) + h.config.SAGA_STEP_DEADLINE_MS;
  const late = captures.filter((e) => Date.parse(e.startedAt) >= deadline);
  assert.deepEqual(
    late.map((e) => e.attempt),
    [captures.at(-1)!.attempt],
    'exactly one attempt, the last, started at or after the deadline',
  );
  assert.equal(h.catalog.reservations.get(orderId)?.status, 'RESTOCKED');
  assert.equal(h.payments.forOrder(orderId)?.status, 'VOIDED');
  const events = await outboxOf(orderId);
  assert.equal(events.at(-1)?.data.reason, 'step_deadline_exceeded:capture_payment');
});

test('an Authorize that never answers is found and voided when its deadline passes', async () => {
  startRunner();
  // It authorizes every time but never answers: the saga cannot know, and must find out.
  h.payments.script.always('authorize', 'lose-answer');
  const orderId = await placeOrder();

  const order = await settled(orderId);

  assert.equal(order.status, 'CANCELLED');
  assert.equal(order.cancelReason, 'step_deadline_exceeded:authorize_payment');
  assert.equal(h.payments.effectsOf('authorize', orderId), 1, 'one authorization, however often it was sent');
  assert.equal(h.payments.forOrder(orderId)?.status, 'VOIDED');
  assert.equal(h.catalog.reservations.get(orderId)?.status, 'RELEASED');
  const sent = commandsOf(orderId);
  assert.deepEqual(sent.slice(sent.lastIndexOf('authorize authorize_payment') + 1), [
    'getPayment',
    'void compensate:void_payment',
    'releaseStock compensate:release_stock',
  ]);
  assert.equal(await cardHeld(orderId), 0);
});

test('a stopped runner leaves its saga to a new runner, which finishes it without repeating a command', async () => {
  const first = startRunner();
  h.payments.script.next('authorize', 'hang');
  const orderId = await placeOrder();
  await until('the first Authorize', () => h.payments.callsOf('authorize', orderId).length === 1, {
    timeoutMs: 5_000,
    intervalMs: 10,
  });

  await first.stop();
  assert.equal((await h.prisma.order.findUniqueOrThrow({ where: { id: orderId } })).status, 'PENDING');

  startRunner();
  const order = await settled(orderId);

  assert.equal(order.status, 'CONFIRMED');
  assert.equal(h.catalog.callsOf('reserveStock', orderId).length, 1, 'the reservation is not sent again');
  assert.equal(h.catalog.effectsOf('reserveStock', orderId), 1);
  assert.equal(h.payments.effectsOf('authorize', orderId), 1);
  assert.equal(h.payments.effectsOf('capture', orderId), 1);
});

test('a runner that dies between a command and its record: a new runner resumes the saga once', async () => {
  // The first runner's Authorize goes through, but recording it fails, as if the process died.
  let crashed = false;
  const crashOnAuthorize = (store: SagaStore): SagaStore => ({
    ...bind(store),
    finishAttempt: async (saga, change) => {
      if (!crashed && saga.currentStep === 3 && change.progress.currentStep === 4) {
        crashed = true;
        throw new Error('the process died here');
      }
      return store.finishAttempt(saga, change);
    },
  });
  const first = startRunner({ store: crashOnAuthorize });
  const orderId = await placeOrder();
  await until('the crash', () => crashed, { timeoutMs: 5_000, intervalMs: 10 });
  await first.stop();

  const saga = await h.prisma.sagaInstance.findUniqueOrThrow({ where: { orderId } });
  assert.equal(saga.currentStep, 3, 'the saga still stands at authorize_payment');
  assert.equal(h.payments.effectsOf('authorize', orderId), 1);

  startRunner();
  const order = await settled(orderId);

  assert.equal(order.status, 'CONFIRMED');
  assert.equal(h.payments.callsOf('authorize', orderId).length, 2, 'sent again with its key…');
  assert.equal(h.payments.effectsOf('authorize', orderId), 1, '…and authorized once');
  assert.equal(h.catalog.effectsOf('reserveStock', orderId), 1);
  assert.deepEqual(steps(order.timeline.filter((e) => e.step === 'authorize_payment')), [
    'authorize_payment#1 INTERRUPTED',
    'authorize_payment#2 SUCCEEDED',
  ]);
});

test('two runners on one database never run one saga’s step at the same time', async () => {
  for (const fake of [h.catalog, h.payments, h.users]) fake.latencyMs = 15;
  h.catalog.script.next('commitStock', 'unavailable', 'unavailable', 'unavailable');
  const attemptsBy = [0, 0];
  const counted =
    (runner: number) =>
    (store: SagaStore): SagaStore => ({
      ...bind(store),
      beginAttempt: async (...args) => {
        const begun = await store.beginAttempt(...args);
        if (begun) attemptsBy[runner]! += 1;
        return begun;
      },
    });
  startRunner({ config: { SAGA_CONCURRENCY: 3 }, store: counted(0) });
  startRunner({ config: { SAGA_CONCURRENCY: 3 }, store: counted(1) });
  const orderIds = await Promise.all(Array.from({ length: 10 }, () => placeOrder()));

  const orders = await Promise.all(orderIds.map((id) => settled(id, 20_000)));

  assert.deepEqual(
    orders.map((o) => (o.cancelReason ? `${o.status} ${o.cancelReason}` : o.status)),
    Array(orderIds.length).fill('CONFIRMED'),
  );
  assert.ok(
    attemptsBy.every((n) => n > 0),
    `both runners worked: ${attemptsBy.join(' + ')} attempts`,
  );
  for (const fake of [h.catalog, h.payments, h.users]) assert.equal(fake.maxInFlightPerOrder, 1);
  for (const id of orderIds) {
    for (const method of ['reserveStock', 'commitStock']) assert.equal(h.catalog.effectsOf(method, id), 1);
    for (const method of ['authorize', 'capture']) assert.equal(h.payments.effectsOf(method, id), 1);
  }
  for (const order of orders) {
    const succeeded = order.timeline.filter((e) => e.outcome === 'SUCCEEDED').map((e) => e.step);
    assert.deepEqual(succeeded, [
      'validate_user',
      'reserve_stock',
      'authorize_payment',
      'commit_stock',
      'capture_payment',
      'confirm',
    ]);
    assert.ok(!order.timeline.some((e) => e.outcome === 'STARTED' || e.outcome === 'INTERRUPTED'));
  }
});

// ---------------------------------------------------------------------------------------
// The deadline against the breaker and the lease (ADR 14)

/** The saga's timeline rows of `step` as `outcome code`, and when the step's first attempt started. */
function attemptsOfStep(order: OrderBody, step: string) {
  const rows = order.timeline.filter((e) => e.step === step);
  return { rows, first: Date.parse(rows[0]?.startedAt ?? '') };
}

test('a participant back within the deadline confirms even though the runner’s breaker stays open past it', async () => {
  // The breaker opens after two failures and stays open 2.5 s: longer than the 1.5 s step deadline.
  const resetMs = 2_500;
  startRunner({ breaker: { resetTimeoutMs: resetMs, volumeThreshold: 2 } });
  h.catalog.script.always('reserveStock', 'unavailable');
  const orderId = await placeOrder();
  await until('the breaker to refuse an attempt', () => h.catalog.callsOf('reserveStock', orderId).length >= 2, {
    timeoutMs: 5_000,
    intervalMs: 10,
  });
  const openedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 300));
  h.catalog.script.reset(); // the catalog is back, well within the deadline

  const order = await settled(orderId, 10_000);

  assert.equal(order.status, 'CONFIRMED');
  const { rows, first } = attemptsOfStep(order, 'reserve_stock');
  assert.deepEqual(steps(rows), [
    'reserve_stock#1 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'reserve_stock#2 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'reserve_stock#3 FAILED SHOP_CIRCUIT_OPEN',
    'reserve_stock#4 SUCCEEDED',
  ]);
  // The refused attempt waited for the breaker's trial call, which came after the step's deadline.
  const success = Date.parse(rows[3]!.startedAt);
  assert.ok(success >= first + h.config.SAGA_STEP_DEADLINE_MS, 'the successful attempt came after the deadline');
  assert.ok(success >= openedAt + resetMs - 200, 'and not before the breaker let a call through');
  assert.equal(h.catalog.effectsOf('reserveStock', orderId), 1);
  assert.equal(h.catalog.reservations.get(orderId)?.status, 'COMMITTED');
});

test('a participant still down after the deadline: the breaker’s trial call fails and the saga compensates', async () => {
  startRunner({ breaker: { resetTimeoutMs: 2_500, volumeThreshold: 2 } });
  h.catalog.script.always('reserveStock', 'unavailable');
  const orderId = await placeOrder();

  const order = await settled(orderId, 15_000);

  assert.equal(order.status, 'CANCELLED');
  assert.equal(order.cancelReason, 'step_deadline_exceeded:reserve_stock');
  const { rows, first } = attemptsOfStep(order, 'reserve_stock');
  assert.deepEqual(steps(rows), [
    'reserve_stock#1 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'reserve_stock#2 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
    'reserve_stock#3 FAILED SHOP_CIRCUIT_OPEN',
    'reserve_stock#4 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
  ]);
  assert.ok(
    Date.parse(rows[3]!.startedAt) >= first + h.config.SAGA_STEP_DEADLINE_MS,
    'the trial came after the deadline',
  );
  // The reservation may have been made: it is released (behind the same breaker, once it lets calls through).
  assert.equal(h.catalog.reservations.get(orderId)?.status ?? 'RELEASED', 'RELEASED');
  assert.equal(order.timeline.at(-1)?.step, 'cancel');
});

test('a stale runner’s writes are refused: the saga’s version is a fencing token', async () => {
  const orderId = await placeOrder();
  const store = new PgSagaRepository(pgPoolOf(h.prisma));
  const mine = async (now: Date, leaseMs: number) => {
    const claimed = await store.claimDue(100, now, new Date(now.getTime() + leaseMs));
    // Sagas of other tests claimed on the way go back as they were due.
    for (const other of claimed.filter((c) => c.orderId !== orderId)) await store.release(other, now);
    const saga = claimed.find((c) => c.orderId === orderId);
    assert.ok(saga, `the saga of ${orderId} is claimed`);
    return saga;
  };
  const start = new Date(Date.now() + 1_000);
  // Runner A claims the saga, then pauses past its 1 s lease; runner B claims it when it lapses.
  const stale = await mine(start, 1_000);
  const fresh = await mine(new Date(start.getTime() + 1_500), 60_000);
  assert.ok(fresh.version > stale.version, `the claim moved the version on: ${stale.version} → ${fresh.version}`);

  // A wakes up and writes with the version it read: nothing matches it any more.
  const attempt = {
    step: 'validate_user',
    number: 1,
    startedAt: new Date(),
    deadlineAt: new Date(Date.now() + 15_000),
    leaseUntil: new Date(Date.now() + 30_000),
  };
  assert.equal(await store.beginAttempt(stale, attempt), undefined, 'the stale begin is refused');
  const progress = {
    state: 'CANCELLED' as const,
    currentStep: stale.currentStep,
    attempts: 1,
    nextAttemptAt: new Date(),
    deadlineAt: new Date(),
    compensations: [],
    failureReason: 'written by a runner that lost the saga',
  };
  assert.equal(await store.finishAttempt(stale, { progress }), undefined, 'the stale finish is refused');
  const saga = await h.prisma.sagaInstance.findUniqueOrThrow({ where: { orderId } });
  assert.equal(saga.version, fresh.version);
  assert.equal(saga.state, 'STARTED');
  assert.equal(saga.failureReason, null);
  assert.equal(await h.prisma.sagaStep.count({ where: { orderId } }), 0, 'nothing of A’s on the timeline');

  // B, holding the current version, writes.
  const begun = await store.beginAttempt(fresh, attempt);
  assert.equal(begun?.version, fresh.version + 1);
  await store.release({ ...fresh, version: begun?.version ?? fresh.version }, new Date());
  // The saga goes on from there with a runner of this test.
  startRunner();
  assert.equal((await settled(orderId)).status, 'CONFIRMED');
});

/** A store whose runner "dies" right after sending Authorize: the attempt is never recorded. */
function diesAfterAuthorize(state: { crashed: boolean }) {
  return (store: SagaStore): SagaStore => ({
    ...bind(store),
    finishAttempt: async (saga, change) => {
      if (!state.crashed && saga.currentStep === 3 && change.attempt) {
        state.crashed = true;
        throw new Error('the process died here');
      }
      return store.finishAttempt(saga, change);
    },
  });
}

// A deadline shorter than the lease, as in the shop (15 s against 30 s): a runner that takes a
// crashed runner's saga over always finds the step's deadline passed.
const SHORT_DEADLINE = { SAGA_STEP_DEADLINE_MS: 200, SAGA_LEASE_MS: 1_000 };

test('a runner that takes a saga over after its step’s deadline resumes forward when the participant answers', async () => {
  const state = { crashed: false };
  const first = startRunner({ store: diesAfterAuthorize(state), config: SHORT_DEADLINE });
  const orderId = await placeOrder();
  await until('the crash', () => state.crashed, { timeoutMs: 5_000, intervalMs: 10 });
  await first.stop(); // its saga stays leased: the version moved, so nothing is handed back

  startRunner({ config: SHORT_DEADLINE });
  const order = await settled(orderId);

  assert.equal(order.status, 'CONFIRMED');
  const { rows, first: firstAttempt } = attemptsOfStep(order, 'authorize_payment');
  assert.deepEqual(steps(rows), ['authorize_payment#1 INTERRUPTED', 'authorize_payment#2 SUCCEEDED']);
  assert.ok(
    Date.parse(rows[1]!.startedAt) >= firstAttempt + SHORT_DEADLINE.SAGA_LEASE_MS,
    'taken over when the lease lapsed, long after the deadline',
  );
  assert.equal(h.payments.callsOf('authorize', orderId).length, 2, 'Authorize sent again with its key…');
  assert.equal(h.payments.effectsOf('authorize', orderId), 1, '…and authorized once');
  assert.equal(h.payments.forOrder(orderId)?.status, 'CAPTURED');
});

test('a runner that takes a saga over after its step’s deadline compensates when that one attempt fails', async () => {
  const state = { crashed: false };
  const first = startRunner({ store: diesAfterAuthorize(state), config: SHORT_DEADLINE });
  const orderId = await placeOrder();
  await until('the crash', () => state.crashed, { timeoutMs: 5_000, intervalMs: 10 });
  await first.stop();
  h.payments.script.always('authorize', 'unavailable');

  startRunner({ config: SHORT_DEADLINE });
  const order = await settled(orderId);

  assert.equal(order.status, 'CANCELLED');
  assert.equal(order.cancelReason, 'step_deadline_exceeded:authorize_payment');
  assert.deepEqual(steps(attemptsOfStep(order, 'authorize_payment').rows), [
    'authorize_payment#1 INTERRUPTED',
    'authorize_payment#2 FAILED SHOP_DEPENDENCY_UNAVAILABLE',
  ]);
  // The interrupted Authorize had gone through: it is found and voided.
  assert.equal(h.payments.forOrder(orderId)?.status, 'VOIDED');
  assert.equal(h.catalog.reservations.get(orderId)?.status, 'RELEASED');
});
