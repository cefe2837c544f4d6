import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BreakerRegistry,
  createGrpcClient,
  createLogger,
  createMetrics,
  type GrpcClient,
  ShopError,
  StaticRegistry,
} from '@shoplab/chassis';
import { eventually } from '@shoplab/chassis/testing';
import { orderV1 } from '@shoplab/contracts';
import { ADMIN_TOKEN, type Harness, newUserId, startHarness, VISA } from '../support/harness';

let h: Harness;
let orderClient: GrpcClient<typeof orderV1.OrderServiceService>;
const breakers = new BreakerRegistry();

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-mug', { name: 'A Mug', price: 1200 });
  orderClient = createGrpcClient(
    orderV1.OrderServiceClient,
    {
      caller: 'gateway',
      target: 'order',
      registry: new StaticRegistry({ order: [`127.0.0.1:${h.grpcPort}`] }),
      deadlineMs: 3_000,
    },
    { metrics: createMetrics('gateway'), breakers, logger: createLogger({ service: 'gateway', level: 'silent' }) },
  );
});

after(async () => {
  orderClient.close();
  breakers.close();
  await h.close();
});

let n = 0;
/** Places an order of `quantity` mugs for `userId` and returns its id. */
async function placeOrder(userId: string, quantity = 1): Promise<string> {
  h.cart.set(userId, [{ productId: 'p-mug', quantity }]);
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `orders-test-${++n}-${userId}` },
    payload: { card: VISA },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().orderId;
}

