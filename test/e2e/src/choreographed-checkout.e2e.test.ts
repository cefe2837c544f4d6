// The choreographed checkout (docs/patterns/choreography.md) on the running shop: with the order
// service's switch at `choreographed`, a good card, a declined card and an order the stock no
// longer covers end as the saga ends them — CONFIRMED with the stock committed and one capture,
// CANCELLED payment_declined with the stock released and nothing captured, CANCELLED out_of_stock
// with nothing held — each recorded as choreographed, its timeline the events as they arrived and
// no saga step; then the audit passes. The switch is put back where the test found it.
// Then 60 concurrent checkouts over scarce stock, choreographed: no unit sold twice.
// What it adds to the checkout e2e tests: the same outcomes reached with no orchestrator.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { localBaseUrl } from '@shoplab/shopctl';
import {
  ADMIN_TOKEN,
  addToCart,
  adminOk,
  assertAuditPasses,
  CARDS,
  checkout,
  createProduct,
  mapLimited,
  paymentsByOrder,
  registerShoppers,
  reservationOf,
  type Shopper,
  settledOrder,
  stockOf,
} from './support';

let previousMode = 'orchestrated';

before(async () => {
  assert.ok(ADMIN_TOKEN, 'the admin token (ADMIN_TOKEN or the local secrets file)');
  previousMode = (await adminOk('order', 'GET', '/v1/admin/checkout-mode')).mode;
  await adminOk('order', 'PUT', '/v1/admin/checkout-mode', { mode: 'choreographed' });
});

after(async () => {
  await adminOk('order', 'PUT', '/v1/admin/checkout-mode', { mode: previousMode });
});

/** The order as the order service shows it (with `checkoutMode`, which the gateway's page leaves out). */
async function orderPage(shopper: Shopper, orderId: string) {
  const res = await fetch(`${localBaseUrl('order')}/v1/orders/${orderId}`, {
    headers: { authorization: `Bearer ${shopper.token}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as {
    checkoutMode: string;
    timeline: { step: string; outcome: string }[];
  };
}

const SAGA_STEPS = [
  'validate_user',
  'reserve_stock',
  'authorize_payment',
  'commit_stock',
  'capture_payment',
  'confirm',
];

test('choreographed: a good card, a declined card and an order the stock no longer covers end as the saga ends them', async () => {
  const product = await createProduct(3, 1200);
  const [good, declined, late] = (await registerShoppers(3, 'choreo')) as [Shopper, Shopper, Shopper];
  await addToCart(good, product.id, 1);
  await addToCart(declined, product.id, 1);
  await addToCart(late, product.id, 3);

  const [goodId, declinedId] = await Promise.all([checkout(good), checkout(declined, CARDS.declined)]);
  const [goodOrder, declinedOrder] = await Promise.all([
    settledOrder(good, goodId, 60_000),
    settledOrder(declined, declinedId, 60_000),
  ]);
  // 1 sold, 1 released: 2 left, and the late shopper wants 3.
  const lateId = await checkout(late);
  const lateOrder = await settledOrder(late, lateId, 60_000);

  assert.equal(goodOrder.status, 'CONFIRMED', JSON.stringify(goodOrder));
  assert.equal(declinedOrder.status, 'CANCELLED');
  assert.equal(declinedOrder.cancelReason, 'payment_declined');
  assert.equal(lateOrder.status, 'CANCELLED');
  assert.equal(lateOrder.cancelReason, 'out_of_stock');

  assert.equal((await reservationOf(goodId))?.status, 'COMMITTED');
  assert.equal((await reservationOf(declinedId))?.status, 'RELEASED');
  assert.notEqual((await reservationOf(lateId))?.status, 'RESERVED');
  const stock = await stockOf(product.id);
  assert.deepEqual([stock.available, stock.reserved, stock.sold], [2, 0, 1]);

  const payments = await paymentsByOrder();
  assert.equal(payments.get(goodId)?.captureCount, 1);
  assert.equal(payments.get(goodId)?.captured, 1200);
  assert.equal((payments.get(declinedId)?.captured ?? 0) - (payments.get(declinedId)?.refunded ?? 0), 0);
  assert.equal(payments.get(lateId), undefined, 'nothing was authorized for an order whose stock was refused');

  const pages = await Promise.all([orderPage(good, goodId), orderPage(declined, declinedId), orderPage(late, lateId)]);
  for (const page of pages) {
    assert.equal(page.checkoutMode, 'choreographed');
    assert.deepEqual(
      page.timeline.filter((s) => SAGA_STEPS.includes(s.step)),
      [],
      'no saga step on a choreographed order',
    );
  }
  const steps = (i: number) => pages[i]?.timeline.map((s) => s.step) ?? [];
  for (const type of [
    'shop.catalog.stock_reserved.v1',
    'shop.payment.authorized.v1',
    'shop.catalog.stock_committed.v1',
    'shop.payment.captured.v1',
    'choreography:confirm',
  ]) {
    assert.ok(steps(0).includes(type), `the good order's timeline has ${type}: ${steps(0).join(', ')}`);
  }
  for (const type of ['shop.payment.declined.v1', 'shop.catalog.stock_released.v1', 'choreography:cancel']) {
    assert.ok(steps(1).includes(type), `the declined order's timeline has ${type}: ${steps(1).join(', ')}`);
  }
  assert.ok(steps(2).includes('shop.catalog.stock_refused.v1'), `the late order's timeline: ${steps(2).join(', ')}`);

  await assertAuditPasses();
});

test('choreographed: 60 concurrent checkouts over scarce stock never oversell and each ends consistently', async () => {
  const CHECKOUTS = 60;
  // 3 products of 8 units; every buyer wants 2 of one of them: 24 units for 120 wanted.
  const products = await Promise.all([0, 1, 2].map(() => createProduct(8, 700)));
  const shoppers = await registerShoppers(CHECKOUTS, 'choreo-burst', 6);
  await mapLimited(shoppers, 6, (shopper, i) => addToCart(shopper, (products[i % 3] as { id: string }).id, 2));
  const orderIds = await Promise.all(shoppers.map((shopper) => checkout(shopper)));
  const orders = await Promise.all(orderIds.map((id, i) => settledOrder(shoppers[i] as Shopper, id, 120_000)));
  const payments = await paymentsByOrder();

  const confirmed = orders.filter((o) => o.status === 'CONFIRMED');
  const refused = orders.filter((o) => o.status === 'CANCELLED' && o.cancelReason === 'out_of_stock');
  assert.equal(confirmed.length, 12, 'each product sells its 8 units to 4 buyers');
  assert.equal(refused.length, CHECKOUTS - 12);
  for (const order of confirmed) {
    assert.equal(payments.get(order.id)?.captureCount, 1, `one capture for ${order.id}`);
    assert.equal((await reservationOf(order.id))?.status, 'COMMITTED');
  }
  for (const order of refused) assert.equal(payments.get(order.id), undefined, `no payment for ${order.id}`);
  for (const product of products) {
    const level = await stockOf(product.id);
    assert.deepEqual([level.available, level.reserved, level.sold], [0, 0, 8], JSON.stringify(level));
  }
  await assertAuditPasses();
});
