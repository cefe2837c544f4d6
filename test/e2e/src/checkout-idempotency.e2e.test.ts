// Checkout's promises at the edges (issue 5), against the running shop: one Idempotency-Key is
// one order however often (and however concurrently) it is sent, and an order the stock cannot
// cover is cancelled before any payment is attempted.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  addToCart,
  assertAuditPasses,
  CARDS,
  call,
  checkout,
  createProduct,
  modeSteps,
  paymentsByOrder,
  registerShoppers,
  reservationOf,
  sagaSteps,
  settledOrder,
  stepsWith,
  stockOf,
} from './support';

test('one Idempotency-Key is one order: sent twice, sent again with another body, and sent 8 times at once', async () => {
  const product = await createProduct(50, 1999);
  const [first, second] = await registerShoppers(2, 'idempotency');
  assert.ok(first && second);
  await addToCart(first, product.id, 1);
  await addToCart(second, product.id, 2);

  const key = randomUUID();
  const orderId = await checkout(first, CARDS.ok, key);
  assert.equal(await checkout(first, CARDS.ok, key), orderId, 'the same key and body answer with the same order');
  const reused = await call('POST', '/checkout', {
    token: first.token,
    body: { card: { ...CARDS.ok, cvc: '999' } },
    headers: { 'idempotency-key': key },
  });
  assert.equal(reused.status, 422, JSON.stringify(reused.body));
  assert.equal(reused.body.code, 'SHOP_IDEMPOTENCY_KEY_REUSED');

  const concurrentKey = randomUUID();
  const answers = await Promise.all(Array.from({ length: 8 }, () => checkout(second, CARDS.ok, concurrentKey)));
  assert.equal(new Set(answers).size, 1, `8 concurrent requests, one order: ${answers.join(', ')}`);

  for (const [shopper, id] of [
    [first, orderId],
    [second, answers[0] ?? ''],
  ] as const) {
    const order = await settledOrder(shopper, id);
    assert.equal(order.status, 'CONFIRMED', JSON.stringify(order.timeline));
    const mine = await call('GET', '/orders', { token: shopper.token });
    assert.deepEqual(
      mine.body.items.map((o: { id: string }) => o.id),
      [id],
      'the shopper has exactly one order',
    );
    const payment = (await paymentsByOrder()).get(id);
    assert.equal(payment?.captureCount, 1);
    assert.equal(payment?.captured, order.total.amount);
  }
  assert.equal((await stockOf(product.id)).sold, 3, 'one order each: 1 + 2 units sold');

  await assertAuditPasses();
});

test('an order the stock cannot cover is cancelled before any payment call', async () => {
  const product = await createProduct(1, 4500);
  const [late, early] = await registerShoppers(2, 'out-of-stock');
  assert.ok(late && early);
  // Both carts take the last unit while it is there; the first checkout buys it.
  await addToCart(late, product.id, 1);
  await addToCart(early, product.id, 1);
  const bought = await settledOrder(early, await checkout(early));
  assert.equal(bought.status, 'CONFIRMED', JSON.stringify(bought.timeline));

  const orderId = await checkout(late);
  const order = await settledOrder(late, orderId);
  const timeline = JSON.stringify(order.timeline, null, 1);
  assert.equal(order.status, 'CANCELLED', timeline);
  assert.equal(order.cancelReason, 'out_of_stock');
  assert.deepEqual(stepsWith(order, 'SUCCEEDED'), modeSteps('validate_user', 'cancel'), timeline);
  assert.deepEqual(stepsWith(order, 'REFUSED'), ['reserve_stock'], timeline);
  assert.ok(!sagaSteps(order).some((s) => s.step.startsWith('compensate:')), timeline);
  assert.equal((await paymentsByOrder()).get(orderId), undefined, 'no payment record for the order');
  assert.equal(order.payment, null);
  assert.equal(await reservationOf(orderId), undefined, 'nothing was reserved');
  const { initial, available, reserved, sold } = await stockOf(product.id);
  assert.deepEqual({ initial, available, reserved, sold }, { initial: 1, available: 0, reserved: 0, sold: 1 });

  await assertAuditPasses();
});
