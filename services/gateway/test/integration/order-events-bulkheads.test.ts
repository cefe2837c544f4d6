// The before/after switches of the order events (polling vs a WatchOrder stream) and of the
// bulkheads (a compartment per call path vs one shared pool), on a gateway wired to the fakes.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { createMetrics, ShopError } from '@shoplab/chassis';
import { orderV1, paymentV1 } from '@shoplab/contracts';
import { CallBulkheads } from '../../src/infrastructure/bulkheads';
import {
  admin,
  bearer,
  type Gateway,
  order,
  product,
  startGateway,
  startWorld,
  step,
  tokenFor,
  usd,
  type World,
} from '../support/harness';

let world: World;
let gw: Gateway;
const alice = bearer('alice');
const card = { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' };

before(async () => {
  world = await startWorld();
  // One read and one checkout at a time, no queues: shared when switched off, two slots in all.
  gw = await startGateway(world, {
    READS_BULKHEAD_MAX_CONCURRENT: '1',
    READS_BULKHEAD_MAX_QUEUE: '0',
    CHECKOUT_BULKHEAD_MAX_CONCURRENT: '1',
    CHECKOUT_BULKHEAD_MAX_QUEUE: '0',
  });
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await gw.close();
  await world.close();
});

beforeEach(async () => {
  world.state.reset();
  world.clearFaults();
  world.state.products.set('p1', product('p1', { name: 'Dune', category: 'books' }));
  world.state.orders.set('o-1', order('o-1', 'alice', { paymentId: 'pay-1' }));
  world.state.payments.set('o-1', {
    id: 'pay-1',
    orderId: 'o-1',
    status: paymentV1.PaymentStatus.PAYMENT_STATUS_AUTHORIZED,
    amount: usd(1999),
    captured: usd(0),
    refunded: usd(0),
    cardLast4: '4242',
    declineReason: '',
    createdAt: '',
    updatedAt: '',
  });
  world.state.carts.set('alice', { lines: [{ productId: 'p1', quantity: 1, unitPrice: usd(1999) }], version: 1 });
  await setMode('streaming');
  await setBulkheads(true);
});

async function setMode(mode: 'streaming' | 'polling') {
  const res = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/order-events',
    headers: admin,
    payload: { mode },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { mode });
}

async function setBulkheads(enabled: boolean) {
  const res = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/bulkheads',
    headers: admin,
    payload: { enabled },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().enabled, enabled);
}

function baseUrl(): string {
  return `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}/api/v1`;
}

/** Follows o-1's events to their end; the saga moves one step per read of the order. */
async function followToTheEnd(): Promise<string[]> {
  world.state.onGetOrder = (o, call) => {
    if (call === 3) o.timeline.push(step('reserve-stock'));
    if (call === 6) {
      o.timeline.push(step('authorize-payment'));
      o.status = orderV1.OrderStatus.ORDER_STATUS_CONFIRMED;
    }
  };
  const res = await fetch(`${baseUrl()}/orders/o-1/events`, {
    headers: { authorization: `Bearer ${tokenFor('alice')}` },
    signal: AbortSignal.timeout(5_000),
  });
  assert.equal(res.status, 200);
  return [...(await res.text()).matchAll(/^event: (\w+)$/gm)].map((m) => m[1] as string);
}

test('the order events poll GetOrder in polling mode and hold one WatchOrder stream in streaming mode', async () => {
  await setMode('polling');
  assert.deepEqual(await followToTheEnd(), ['status', 'step', 'step', 'status']);
  assert.equal(world.state.watchOrderCalls, 0);

  world.state.reset();
  world.state.orders.set('o-1', order('o-1', 'alice'));
  await setMode('streaming');
  assert.deepEqual(await followToTheEnd(), ['status', 'step', 'step', 'status']);
  assert.equal(world.state.watchOrderCalls, 1);
  const mode = await gw.app.inject({ url: '/api/v1/admin/order-events', headers: admin });
  assert.deepEqual(mode.json(), { mode: 'streaming' });
});

test('a client that goes away cancels the WatchOrder stream behind its events', async () => {
  const stop = new AbortController();
  const res = await fetch(`${baseUrl()}/orders/o-1/events`, {
    headers: { authorization: `Bearer ${tokenFor('alice')}` },
    signal: stop.signal,
  });
  const reader = res.body!.getReader();
  await reader.read();
  for (let i = 0; i < 100 && world.state.openWatches === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(world.state.openWatches, 1);
  stop.abort();
  for (let i = 0; i < 300 && world.state.openWatches > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(world.state.openWatches, 0);
});

test('switching the order events needs the admin token and a known mode', async () => {
  const anonymous = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/order-events',
    payload: { mode: 'polling' },
  });
  assert.equal(anonymous.statusCode, 401);
  const unknown = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/order-events',
    headers: admin,
    payload: { mode: 'carrier-pigeon' },
  });
  assert.equal(unknown.statusCode, 400);
  assert.equal(unknown.json().code, 'SHOP_VALIDATION_FAILED');
});

