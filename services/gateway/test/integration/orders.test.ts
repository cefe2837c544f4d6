import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { until } from '@shoplab/chassis/testing';
import { orderV1, paymentV1, shippingV1 } from '@shoplab/contracts';
import {
  bearer,
  deadAddress,
  type Gateway,
  order,
  paymentEventEntry,
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
  gw = await startGateway(world);
});

after(async () => {
  await gw.close();
  await world.close();
});

beforeEach(() => {
  world.state.reset();
  world.clearFaults();
  gw.registry.set('catalog', world.grpcAddresses.catalog!);
  gw.registry.set('payment', world.grpcAddresses.payment!);
  world.state.products.set('p1', product('p1', { name: 'Dune', category: 'books' }));
  world.state.orders.set(
    'o-1',
    order('o-1', 'alice', {
      status: orderV1.OrderStatus.ORDER_STATUS_CONFIRMED,
      paymentId: 'pay-1',
      timeline: [step('reserve-stock'), step('authorize-payment')],
    }),
  );
  world.state.orders.set('o-2', order('o-2', 'bob'));
  world.state.payments.set('o-1', {
    id: 'pay-1',
    orderId: 'o-1',
    status: paymentV1.PaymentStatus.PAYMENT_STATUS_CAPTURED,
    amount: usd(3998),
    captured: usd(3998),
    refunded: usd(0),
    cardLast4: '4242',
    declineReason: '',
    createdAt: '',
    updatedAt: '',
  });
});

test('the order list holds only the caller’s orders, asked for with the caller’s user id', async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders', headers: alice });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.deepEqual(
    body.items.map((o: { id: string }) => o.id),
    ['o-1'],
  );
  assert.equal(body.items[0].status, 'CONFIRMED');
  assert.deepEqual(body.items[0].total, usd(3998));
  assert.equal(body.nextCursor, null);
  assert.deepEqual(world.state.seenUserIds, ['alice']);
});

test('orders require a signed-in user', async () => {
  for (const url of ['/api/v1/orders', '/api/v1/orders/o-1', '/api/v1/orders/o-1/events', '/api/v1/me']) {
    const res = await gw.app.inject({ url });
    assert.equal(res.statusCode, 401, url);
    assert.equal(res.json().code, 'SHOP_UNAUTHENTICATED');
  }
});

test('an order is composed with its products, timeline and payment', async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice });
  assert.equal(res.statusCode, 200);
  const o = res.json();
  assert.equal(o.status, 'CONFIRMED');
  assert.deepEqual(o.lines[0].product, {
    name: 'Dune',
    imageUrl: 'https://img.example/p1.png',
    category: 'books',
  });
  assert.deepEqual(
    o.timeline.map((s: { step: string }) => s.step),
    ['reserve-stock', 'authorize-payment'],
  );
  assert.deepEqual(o.payment, {
    id: 'pay-1',
    status: 'CAPTURED',
    amount: usd(3998),
    captured: usd(3998),
    refunded: usd(0),
    cardLast4: '4242',
  });
  assert.equal(o.degraded, undefined);
});

test('payment events on the timeline reach the public API as kind event; an entry without a kind is a step', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  world.state.orders.set(
    'o-4',
    order('o-4', 'alice', {
      // Finished, so its event stream ends after what it has.
      status: orderV1.OrderStatus.ORDER_STATUS_CONFIRMED,
      timeline: [
        step('authorize_payment'),
        paymentEventEntry('shop.payment.authorized.v1', traceId),
        // What an order service older than the `kind` field sends.
        { ...step('commit_stock'), kind: '' },
      ],
    }),
  );
  const res = await gw.app.inject({ url: '/api/v1/orders/o-4', headers: alice });
  assert.equal(res.statusCode, 200);
  const { timeline } = res.json() as { timeline: { kind: string; step: string; outcome: string }[] };
  assert.deepEqual(
    timeline.map((s) => [s.kind, s.step, s.outcome]),
    [
      ['step', 'authorize_payment', 'SUCCEEDED'],
      ['event', 'shop.payment.authorized.v1', 'RECEIVED'],
      ['step', 'commit_stock', 'SUCCEEDED'],
    ],
  );
  assert.deepEqual(timeline[1], {
    kind: 'event',
    step: 'shop.payment.authorized.v1',
    attempt: 1,
    outcome: 'RECEIVED',
    error: null,
    traceId,
    startedAt: '2026-11-27T10:00:01.500Z',
    finishedAt: '2026-11-27T10:00:01.600Z',
    lamport: null,
    hlc: null,
  });

  const events = await gw.app.inject({ url: '/api/v1/orders/o-4/events', headers: alice });
  const received = parseSse(events.body).filter((m) => (m.data as { kind?: string }).kind === 'event');
  assert.deepEqual(
    received.map((m) => (m.data as { step: string }).step),
    ['shop.payment.authorized.v1'],
    'the stream carries it too',
  );
});

