// The order history (the CQRS read side) through the gateway on the running shop: a shopper
// checks out; while the history's order.events consumer is held by a chaos fault the order page
// is current and /orders/history says "being updated", naming the order; once the fault is
// cleared the history catches up and shows the order with its status, items and payment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminBaseUrl } from '@shoplab/shopctl';
import {
  ADMIN_TOKEN,
  addToCart,
  assertAuditPasses,
  call,
  checkout,
  createProduct,
  type Json,
  phases,
  poll,
  registerShoppers,
  settledOrder,
} from './support';

/** The history's admin listener (its /admin/chaos; 404 on its HTTP port). */
const HISTORY_ADMIN = adminBaseUrl('history');

async function history(method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${HISTORY_ADMIN}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  assert.ok(res.ok, `history ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

test('a checkout shows in /orders/history: being updated while the read side is held, then with status, items and payment', async (t) => {
  const phase = phases(t);
  const [shopper] = await registerShoppers(1, 'e2e-history');
  assert.ok(shopper);
  const category = `e2e-history-${Date.now()}`;
  const [mug, pen] = await Promise.all([createProduct(5, 850, category), createProduct(5, 1200, category)]);
  assert.ok(mug && pen);

  const empty = await call('GET', '/orders/history', { token: shopper.token });
  assert.equal(empty.status, 200, JSON.stringify(empty.body));
  assert.deepEqual(empty.body.orders, []);
  assert.equal(empty.body.freshness, 'current');

  phase('hold the history consumer of order.events');
  await history('PUT', '/admin/chaos', {
    kind: 'consumer',
    target: 'order.events',
    fault: { type: 'hang' },
    durationSeconds: 120,
  });
  let orderId: string;
  try {
    await addToCart(shopper, mug.id, 2);
    await addToCart(shopper, pen.id, 1);
    orderId = await checkout(shopper);
    const order = await settledOrder(shopper, orderId);
    assert.equal(order.status, 'CONFIRMED', JSON.stringify(order));

    phase('the order page is current; the history is being updated');
    const lagging = await call('GET', '/orders/history', { token: shopper.token });
    assert.equal(lagging.status, 200, JSON.stringify(lagging.body));
    assert.equal(lagging.body.freshness, 'being updated', JSON.stringify(lagging.body));
    assert.equal(lagging.body.behind.orderId, orderId);
    assert.equal(lagging.body.behind.status, 'CONFIRMED');
    assert.notEqual(lagging.body.behind.historyStatus, 'CONFIRMED');
    assert.ok(lagging.body.lag.events > 0, JSON.stringify(lagging.body.lag));
    assert.ok(!lagging.body.orders.some((d: { orderId: string }) => d.orderId === orderId));
  } finally {
    phase('release the consumer');
    await history('DELETE', '/admin/chaos');
  }

  phase('the history catches up');
  const caughtUp = await poll(
    'the order in the history, current',
    async () => {
      const res = await call('GET', '/orders/history', { token: shopper.token });
      // "current" speaks of the order's status; the payment comes from its own topic, so wait
      // for the capture too.
      return res.status === 200 &&
        res.body.freshness === 'current' &&
        res.body.orders.length === 1 &&
        res.body.orders[0]?.payment?.status === 'CAPTURED'
        ? res.body
        : undefined;
    },
    { timeoutMs: 120_000 },
  );
  const doc = caughtUp.orders[0];
  assert.equal(doc.orderId, orderId);
  assert.equal(doc.status, 'CONFIRMED');
  assert.equal(caughtUp.behind, null);
  assert.deepEqual(
    doc.items.map((i: { productId: string; quantity: number }) => [i.productId, i.quantity]).sort(),
    [
      [mug.id, 2],
      [pen.id, 1],
    ].sort(),
  );
  assert.deepEqual(doc.total, { amount: 2 * 850 + 1200, currency: 'USD' });
  assert.equal(doc.payment.status, 'CAPTURED');
  assert.deepEqual(doc.payment.captured, { amount: 2 * 850 + 1200, currency: 'USD' });
  assert.deepEqual(doc.outcome, { result: 'confirmed', reason: null });
  assert.ok(doc.version >= 4, `version ${doc.version}`);

  // The filters reach the read side: by status and by a product's words.
  const cancelled = await call('GET', '/orders/history?status=CANCELLED', { token: shopper.token });
  assert.deepEqual(cancelled.body.orders, []);
  const admin = await call('GET', `/admin/orders/search?userId=${shopper.id}`, { token: ADMIN_TOKEN });
  assert.equal(admin.status, 200, JSON.stringify(admin.body));
  assert.deepEqual(
    admin.body.orders.map((d: { orderId: string }) => d.orderId),
    [orderId],
  );

  await assertAuditPasses();
});