/** Two order pages at once while payment answers 300 ms late, and a checkout once both are in. */
async function floodAndCheckout() {
  world.services.payment.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'latency', ms: 300 } });
  // (An inject is sent when it is awaited: `then` sends it now.)
  const pages = [1, 2].map(() => gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice }).then((r) => r));
  // Both pages asked for their payment (before reading the order): one running, the other refused or running.
  const orderReads = () => world.state.seenUserIds.length;
  for (let i = 0; i < 200 && orderReads() < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(orderReads(), 2);
  const checkout = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/checkout',
    headers: { ...alice, 'idempotency-key': `bulkhead-${Date.now()}` },
    payload: { card },
  });
  return { pages: (await Promise.all(pages)).map((p) => ({ status: p.statusCode, body: p.json() })), checkout };
}

test('bulkheads on: a read beyond its compartment is refused and the page degrades, checkout has its own slot', async () => {
  const { pages, checkout } = await floodAndCheckout();
  assert.equal(checkout.statusCode, 202, checkout.body);
  assert.deepEqual(
    pages.map((p) => p.status),
    [200, 200],
  );
  assert.deepEqual(pages.map((p) => p.body.degraded ?? []).sort(), [[], ['payment']]);
  const metrics = (await gw.app.inject({ url: '/metrics' })).body;
  assert.match(metrics, /shop_gateway_bulkhead_rejected_total\{[^}]*path="reads"[^}]*compartment="reads"[^}]*\} [1-9]/);
});

test('bulkheads off: the slow reads take the shared pool and checkout is refused with 503 and Retry-After', async () => {
  await setBulkheads(false);
  const { pages, checkout } = await floodAndCheckout();
  assert.equal(checkout.statusCode, 503, checkout.body);
  assert.equal(checkout.json().code, 'SHOP_BULKHEAD_FULL');
  assert.equal(checkout.headers['retry-after'], '1');
  assert.deepEqual(
    pages.map((p) => p.body.degraded ?? []),
    [[], []],
  );
  const status = (await gw.app.inject({ url: '/api/v1/admin/bulkheads', headers: admin })).json();
  assert.equal(status.enabled, false);
  assert.deepEqual(
    status.compartments.map((c: { name: string; maxConcurrent: number }) => [c.name, c.maxConcurrent]),
    [
      ['reads', 1],
      ['checkout', 1],
      ['shared', 2],
    ],
  );
});

test('a compartment refuses only what it cannot take; a refusal from the downstream itself is not counted', async () => {
  const metrics = createMetrics('gateway-test');
  const bulkheads = new CallBulkheads(
    {
      enabled: true,
      limits: { reads: { maxConcurrent: 1, maxQueue: 1 }, checkout: { maxConcurrent: 1, maxQueue: 0 } },
    },
    metrics.registry,
  );
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const running = bulkheads.run('reads', () => held);
  let queuedStarted = false;
  const queued = bulkheads.run('reads', async () => {
    queuedStarted = true;
  });
  await assert.rejects(
    bulkheads.run('reads', async () => 'never'),
    (err: unknown) => {
      assert.ok(err instanceof ShopError);
      assert.equal(err.code, 'SHOP_BULKHEAD_FULL');
      assert.equal(err.details?.path, 'reads');
      return true;
    },
  );
  assert.equal(await bulkheads.run('checkout', async () => 'checked out'), 'checked out');
  assert.equal(queuedStarted, false);
  const shed = new ShopError('SHOP_BULKHEAD_FULL', 'order is busy', { retryAfterSeconds: 2 });
  await assert.rejects(
    bulkheads.run('checkout', async () => {
      throw shed;
    }),
    (err) => err === shed,
  );
  release();
  await Promise.all([running, queued]);
  assert.equal(queuedStarted, true);
  const page = await metrics.registry.metrics();
  assert.match(page, /shop_gateway_bulkhead_rejected_total\{path="reads",compartment="reads"[^}]*\} 1\n/);
  assert.doesNotMatch(page, /shop_gateway_bulkhead_rejected_total\{path="checkout"/);
});

test('the admin switch sets new limits; the shared pool is their sum', async () => {
  const limits = { reads: { maxConcurrent: 3, maxQueue: 1 }, checkout: { maxConcurrent: 5, maxQueue: 2 } };
  const res = await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/bulkheads',
    headers: admin,
    payload: { enabled: true, limits },
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(
    res
      .json()
      .compartments.map((c: { name: string; maxConcurrent: number; maxQueue: number }) => [
        c.name,
        c.maxConcurrent,
        c.maxQueue,
      ]),
    [
      ['reads', 3, 1],
      ['checkout', 5, 2],
      ['shared', 8, 3],
    ],
  );
  const one = { maxConcurrent: 1, maxQueue: 0 };
  await gw.app.inject({
    method: 'PUT',
    url: '/api/v1/admin/bulkheads',
    headers: admin,
    payload: { enabled: true, limits: { reads: one, checkout: one } },
  });
});
