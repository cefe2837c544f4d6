// Participant failures injected with the chaos controller (issue 5), against the running shop.
// - A fault on a saga step that outlasts SAGA_STEP_DEADLINE_MS: the order is CANCELLED and
//   exactly that step's compensations ran (docs/reference.md#saga; a step that gave up without an
//   answer may have acted, so it is undone too — services/order/README.md, "Checkout saga").
// - A fault shorter than the deadline at every step: retried, CONFIRMED, one capture.
// - A compensation that fails for a while: retried until it succeeds.
// Steps run one after another (a fault hits every saga that reaches its method), on a product of
// this file's own. Each test clears its faults however it ends, and ends with the audit.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Service } from '@shoplab/shopctl';
import {
  addToCart,
  assertAuditPasses,
  breakersQuiet,
  CARDS,
  checkout,
  clearFault,
  clearFaults,
  compensationsOf,
  createProduct,
  getOrder,
  injectFault,
  type Json,
  type Product,
  paymentsByOrder,
  poll,
  registerShoppers,
  reservationOf,
  type Shopper,
  sagaSteps,
  settledOrder,
  stepsWith,
  stockOf,
  type TimelineEntry,
} from './support';

const FORWARD = ['validate_user', 'reserve_stock', 'authorize_payment', 'commit_stock', 'capture_payment', 'confirm'];

interface StepFault {
  step: string;
  service: Service;
  method: string;
  /** The compensations that must run, in this order (and no other). */
  compensations: string[];
  /** The order's reservation in the catalog afterwards (undefined: none was ever made). */
  reservation: string | undefined;
  /** The order's payment afterwards (undefined: no payment record at all). */
  payment: string | undefined;
}

// biome-ignore format: one line per saga step, as in the saga table
const STEP_FAULTS: StepFault[] = [
  { step: 'validate_user',     service: 'user',    method: 'user.v1.UserService/GetUser',            compensations: [],                                   reservation: undefined,   payment: undefined },
  { step: 'reserve_stock',     service: 'catalog', method: 'catalog.v1.CatalogService/ReserveStock', compensations: ['release_stock'],                    reservation: 'RELEASED',  payment: undefined },
  { step: 'authorize_payment', service: 'payment', method: 'payment.v1.PaymentService/Authorize',    compensations: ['void_payment', 'release_stock'],    reservation: 'RELEASED',  payment: undefined },
  { step: 'commit_stock',      service: 'catalog', method: 'catalog.v1.CatalogService/CommitStock',  compensations: ['void_payment', 'release_stock'],    reservation: 'RELEASED',  payment: 'VOIDED' },
  { step: 'capture_payment',   service: 'payment', method: 'payment.v1.PaymentService/Capture',      compensations: ['restock_committed', 'void_payment'], reservation: 'RESTOCKED', payment: 'VOIDED' },
];

const PARTICIPANTS: Service[] = ['user', 'catalog', 'payment'];
const QUANTITY = 2;

let product: Product;

before(async () => {
  product = await createProduct(100, 1250);
});
// Whatever happened, no fault outlives this file.
after(() => clearFaults(...PARTICIPANTS));

/** A new shopper with QUANTITY units of the product in the cart. */
async function shopperWithCart(): Promise<Shopper> {
  const [shopper] = await registerShoppers(1, 'saga-faults');
  assert.ok(shopper);
  await addToCart(shopper, product.id, QUANTITY);
  return shopper;
}

function attemptsOf(order: { timeline: TimelineEntry[] }, step: string): TimelineEntry[] {
  return sagaSteps(order).filter((s) => s.step === step);
}

/** Waits until the order's timeline shows `count` attempts of `step` that ended with `outcome`. */
function waitForAttempts(shopper: Shopper, orderId: string, step: string, outcome: string, count = 1) {
  return poll(`${count} ${outcome} attempt(s) of ${step} on order ${orderId}`, async () => {
    const order = await getOrder(shopper, orderId);
    return attemptsOf(order, step).filter((s) => s.outcome === outcome).length >= count ? order : undefined;
  });
}

test('a fault shorter than the step deadline at every step is retried, and the order is confirmed once', async (t) => {
  t.after(() => clearFaults(...PARTICIPANTS));
  // The failures of the tests before must not open a breaker at this test's first failure.
  await breakersQuiet('order');
  const shopper = await shopperWithCart();
  const stockBefore = await stockOf(product.id);

  // Each step's method fails until the saga has been refused there once; the next step's fault
  // is in place before this one is lifted, so the saga meets a failure at every step.
  let current = await injectFault('user', {
    kind: 'grpc',
    target: STEP_FAULTS[0]?.method ?? '',
    fault: { type: 'fail' },
  });
  const orderId = await checkout(shopper);
  for (const [i, fault] of STEP_FAULTS.entries()) {
    await waitForAttempts(shopper, orderId, fault.step, 'FAILED');
    const next = STEP_FAULTS[i + 1];
    const following = next
      ? await injectFault(next.service, { kind: 'grpc', target: next.method, fault: { type: 'fail' } })
      : undefined;
    await clearFault(fault.service, current);
    if (following) current = following;
  }

  const order: Json = await settledOrder(shopper, orderId);
  const timeline = JSON.stringify(order.timeline, null, 1);
  assert.equal(order.status, 'CONFIRMED', timeline);
  for (const step of FORWARD.slice(0, 5)) {
    const tries = attemptsOf(order, step);
    assert.ok(tries.length >= 2 && tries.slice(0, -1).every((s) => s.outcome === 'FAILED'), timeline);
    assert.equal(tries.at(-1)?.outcome, 'SUCCEEDED', `${step} ends SUCCEEDED: ${timeline}`);
  }
  assert.deepEqual(stepsWith(order, 'SUCCEEDED'), FORWARD, 'each step succeeded exactly once');
  assert.deepEqual(compensationsOf(order), []);

  const payment = (await paymentsByOrder()).get(orderId);
  assert.equal(payment?.status, 'CAPTURED');
  assert.equal(payment?.captureCount, 1, 'one capture');
  assert.equal(payment?.captured, order.total.amount);
  assert.equal((await reservationOf(orderId))?.status, 'COMMITTED');
  const stock = await stockOf(product.id);
  assert.equal(stock.sold, stockBefore.sold + QUANTITY);
  assert.equal(stock.available, stockBefore.available - QUANTITY);
  assert.equal(stock.reserved, stockBefore.reserved);

  await assertAuditPasses();
});

