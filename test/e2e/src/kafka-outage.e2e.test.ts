// Kafka stopped for 30 s while 200 checkouts run (issue 5), against the running shop. The saga
// does not need Kafka: checkouts are accepted and orders end while it is down, and their events
// wait in the outboxes (docs/reference.md#outbox). When Kafka is back the outboxes drain by themselves
// and every consumer (cart, catalog, user) applies each event exactly once: the sold counters,
// the buyers' notifications and the carts show every order once, and no other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addToCart,
  assertAuditPasses,
  breakersQuiet,
  CARDS,
  cartLines,
  checkout,
  consumerLag,
  createProduct,
  getOrder,
  type Json,
  type Messaging,
  mapLimited,
  messaging,
  orderNotifications,
  phases,
  poll,
  registerShoppers,
  settledStatuses,
  sleep,
  stackScript,
  stockLevels,
} from './support';

const CHECKOUTS = 200;
const OUTAGE_MS = 30_000;
const GROUPS = ['cart-order-events', 'catalog-order-events', 'user-order-events'];

/** The messaging counters once every outbox is drained and every order.events consumer has caught up. */
async function settledMessaging(what: string): Promise<Messaging> {
  // What the last probe saw, for the timeout's message: which outbox or which group is behind.
  let seen = 'nothing yet';
  return poll(
    () => `${what} (last seen: ${seen})`,
    async () => {
      const first = await messaging();
      seen = `unpublished ${JSON.stringify(first.unpublished)}`;
      if (Object.values(first.unpublished).some((n) => n > 0)) return undefined;
      const lag = await consumerLag('order.events', GROUPS);
      seen += `, order.events lag ${JSON.stringify(lag)}`;
      if (Object.values(lag).some((n) => n > 0)) return undefined;
      const now = await messaging();
      return now.published.order === first.published.order ? now : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 1_000 },
  );
}

test('with Kafka down for 30 s, 200 checkouts end, their events wait in the outbox, then each is applied once', async (t) => {
  t.after(() => stackScript('infra.sh', 'up', 'kafka'));
  const phase = phases(t);
  await breakersQuiet('order');
  const products = await Promise.all([createProduct(1000, 700), createProduct(1000, 1100), createProduct(1000, 2300)]);
  const shoppers = await registerShoppers(CHECKOUTS, 'kafka-outage', 6);
  // One or two lines each; every fourth buyer pays with a declined card, so some orders are cancelled.
  const carts = shoppers.map((_, i) => [
    { productId: products[i % 3]?.id ?? '', quantity: 1 + (i % 2) },
    ...(i % 5 === 0 ? [{ productId: products[(i + 1) % 3]?.id ?? '', quantity: 1 }] : []),
  ]);
  await mapLimited(shoppers, 8, async (shopper, i) => {
    for (const line of carts[i] ?? []) await addToCart(shopper, line.productId, line.quantity);
  });
  phase('registered the shoppers and filled their carts');
  const cardOf = (i: number) => (i % 4 === 3 ? CARDS.declined : CARDS.ok);
  const before = await settledMessaging('every earlier event published and consumed');

  await stackScript('infra.sh', 'down', 'kafka');
  const downAt = Date.now();
  const since = new Date(downAt - 1_000);
  const orderIds = await mapLimited(shoppers, 20, (shopper, i) => checkout(shopper, cardOf(i)));
  assert.equal(new Set(orderIds).size, CHECKOUTS, 'every checkout was accepted as its own order');
  const statuses = await settledStatuses(orderIds, since);
  phase('every order ended with Kafka down');
  const during = await messaging();
  // Two events per order (created, then confirmed or cancelled) wait in the order service's outbox.
  assert.ok(
    (during.unpublished.order ?? 0) >= 2 * CHECKOUTS,
    `order outbox backlog while Kafka is down: ${JSON.stringify(during.unpublished)}`,
  );
  assert.equal(during.published.order, before.published.order, 'nothing was published without Kafka');
  for (const group of GROUPS) assert.equal(during.processed[group], before.processed[group], group);
  await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
  await stackScript('infra.sh', 'up', 'kafka');
  phase('Kafka is back');

  const afterwards = await settledMessaging('the outboxes to drain and the consumers to catch up');
  phase('the outboxes drained and the consumers caught up');
  assert.equal(
    afterwards.published.order - (before.published.order ?? 0),
    2 * CHECKOUTS,
    'every order event published',
  );
  for (const group of GROUPS) {
    assert.equal(
      (afterwards.processed[group] ?? 0) - (before.processed[group] ?? 0),
      2 * CHECKOUTS,
      `${group} applied each of the ${2 * CHECKOUTS} order events once`,
    );
  }
  assert.equal(afterwards.duplicateIds, 0);

  // Each order's effects, once: sold counters, the buyer's notification, the cart.
  const confirmedUnits = new Map<string, number>();
  await mapLimited(shoppers, 8, async (shopper, i) => {
    const orderId = orderIds[i] ?? '';
    const status = statuses.get(orderId);
    const order: Json = await getOrder(shopper, orderId);
    assert.equal(order.status, status);
    assert.equal(order.status, cardOf(i) === CARDS.ok ? 'CONFIRMED' : 'CANCELLED', JSON.stringify(order.timeline));
    if (status === 'CONFIRMED') {
      for (const line of carts[i] ?? []) {
        confirmedUnits.set(line.productId, (confirmedUnits.get(line.productId) ?? 0) + line.quantity);
      }
    }
    assert.deepEqual(await orderNotifications(shopper), [
      { kind: status === 'CONFIRMED' ? 'order_confirmed' : 'order_cancelled', orderId },
    ]);
    const lines = await cartLines(shopper);
    if (status === 'CONFIRMED') assert.deepEqual(lines, [], `the confirmed order ${orderId} emptied its cart`);
    else {
      const sorted = (ls: { productId: string; quantity: number }[]) =>
        [...ls].sort((a, b) => a.productId.localeCompare(b.productId));
      assert.deepEqual(sorted(lines), sorted(carts[i] ?? []), `the cancelled order ${orderId} left its cart alone`);
    }
  });
  const levels = await stockLevels();
  for (const product of products) {
    const level = levels.get(product.id);
    const sold = confirmedUnits.get(product.id) ?? 0;
    assert.deepEqual(
      level && { sold: level.sold, confirmedUnitsSold: level.confirmedUnitsSold, reserved: level.reserved },
      { sold, confirmedUnitsSold: sold, reserved: 0 },
      `product ${product.id}`,
    );
  }

  phase('checked every order’s effects');
  await assertAuditPasses();
});