test('the timeline carries each entry’s logical clocks and sorts by wall time or, with ?sort=hlc, by HLC', async () => {
  // The payment service's clock 30 s behind: its event's time is before the step that caused it.
  world.state.orders.set(
    'o-5',
    order('o-5', 'alice', {
      status: orderV1.OrderStatus.ORDER_STATUS_CONFIRMED,
      timeline: [
        {
          ...paymentEventEntry('shop.payment.authorized.v1'),
          startedAt: '2026-11-27T09:59:31.500Z',
          lamport: 9,
          hlc: '001764237601000-000002',
        },
        { ...step('validate_user'), startedAt: '2026-11-27T10:00:00.000Z', lamport: 3, hlc: '001764237600000-000000' },
        { ...step('authorize_payment'), lamport: 7, hlc: '001764237601000-000000' },
      ],
    }),
  );
  const sorted = async (query: string) => {
    const res = await gw.app.inject({ url: `/api/v1/orders/o-5${query}`, headers: alice });
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { timeline: { step: string; lamport: number | null; hlc: string | null }[] }).timeline;
  };
  const byWall = await sorted('');
  assert.deepEqual(
    byWall.map((s) => [s.step, s.lamport, s.hlc]),
    [
      ['shop.payment.authorized.v1', 9, '001764237601000-000002'],
      ['validate_user', 3, '001764237600000-000000'],
      ['authorize_payment', 7, '001764237601000-000000'],
    ],
  );
  assert.deepEqual(await sorted('?sort=wall'), byWall);
  assert.deepEqual(
    (await sorted('?sort=hlc')).map((s) => s.step),
    ['validate_user', 'authorize_payment', 'shop.payment.authorized.v1'],
  );
  const bad = await gw.app.inject({ url: '/api/v1/orders/o-5?sort=lamport', headers: alice });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'SHOP_VALIDATION_FAILED');
});

test('a user cannot see another user’s order: 404', async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders/o-2', headers: alice });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'SHOP_NOT_FOUND');
  const own = await gw.app.inject({ url: '/api/v1/orders/o-2', headers: bearer('bob') });
  assert.equal(own.statusCode, 200);
});

test('an order without a payment yet has payment null and is not degraded', async () => {
  world.state.payments.delete('o-1');
  const o = (await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice })).json();
  assert.equal(o.payment, null);
  assert.equal(o.degraded, undefined);
});

test('with payment failing, the order is answered without its payment and marked degraded', async () => {
  world.services.payment.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'fail' } });
  const res = await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().payment, null);
  assert.deepEqual(res.json().degraded, ['payment']);
});

test('with payment slower than its deadline and the catalog stopped, both are marked degraded', async () => {
  world.services.payment.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'latency', ms: 1_500 } });
  gw.registry.set('catalog', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice });
  assert.equal(res.statusCode, 200);
  const o = res.json();
  assert.deepEqual(o.degraded, ['products', 'payment']);
  assert.equal(o.lines[0].product, null);
  assert.equal(o.lines[0].name, 'Product p1', 'the order line keeps the name it was bought under');
});

test('the order page shows the shipment beside the order, in shop terms', async () => {
  world.state.shipments.set('o-1', {
    id: 'shp-uuid-1',
    orderId: 'o-1',
    status: shippingV1.ShipmentStatus.SHIPMENT_STATUS_IN_TRANSIT,
    destinationCountry: 'US',
    weightGrams: 800,
    price: usd(649),
    trackingNumber: 'SHP-123456',
    backend: 'legacy',
    updatedAt: '2026-12-05T17:00:00.000Z',
  });
  const res = await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json().shipment, {
    id: 'shp-uuid-1',
    status: 'IN_TRANSIT',
    trackingNumber: 'SHP-123456',
    price: usd(649),
    updatedAt: '2026-12-05T17:00:00.000Z',
  });
  assert.equal(res.json().degraded, undefined);
});

test('an order not shipped yet has shipment null and is not degraded; with shipping failing it is marked degraded', async () => {
  const none = (await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice })).json();
  assert.equal(none.shipment, null);
  assert.equal(none.degraded, undefined);
  world.services.shipping.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'fail' } });
  const res = await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().shipment, null);
  assert.deepEqual(res.json().degraded, ['shipment']);
  assert.equal(res.json().payment.status, 'CAPTURED', 'the rest of the page is whole');
});

test('with the order service failing, the order is a 503 problem', async () => {
  world.services.order.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'fail' } });
  const res = await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
});