function get(userId: string, url: string) {
  return h.app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${h.tokenFor(userId)}` } });
}

test('a user reads their order with lines, total and an empty timeline', async () => {
  const userId = newUserId();
  const orderId = await placeOrder(userId, 2);

  const res = await get(userId, `/v1/orders/${orderId}`);

  assert.equal(res.statusCode, 200, res.body);
  const order = res.json();
  assert.equal(order.id, orderId);
  assert.equal(order.userId, userId);
  assert.equal(order.status, 'PENDING');
  assert.deepEqual(order.lines, [
    {
      productId: 'p-mug',
      name: 'A Mug',
      quantity: 2,
      unitPrice: { amount: 1200, currency: 'USD' },
      lineTotal: { amount: 2400, currency: 'USD' },
    },
  ]);
  assert.deepEqual(order.total, { amount: 2400, currency: 'USD' });
  assert.deepEqual(order.timeline, []);
  assert.equal(order.cancelReason, undefined);
  assert.ok(Date.parse(order.createdAt) <= Date.parse(order.updatedAt));
});

test('a user cannot read another user’s order: 404', async () => {
  const owner = newUserId();
  const orderId = await placeOrder(owner);

  const res = await get(newUserId(), `/v1/orders/${orderId}`);

  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'SHOP_NOT_FOUND');
});

test('an unknown or malformed order id is 404', async () => {
  const userId = newUserId();
  for (const id of ['0b8c8a7e-7f43-4a43-9a0a-3f1f0e0e0e0e', 'not-a-uuid']) {
    const res = await get(userId, `/v1/orders/${id}`);
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(res.json().code, 'SHOP_NOT_FOUND');
  }
});

test('a user’s orders are listed newest first, page by page, and only theirs', async () => {
  const userId = newUserId();
  const placed: string[] = [];
  for (let i = 1; i <= 5; i++) placed.push(await placeOrder(userId, i));
  await placeOrder(newUserId());

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/v1/orders?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await get(userId, url);
    assert.equal(res.statusCode, 200, res.body);
    const page = res.json() as { items: { id: string; userId: string }[]; nextCursor: string | null };
    assert.ok(page.items.length <= 2);
    for (const item of page.items) assert.equal(item.userId, userId);
    seen.push(...page.items.map((o) => o.id));
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 10);

  assert.equal(pages, 3);
  assert.deepEqual(seen, [...placed].reverse());
});

test('a bad cursor or limit is 400 SHOP_VALIDATION_FAILED', async () => {
  const userId = newUserId();
  for (const url of ['/v1/orders?cursor=bogus', '/v1/orders?limit=0', '/v1/orders?limit=101']) {
    const res = await get(userId, url);
    assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
  }
});

test('gRPC GetOrder returns the caller’s order and NOT_FOUND for anyone else', async () => {
  const userId = newUserId();
  const orderId = await placeOrder(userId, 3);

  const { order } = await orderClient.call('getOrder', { id: orderId, userId });

  assert.equal(order?.id, orderId);
  assert.equal(order?.status, orderV1.OrderStatus.ORDER_STATUS_PENDING);
  assert.deepEqual(order?.total, { amount: 3600, currency: 'USD' });
  assert.equal(order?.lines[0]?.quantity, 3);
  assert.equal(order?.cancelReason, '');

  await assert.rejects(
    orderClient.call('getOrder', { id: orderId, userId: newUserId() }),
    (err: unknown) => err instanceof ShopError && err.code === 'SHOP_NOT_FOUND',
  );
  await assert.rejects(
    orderClient.call('getOrder', { id: orderId, userId: '' }),
    (err: unknown) => err instanceof ShopError && err.code === 'SHOP_VALIDATION_FAILED',
  );
});

test('gRPC ListOrders pages through the caller’s orders newest first', async () => {
  const userId = newUserId();
  const placed = [await placeOrder(userId), await placeOrder(userId), await placeOrder(userId)];

  const first = await orderClient.call('listOrders', { userId, limit: 2, cursor: '' });
  const second = await orderClient.call('listOrders', { userId, limit: 2, cursor: first.nextCursor });

  assert.deepEqual(
    first.orders.map((o) => o.id),
    [placed[2], placed[1]],
  );
  assert.notEqual(first.nextCursor, '');
  assert.deepEqual(
    second.orders.map((o) => o.id),
    [placed[0]],
  );
  assert.equal(second.nextCursor, '');
  await assert.rejects(
    orderClient.call('listOrders', { userId, limit: 0, cursor: 'bogus' }),
    (err: unknown) => err instanceof ShopError && err.code === 'SHOP_VALIDATION_FAILED',
  );
});

function admin(url: string, token = ADMIN_TOKEN) {
  return h.app.http.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}

test('the audit lists every order with status, total and creation time, oldest first', async () => {
  const startedAt = new Date(Date.now() - 1_000).toISOString();
  const first = await placeOrder(newUserId(), 2);
  const second = await placeOrder(newUserId(), 1);
  const res = await admin(`/v1/admin/orders/audit?since=${encodeURIComponent(startedAt)}`);
  assert.equal(res.statusCode, 200, res.body);
  const orders: { id: string; status: string; total: { amount: number; currency: string } }[] = res.json().orders;
  const ids = orders.map((o) => o.id);
  assert.ok(ids.indexOf(first) >= 0 && ids.indexOf(first) < ids.indexOf(second));
  const mine = orders.find((o) => o.id === first);
  assert.equal(mine?.total.amount, 2400);
  assert.ok(['PENDING', 'CONFIRMED', 'CANCELLED'].includes(mine?.status ?? ''));
});

test('the audit leaves out orders created before `since`', async () => {
  const id = await placeOrder(newUserId());
  const future = new Date(Date.now() + 60_000).toISOString();
  const res = await admin(`/v1/admin/orders/audit?since=${encodeURIComponent(future)}`);
  assert.equal(res.statusCode, 200);
  assert.ok(!res.json().orders.some((o: { id: string }) => o.id === id));
});

test('the audit needs the admin token, and a malformed `since` is 400', async () => {
  assert.equal((await admin('/v1/admin/orders/audit', 'not-the-admin-token-0000000')).statusCode, 403);
  assert.equal((await admin('/v1/admin/orders/audit?since=yesterday')).statusCode, 400);
});

test('the outbox and consumers audit report the order service’s events', async () => {
  await placeOrder(newUserId());
  const outbox = await admin('/admin/outbox');
  assert.equal(outbox.statusCode, 200, outbox.body);
  const o = outbox.json();
  assert.ok(o.unpublished + o.published >= 1, 'the checkout wrote an outbox row');
  const consumers = await admin('/admin/consumers');
  assert.equal(consumers.statusCode, 200);
  assert.equal(consumers.json().duplicateIds, 0);
});

test('republish re-emits the end event of an ended order whose event is missing from the outbox, once', async () => {
  const orderId = await placeOrder(newUserId(), 3);
  const runner = h.newRunner();
  runner.start();
  let status = '';
  try {
    await eventually(
      `order ${orderId} to end`,
      async () => {
        status = (await h.prisma.order.findUniqueOrThrow({ where: { id: orderId } })).status;
        return status === 'CONFIRMED' || status === 'CANCELLED' ? status : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 25, onError: 'fail' },
    );
  } finally {
    await runner.stop();
  }
  assert.equal(status, 'CONFIRMED');
  const endEvent = { aggregateId: orderId, eventType: 'shop.order.confirmed.v1' };
  const original = await h.prisma.outbox.findFirstOrThrow({ where: endEvent });
  // As if it had been ended while the service published directly: no row in the outbox.
  await h.prisma.outbox.delete({ where: { id: original.id } });

  const first = await h.app.http.inject({
    method: 'POST',
    url: '/v1/admin/orders/republish',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(first.statusCode, 200, first.body);
  assert.ok(first.json().orderIds.includes(orderId));
  const rows = await h.prisma.outbox.findMany({ where: endEvent });
  assert.equal(rows.length, 1);
  const data = rows[0]?.payload as { orderId: string; lines: unknown; total: unknown; userId: string };
  const before = original.payload as typeof data;
  assert.deepEqual(
    { orderId: data.orderId, userId: data.userId, lines: data.lines, total: data.total },
    { orderId: before.orderId, userId: before.userId, lines: before.lines, total: before.total },
  );
  assert.notEqual(rows[0]?.eventId, original.eventId, 'a new event; consumers dedupe by order');

  const again = await h.app.http.inject({
    method: 'POST',
    url: '/v1/admin/orders/republish',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.ok(!again.json().orderIds.includes(orderId), 'nothing to repair the second time');
  assert.equal(await h.prisma.outbox.count({ where: endEvent }), 1);
});

test('GetTwoPhaseDecision: the coordinator answers a participant from its log (an order it never coordinated is ABORT); a bad id is INVALID_ARGUMENT', async () => {
  const orderId = await placeOrder(newUserId());
  const { decision } = await orderClient.call('getTwoPhaseDecision', { orderId });
  assert.equal(
    decision,
    orderV1.TwoPhaseDecision.TWO_PHASE_DECISION_ABORT,
    'no row in the decision log: it can never commit',
  );
  await assert.rejects(
    orderClient.call('getTwoPhaseDecision', { orderId: 'not-a-uuid' }),
    (err: unknown) => err instanceof ShopError && err.code === 'SHOP_VALIDATION_FAILED',
  );
});