test('a compensation that fails is retried until it succeeds: a declined card with ReleaseStock failing', async (t) => {
  t.after(() => clearFaults('catalog'));
  await breakersQuiet('order');
  const shopper = await shopperWithCart();
  const stockBefore = await stockOf(product.id);
  const fault = await injectFault('catalog', {
    kind: 'grpc',
    target: 'catalog.v1.CatalogService/ReleaseStock',
    fault: { type: 'fail' },
  });
  const orderId = await checkout(shopper, CARDS.declined);

  const stuck = await waitForAttempts(shopper, orderId, 'compensate:release_stock', 'FAILED', 3);
  assert.equal(stuck.status, 'PENDING', 'the saga has not given up while its compensation fails');
  assert.equal((await stockOf(product.id)).reserved, stockBefore.reserved + QUANTITY, 'the units are still held');
  await clearFault('catalog', fault);

  const order: Json = await settledOrder(shopper, orderId);
  const timeline = JSON.stringify(order.timeline, null, 1);
  assert.equal(order.status, 'CANCELLED', timeline);
  assert.equal(order.cancelReason, 'payment_declined');
  assert.deepEqual(stepsWith(order, 'REFUSED'), ['authorize_payment']);
  assert.deepEqual(compensationsOf(order), ['release_stock']);
  const releases = attemptsOf(order, 'compensate:release_stock');
  assert.ok(releases.length >= 4, timeline);
  assert.ok(
    releases.slice(0, -1).every((s) => s.outcome === 'FAILED'),
    timeline,
  );
  assert.equal(releases.at(-1)?.outcome, 'SUCCEEDED');
  assert.equal(sagaSteps(order).at(-1)?.step, 'cancel');

  assert.deepEqual(await stockOf(product.id), stockBefore, 'the units were released');
  assert.equal((await reservationOf(orderId))?.status, 'RELEASED');
  const payment = (await paymentsByOrder()).get(orderId);
  assert.equal(payment?.captureCount ?? 0, 0);
  assert.equal(payment?.captured ?? 0, 0);

  await assertAuditPasses();
});

describe('a participant fault that outlasts the step deadline', () => {
  // A breaker opened by these faults (or left open before) only adds failures of the step they
  // fail anyway, and compensations wait for it: no need to wait for quiet breakers here.
  for (const fault of STEP_FAULTS) {
    test(`at ${fault.step}: the order is cancelled after compensating with [${fault.compensations.join(', ')}]`, async (t) => {
      t.after(() => clearFaults(fault.service));
      const shopper = await shopperWithCart();
      const stockBefore = await stockOf(product.id);
      await injectFault(fault.service, { kind: 'grpc', target: fault.method, fault: { type: 'fail' } });

      const orderId = await checkout(shopper);
      // The fault stays until the saga has given up on the step and compensated.
      const order: Json = await settledOrder(shopper, orderId, 180_000);
      await clearFaults(fault.service);

      const timeline = JSON.stringify(order.timeline, null, 1);
      assert.equal(order.status, 'CANCELLED', timeline);
      assert.equal(order.cancelReason, `step_deadline_exceeded:${fault.step}`);
      const before = FORWARD.slice(0, FORWARD.indexOf(fault.step));
      assert.deepEqual(
        stepsWith(order, 'SUCCEEDED').filter((s) => FORWARD.includes(s)),
        before,
        `the steps before ${fault.step} succeeded, and nothing after it ran: ${timeline}`,
      );
      const tries = attemptsOf(order, fault.step);
      assert.ok(tries.length >= 2, `${fault.step} was retried: ${timeline}`);
      assert.ok(
        tries.every((s) => s.outcome === 'FAILED'),
        timeline,
      );
      assert.ok(
        FORWARD.slice(FORWARD.indexOf(fault.step) + 1).every((s) => attemptsOf(order, s).length === 0),
        `no step after ${fault.step} ran: ${timeline}`,
      );
      assert.deepEqual(compensationsOf(order), fault.compensations, timeline);
      for (const c of fault.compensations) {
        assert.equal(attemptsOf(order, `compensate:${c}`).at(-1)?.outcome, 'SUCCEEDED', timeline);
      }
      const last = sagaSteps(order).at(-1);
      assert.deepEqual(last && { step: last.step, outcome: last.outcome }, { step: 'cancel', outcome: 'SUCCEEDED' });

      assert.deepEqual(await stockOf(product.id), stockBefore, 'the stock is back where it was');
      assert.equal((await reservationOf(orderId))?.status, fault.reservation);
      const payment = (await paymentsByOrder()).get(orderId);
      assert.equal(payment?.status, fault.payment, JSON.stringify(payment));
      assert.equal(payment?.captureCount ?? 0, 0, 'nothing was captured');
      assert.equal(payment?.captured ?? 0, 0);

      await assertAuditPasses();
    });
  }
});