test('checkout is proxied with the Idempotency-Key and answered 202 with the gateway’s order URL', async () => {
  world.state.carts.set('alice', { lines: [{ productId: 'p1', quantity: 1, unitPrice: usd(1999) }], version: 1 });
  const send = () =>
    gw.app.inject({
      method: 'POST',
      url: '/api/v1/checkout',
      headers: { ...alice, 'idempotency-key': 'checkout-key-1' },
      payload: { card },
    });
  const res = await send();
  assert.equal(res.statusCode, 202);
  const body = res.json();
  assert.equal(body.status, 'PENDING');
  assert.equal(res.headers.location, `/api/v1/orders/${body.orderId}`);
  assert.deepEqual(body.links, {
    self: `/api/v1/orders/${body.orderId}`,
    events: `/api/v1/orders/${body.orderId}/events`,
  });
  assert.equal((await send()).json().orderId, body.orderId, 'the same key gives the same order');
});

test('checkout without an Idempotency-Key, or with a malformed one, is a 400 problem', async () => {
  const res = await gw.app.inject({ method: 'POST', url: '/api/v1/checkout', headers: alice, payload: { card } });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
  const short = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/checkout',
    headers: { ...alice, 'idempotency-key': 'k1' },
    payload: { card },
  });
  assert.equal(short.statusCode, 400);
});

test('a card the order service would refuse is refused here with its answer, and never sent on', async () => {
  world.state.carts.set('alice', { lines: [{ productId: 'p1', quantity: 1, unitPrice: usd(1999) }], version: 1 });
  const before = world.state.checkoutHeaders.length;
  const send = (badCard: typeof card) =>
    gw.app.inject({
      method: 'POST',
      url: '/api/v1/checkout',
      headers: { ...alice, 'idempotency-key': 'checkout-card-key' },
      payload: { card: badCard },
    });
  // What only the rule's code can see (the order service's validateCard answers the same).
  for (const [badCard, field] of [
    [{ ...card, number: '4242 4242 4242 4241' }, 'card.number'],
    [{ ...card, expMonth: 1, expYear: 2020 }, 'card.expYear'],
  ] as const) {
    const res = await send(badCard);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.equal(res.json().code, 'SHOP_INVALID_CARD');
    assert.equal(res.json().field, field);
    assert.doesNotMatch(res.body, /4241/, 'the number is never repeated');
  }
  // What the schema says (the order service's schema is the same one): 11 digits.
  const short = await send({ ...card, number: '4242 4242 420' });
  assert.equal(short.statusCode, 400);
  assert.equal(short.json().code, 'SHOP_VALIDATION_FAILED');
  assert.equal(world.state.checkoutHeaders.length, before, 'no refused card reached the order service');
  // Spaces and dashes are fine.
  assert.equal((await send({ ...card, number: '4242-4242 4242-4242' })).statusCode, 202);
});

test('the order service’s refusal of a checkout is passed through (409 SHOP_CART_EMPTY)', async () => {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/checkout',
    headers: { ...alice, 'idempotency-key': 'checkout-key-2' },
    payload: { card },
  });
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().code, 'SHOP_CART_EMPTY');
});

test('a checkout the order service sheds is a 503 problem with its Retry-After, and never opens the breaker', async () => {
  // A gateway whose breaker would open after 2 failed calls out of 2.
  const strict = await startGateway(world, {}, { breaker: { volumeThreshold: 2, errorThresholdPercentage: 50 } });
  try {
    world.state.carts.set('alice', { lines: [{ productId: 'p1', quantity: 1, unitPrice: usd(1999) }], version: 1 });
    world.state.shedCheckoutsFor = 3;
    const send = (key: string) =>
      strict.app.inject({
        method: 'POST',
        url: '/api/v1/checkout',
        headers: { ...alice, 'idempotency-key': key },
        payload: { card },
      });
    for (let i = 0; i < 5; i++) {
      const res = await send('shed-key-1');
      assert.equal(res.statusCode, 503);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.equal(res.json().code, 'SHOP_BULKHEAD_FULL');
      assert.equal(res.headers['retry-after'], '3');
    }
    world.state.shedCheckoutsFor = undefined;
    const accepted = await send('shed-key-1');
    assert.equal(accepted.statusCode, 202, 'the breaker stayed closed: the retry reaches the order service');
    assert.equal(world.state.checkoutHeaders.length, 6);
  } finally {
    await strict.close();
  }
});

