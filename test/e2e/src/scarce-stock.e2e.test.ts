// 500 concurrent checkouts over 20 products with scarce stock (issue 5), against the running
// shop: buyers want several times what there is. No unit is sold twice or goes negative — per
// product, units sold ≤ its initial stock and = the units of its confirmed orders — orders that
// find the stock gone are cancelled before any payment call, and the audit passes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addToCart,
  assertAuditPasses,
  breakersQuiet,
  checkout,
  createProduct,
  getOrder,
  type Json,
  mapLimited,
  paymentsByOrder,
  phases,
  poll,
  registerShoppers,
  sagaSteps,
  settledStatuses,
  stepsWith,
  stockLevels,
} from './support';

const CHECKOUTS = 500;
const PRODUCTS = 20;

/** A small deterministic generator (mulberry32), so every run asks for the same carts. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('500 concurrent checkouts over 20 scarce products never oversell', async (t) => {
  const phase = phases(t);
  await breakersQuiet('order');
  // 2 to 10 units each (120 in all) for buyers who want about 1,000.
  const initial = Array.from({ length: PRODUCTS }, (_, i) => 2 + 2 * (i % 5));
  const products = await Promise.all(initial.map((stock, i) => createProduct(stock, 500 + 25 * i)));
  const next = random(5);
  const carts = Array.from({ length: CHECKOUTS }, () => {
    const picked = new Set<number>();
    const size = 1 + Math.floor(next() * 3);
    while (picked.size < size) picked.add(Math.floor(next() * PRODUCTS));
    return [...picked].map((p) => ({ productId: products[p]?.id ?? '', quantity: 1 + Math.floor(next() * 2) }));
  });
  const shoppers = await registerShoppers(CHECKOUTS, 'scarce', 6);
  phase('registered the shoppers');
  await mapLimited(shoppers, 10, async (shopper, i) => {
    for (const line of carts[i] ?? []) await addToCart(shopper, line.productId, line.quantity);
  });
  phase('filled the carts');

  const since = new Date(Date.now() - 1_000);
  const orderIds = await Promise.all(shoppers.map((shopper) => checkout(shopper)));
  assert.equal(new Set(orderIds).size, CHECKOUTS);
  phase('every checkout accepted');
  await settledStatuses(orderIds, since, 300_000);
  phase('every order ended');

  const orders: Json[] = await mapLimited(orderIds, 16, (id, i) => getOrder(shoppers[i] as (typeof shoppers)[0], id));
  const payments = await paymentsByOrder();
  const confirmed = orders.filter((o) => o.status === 'CONFIRMED');
  const cancelled = orders.filter((o) => o.status === 'CANCELLED');
  assert.equal(confirmed.length + cancelled.length, CHECKOUTS);
  assert.ok(
    confirmed.length > 0 && cancelled.length > 0,
    `${confirmed.length} confirmed, ${cancelled.length} cancelled`,
  );

  const sold = new Map<string, number>();
  for (const order of confirmed) {
    for (const line of order.lines) sold.set(line.productId, (sold.get(line.productId) ?? 0) + line.quantity);
    const payment = payments.get(order.id);
    assert.equal(payment?.captureCount, 1, `one capture for ${order.id}`);
    assert.equal(payment?.captured, order.total.amount);
  }
  // Out of stock: refused at reserve_stock, before any payment call. Another reason (a step that
  // gave up under this load) must still leave no money taken; it is reported, not failed.
  const refused = cancelled.filter((o) => o.cancelReason === 'out_of_stock');
  assert.ok(refused.length > 0, 'some orders found their stock gone');
  for (const order of refused) {
    const timeline = JSON.stringify(order.timeline, null, 1);
    assert.deepEqual(stepsWith(order, 'REFUSED'), ['reserve_stock'], timeline);
    assert.ok(
      sagaSteps(order).every((s) => s.step !== 'authorize_payment'),
      `cancelled before any payment call: ${timeline}`,
    );
    assert.equal(payments.get(order.id), undefined, `no payment record for ${order.id}`);
  }
  const others = cancelled.filter((o) => o.cancelReason !== 'out_of_stock');
  for (const order of others) {
    const payment = payments.get(order.id);
    assert.equal((payment?.captured ?? 0) - (payment?.refunded ?? 0), 0, `no net capture for ${order.id}`);
  }
  if (others.length > 0) {
    t.diagnostic(
      `${others.length} order(s) cancelled for another reason: ${[...new Set(others.map((o) => o.cancelReason))].join(', ')}`,
    );
  }

  // The catalog's counters, once the sales counters (from order.events) have caught up too.
  const levels = await poll('the sales counters to count every confirmed order', async () => {
    const now = await stockLevels();
    return products.every((p) => now.get(p.id)?.confirmedUnitsSold === (sold.get(p.id) ?? 0)) ? now : undefined;
  });
  for (const [i, product] of products.entries()) {
    const level = levels.get(product.id);
    assert.ok(level);
    const expected = sold.get(product.id) ?? 0;
    assert.equal(level.initial, initial[i], `${product.id} initial`);
    assert.ok(level.sold <= level.initial, `${product.id} is not oversold: ${JSON.stringify(level)}`);
    assert.equal(level.sold, expected, `${product.id}: sold = units of its confirmed orders`);
    assert.equal(level.reserved, 0, `${product.id}: nothing left reserved`);
    assert.equal(level.available, level.initial - level.sold, `${product.id}: ${JSON.stringify(level)}`);
    assert.ok(level.available >= 0);
  }

  phase('checked the orders and the stock');
  await assertAuditPasses(180_000);
  phase('the audit passed');
});
