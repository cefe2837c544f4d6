// order.v1.OrderService/WatchOrder over a real gRPC connection: the order now, then after each
// attempt the saga runner records, ending after CONFIRMED; NOT_FOUND for an order the caller
// does not have; a cancelled or expired call leaves no watch behind.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { eventually } from '@shoplab/chassis/testing';
import { orderV1 } from '@shoplab/contracts';
import { type Harness, newUserId, startHarness, VISA } from '../support/harness';

let h: Harness;
let client: orderV1.OrderServiceClient;

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-mug', { name: 'A Mug', price: 1200 });
  client = new orderV1.OrderServiceClient(`127.0.0.1:${h.grpcPort}`, grpc.credentials.createInsecure());
});

after(async () => {
  client.close();
  await h.close();
});

let n = 0;
async function placeOrder(userId: string): Promise<string> {
  h.cart.set(userId, [{ productId: 'p-mug', quantity: 1 }]);
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `watch-test-${++n}` },
    payload: { card: VISA },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().orderId;
}

/** Every message of a watch and how it ended (its status code). */
function watch(
  request: orderV1.WatchOrderRequest,
  options: {
    deadlineMs?: number;
    onMessage?: (order: orderV1.Order, call: grpc.ClientReadableStream<unknown>) => void;
  } = {},
): Promise<{ orders: orderV1.Order[]; code: number }> {
  return new Promise((resolve) => {
    const orders: orderV1.Order[] = [];
    const call = client.watchOrder(request, { deadline: Date.now() + (options.deadlineMs ?? 10_000) });
    call.on('data', (m: orderV1.WatchOrderResponse) => {
      if (m.order) orders.push(m.order);
      if (m.order) options.onMessage?.(m.order, call);
    });
    call.on('status', (status: grpc.StatusObject) => resolve({ orders, code: status.code }));
    call.on('error', () => {});
  });
}

async function openWatches(): Promise<number> {
  const res = await h.app.http.inject({ method: 'GET', url: '/metrics' });
  const m = /^shop_order_watch_streams(?:\{[^}]*\})? (\d+)$/m.exec(res.body);
  return m ? Number(m[1]) : 0;
}

test('an unknown order, or another user’s, ends the watch with NOT_FOUND', async () => {
  const owner = newUserId();
  const orderId = await placeOrder(owner);
  const unknown = await watch({ id: '00000000-0000-4000-8000-000000000000', userId: owner });
  assert.equal(unknown.code, grpc.status.NOT_FOUND);
  const stranger = await watch({ id: orderId, userId: newUserId() });
  assert.equal(stranger.code, grpc.status.NOT_FOUND);
  assert.deepEqual(stranger.orders, []);
});

test('a watch whose deadline passes, or that the client cancels, is cancelled and leaves no watch open', async () => {
  const userId = newUserId();
  const orderId = await placeOrder(userId); // the saga runner is not started: the order stays PENDING
  const expired = await watch({ id: orderId, userId }, { deadlineMs: 300 });
  assert.equal(expired.code, grpc.status.DEADLINE_EXCEEDED);
  assert.equal(expired.orders.length, 1);
  assert.equal(expired.orders[0]?.status, orderV1.OrderStatus.ORDER_STATUS_PENDING);

  const cancelled = await watch({ id: orderId, userId }, { onMessage: (_order, call) => call.cancel() });
  assert.equal(cancelled.code, grpc.status.CANCELLED);
  await eventually('no watch open', async () => ((await openWatches()) === 0 ? true : undefined));
});

test('a watch sends the order after each recorded saga attempt and ends once it is CONFIRMED', async () => {
  const userId = newUserId();
  const orderId = await placeOrder(userId);
  const watching = watch({ id: orderId, userId });
  await eventually('the watch open', async () => ((await openWatches()) === 1 ? true : undefined));
  h.app.saga.start();
  const { orders, code } = await watching;

  assert.equal(code, grpc.status.OK);
  assert.equal(orders[0]?.status, orderV1.OrderStatus.ORDER_STATUS_PENDING);
  assert.equal(orders.at(-1)?.status, orderV1.OrderStatus.ORDER_STATUS_CONFIRMED);
  // Pushed by the runner's commits, not found by the 5 s resync: a step seen while it ran.
  assert.ok(
    orders.some((o) => o.timeline.some((s) => s.outcome === 'STARTED')),
    `an attempt seen STARTED in ${orders.length} messages`,
  );
  // Each message differs from the one before.
  const prints = orders.map((o) => JSON.stringify(orderV1.Order.toJSON(o)));
  assert.equal(new Set(prints).size, prints.length);
  assert.equal(await openWatches(), 0);
});