test('beyond CHECKOUT_MAX_IN_FLIGHT the gateway refuses a checkout itself: 503 with Retry-After, order never sees it', async () => {
  const narrow = await startGateway(world, { CHECKOUT_MAX_IN_FLIGHT: '1', ORDER_DEADLINE_MS: '5000' });
  try {
    world.state.carts.set('alice', { lines: [{ productId: 'p1', quantity: 1, unitPrice: usd(1999) }], version: 1 });
    let open!: () => void;
    world.state.checkoutGate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const send = (key: string) =>
      narrow.app.inject({
        method: 'POST',
        url: '/api/v1/checkout',
        headers: { ...alice, 'idempotency-key': key },
        payload: { card },
      });
    const first = send('in-flight-key-1');
    await until('the first checkout to reach the order service', () => world.state.checkoutHeaders.length > 0, {
      intervalMs: 5,
    });
    const second = await send('in-flight-key-2');
    assert.equal(second.statusCode, 503);
    assert.equal(second.json().code, 'SHOP_BULKHEAD_FULL');
    assert.equal(second.headers['retry-after'], '1');
    assert.equal(world.state.checkoutHeaders.length, 1, 'the order service saw only the first');
    open();
    assert.equal((await first).statusCode, 202);
    assert.equal((await send('in-flight-key-2')).statusCode, 202, 'room again once the first is answered');
  } finally {
    await narrow.close();
  }
});

test('a checkout tells the order service how long the gateway will wait for it', async () => {
  world.state.carts.set('alice', { lines: [{ productId: 'p1', quantity: 1, unitPrice: usd(1999) }], version: 1 });
  const before = Date.now();
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/checkout',
    headers: { ...alice, 'idempotency-key': 'deadline-key-1' },
    payload: { card },
  });
  assert.equal(res.statusCode, 202);
  const [headers] = world.state.checkoutHeaders;
  const timeout = Number(headers?.['x-request-timeout-ms']);
  const deadline = Number(headers?.['x-request-deadline']);
  // ORDER_DEADLINE_MS is 400 in these tests.
  assert.ok(timeout > 0 && timeout <= 400, `x-request-timeout-ms ${timeout}`);
  assert.ok(deadline >= before + timeout && deadline <= Date.now() + 400, `x-request-deadline ${deadline}`);
});

interface SseMessage {
  id?: string;
  event?: string;
  data?: unknown;
}

function parseSse(text: string): SseMessage[] {
  return text
    .split('\n\n')
    .filter((block) => block.split('\n').some((line) => line.startsWith('event:')))
    .map((block) => {
      const msg: SseMessage = {};
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') msg.id = value;
        if (field === 'event') msg.event = value;
        if (field === 'data') msg.data = JSON.parse(value);
      }
      return msg;
    });
}

test('order events stream the saga’s steps and status, and end once the order is confirmed', async () => {
  world.state.orders.set('o-3', order('o-3', 'alice'));
  // Each poll moves the saga on: a step per poll, confirmed on the fourth.
  world.state.onGetOrder = (o, call) => {
    if (call === 2) o.timeline.push(step('reserve-stock'));
    if (call === 3) o.timeline.push(step('authorize-payment'));
    if (call === 4) {
      o.timeline.push(step('capture-payment'));
      o.status = orderV1.OrderStatus.ORDER_STATUS_CONFIRMED;
    }
  };
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = gw.app.server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/orders/o-3/events`, {
    headers: { authorization: `Bearer ${tokenFor('alice')}` },
    signal: AbortSignal.timeout(5_000),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const messages = parseSse(await res.text()); // resolves only because the stream ends

  assert.deepEqual(
    messages.map((m) => m.event),
    ['status', 'step', 'step', 'step', 'status'],
  );
  assert.deepEqual(
    messages.map((m) => m.id),
    ['1', '2', '3', '4', '5'],
  );
  assert.deepEqual(messages[0]?.data, { orderId: 'o-3', status: 'PENDING', cancelReason: null });
  assert.equal((messages[1]!.data as { step: string }).step, 'reserve-stock');
  assert.deepEqual(messages[4]?.data, { orderId: 'o-3', status: 'CONFIRMED', cancelReason: null });
});

test('order events of another user’s order are a 404 problem, not a stream', async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders/o-2/events', headers: alice });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'SHOP_NOT_FOUND');
});

test('order events of a finished order end at once after its status and steps', async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders/o-1/events', headers: alice });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(
    parseSse(res.body).map((m) => m.event),
    ['status', 'step', 'step'],
  );
});

test('closing the gateway ends the order event streams still open', async () => {
  const own = await startGateway(world, { ORDER_EVENTS_HEARTBEAT_MS: '10' });
  await own.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = own.app.server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/orders/o-2/events`, {
    headers: { authorization: `Bearer ${tokenFor('bob')}` },
    signal: AbortSignal.timeout(5_000),
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  while (!seen.includes(': heartbeat')) seen += decoder.decode((await reader.read()).value);
  assert.match(seen, /event: status/);

  await own.close();
  while (!(await reader.read()).done) {}
});
