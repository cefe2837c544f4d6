// The order history through the gateway, against a fake read side (a real HTTP app with the
// history service's routes, answering from memory) and the fake order service: the search
// with the caller's user id, the lag and freshness contract, 400 passed on, 503 when the
// history is down while the order page is unaffected, and the admin search.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import {
  createHttpApp,
  createLogger,
  createMetrics,
  FaultInjector,
  type HttpApp,
  requireAdminToken,
  ShopError,
} from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import { isBehind } from '../../src/application/history';
import {
  ADMIN_TOKEN,
  admin,
  bearer,
  deadAddress,
  type Gateway,
  order,
  product,
  startGateway,
  startWorld,
  usd,
  type World,
} from '../support/harness';

let world: World;
let gw: Gateway;
let history: HttpApp;
let historyAddress: string;
const alice = bearer('alice');

/** What the fake read side holds and answers. */
const read = {
  docs: new Map<string, Record<string, unknown>>(),
  lag: { events: 0, seconds: 0 as number | null },
  searches: [] as Record<string, string>[],
  lagDown: false,
};

function doc(orderId: string, userId: string, status: string, version: number) {
  return {
    orderId,
    userId,
    status,
    items: [{ productId: 'p1', name: 'Dune', quantity: 2, unitPrice: usd(1999), lineTotal: usd(3998) }],
    total: usd(3998),
    payment: null,
    outcome: status === 'CONFIRMED' ? { result: 'confirmed', reason: null } : null,
    timings: { createdAt: '2026-11-27T10:00:00.000Z', endedAt: null, durationMs: null },
    version,
    lastEventAt: '2026-11-27T10:00:01.000Z',
  };
}

before(async () => {
  world = await startWorld();
  gw = await startGateway(world);
  const logger = createLogger({ service: 'fake-history', level: 'silent' });
  const metrics = createMetrics('fake-history');
  history = await createHttpApp({
    service: 'history',
    version: '0.0.0',
    logger,
    metrics,
    chaos: new FaultInjector(metrics),
    adminToken: ADMIN_TOKEN,
  });
  history.get('/v1/history/orders', async (request) => {
    const query = request.query as Record<string, string>;
    read.searches.push({ ...query });
    if (query.from && query.to && query.from > query.to) {
      throw new ShopError('SHOP_VALIDATION_FAILED', '`from` is after `to`');
    }
    const orders = [...read.docs.values()].filter(
      (d) => (!query.userId || d.userId === query.userId) && (!query.status || d.status === query.status),
    );
    return { orders, nextCursor: null };
  });
  history.get('/v1/history/orders/:id', async (request) => {
    const { id } = request.params as { id: string };
    const found = read.docs.get(id);
    if (!found) throw new ShopError('SHOP_NOT_FOUND', `No order ${id} in the history (yet)`);
    return found;
  });
  history.get('/v1/history/lag', { preHandler: requireAdminToken(ADMIN_TOKEN) }, async () => {
    if (read.lagDown) throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'lag unreadable');
    return {
      topics: [
        {
          topic: 'order.events',
          groupId: 'g',
          events: read.lag.events,
          seconds: read.lag.seconds,
          eventsApplied: 5,
          lastEventAt: null,
        },
        { topic: 'payment.events', groupId: 'g', events: 0, seconds: 0, eventsApplied: 3, lastEventAt: null },
      ],
    };
  });
  await history.listen({ host: '127.0.0.1', port: 0 });
  historyAddress = `127.0.0.1:${(history.server.address() as AddressInfo).port}`;
});

after(async () => {
  await gw.close();
  await history.close();
  await world.close();
});

beforeEach(() => {
  world.state.reset();
  world.clearFaults();
  gw.httpRegistry.set('history', [historyAddress]);
  gw.registry.set('order', world.grpcAddresses.order!);
  read.docs.clear();
  read.lag = { events: 0, seconds: 0 };
  read.searches = [];
  read.lagDown = false;
  world.state.products.set('p1', product('p1', { name: 'Dune' }));
  world.state.orders.set('o-1', order('o-1', 'alice', { status: orderV1.OrderStatus.ORDER_STATUS_CONFIRMED }));
  read.docs.set('o-1', doc('o-1', 'alice', 'CONFIRMED', 4));
  read.docs.set('o-9', doc('o-9', 'bob', 'CANCELLED', 3));
});

test('the caller’s history is searched with their own user id and the filters; caught up, it is current', async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders/history?status=CONFIRMED&q=dune&limit=5', headers: alice });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.deepEqual(
    body.orders.map((d: { orderId: string; version: number }) => [d.orderId, d.version]),
    [['o-1', 4]],
  );
  assert.deepEqual(body.orders[0].items[0], {
    productId: 'p1',
    name: 'Dune',
    quantity: 2,
    unitPrice: usd(1999),
    lineTotal: usd(3998),
  });
  assert.deepEqual(read.searches, [{ userId: 'alice', status: 'CONFIRMED', q: 'dune', limit: '5' }]);
  assert.equal(body.freshness, 'current');
  assert.equal(body.behind, null);
  assert.deepEqual(body.lag, {
    events: 0,
    seconds: 0,
    topics: [
      { topic: 'order.events', events: 0, seconds: 0 },
      { topic: 'payment.events', events: 0, seconds: 0 },
    ],
  });
  assert.equal(body.degraded, undefined);
});

test('a userId in the query cannot widen the caller’s history to another user', async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders/history?userId=bob', headers: alice });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(
    res.json().orders.map((d: { orderId: string }) => d.orderId),
    ['o-1'],
  );
  assert.equal(read.searches[0]?.userId, 'alice');
});

test('the newest order not yet in the history: being updated, named with the lag', async () => {
  world.state.orders.delete('o-1');
  world.state.orders.set('o-2', order('o-2', 'alice', { status: orderV1.OrderStatus.ORDER_STATUS_PENDING }));
  world.state.orders.set('o-1', order('o-1', 'alice', { status: orderV1.OrderStatus.ORDER_STATUS_CONFIRMED }));
  read.lag = { events: 3, seconds: 2.5 };
  const res = await gw.app.inject({ url: '/api/v1/orders/history', headers: alice });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.freshness, 'being updated');
  assert.deepEqual(body.behind, { orderId: 'o-2', status: 'PENDING', historyStatus: null, historyVersion: null });
  assert.equal(body.lag.events, 3);
  assert.equal(body.lag.seconds, 2.5);
});

test('the newest order in the history with an older status: being updated; outside the filtered page it is still looked up', async () => {
  read.docs.set('o-1', doc('o-1', 'alice', 'PENDING', 1));
  const res = await gw.app.inject({ url: '/api/v1/orders/history?status=CANCELLED', headers: alice });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.deepEqual(body.orders, []);
  assert.equal(body.freshness, 'being updated');
  assert.deepEqual(body.behind, { orderId: 'o-1', status: 'CONFIRMED', historyStatus: 'PENDING', historyVersion: 1 });
});

test('a shopper without orders has a current, empty history', async () => {
  const res = await gw.app.inject({ url: '/api/v1/orders/history', headers: bearer('carol') });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().orders, []);
  assert.equal(res.json().freshness, 'current');
});

test('the order service down: the history is still answered, its freshness unknown', async () => {
  gw.registry.set('order', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/orders/history', headers: alice });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().freshness, 'unknown');
  assert.deepEqual(res.json().degraded, ['orders']);
  assert.equal(res.json().orders.length, 1);
});

test('the lag unreadable: the answer has no lag and says so', async () => {
  read.lagDown = true;
  const res = await gw.app.inject({ url: '/api/v1/orders/history', headers: alice });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().lag, null);
  assert.deepEqual(res.json().degraded, ['lag']);
});

test('the history down: 503 problem+json, and the order page still reads the order service', async () => {
  gw.httpRegistry.set('history', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/orders/history', headers: alice });
  assert.equal(res.statusCode, 503, res.body);
  assert.match(String(res.headers['content-type']), /application\/problem\+json/);
  assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
  const page = await gw.app.inject({ url: '/api/v1/orders/o-1', headers: alice });
  assert.equal(page.statusCode, 200, page.body);
  assert.equal(page.json().status, 'CONFIRMED');
});

test('bad filters are 400 at the gateway; the read side’s own refusal is passed on as 400', async () => {
  for (const query of ['status=SHIPPED', 'limit=0', 'minAmount=-1', 'from=yesterday', 'q=%20']) {
    const res = await gw.app.inject({ url: `/api/v1/orders/history?${query}`, headers: alice });
    assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
  }
  assert.equal(read.searches.length, 0);
  const res = await gw.app.inject({
    url: '/api/v1/orders/history?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z',
    headers: alice,
  });
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
});

test('the history requires a signed-in user; the admin search requires the admin token', async () => {
  assert.equal((await gw.app.inject({ url: '/api/v1/orders/history' })).statusCode, 401);
  const shopper = await gw.app.inject({ url: '/api/v1/admin/orders/search', headers: alice });
  assert.equal(shopper.statusCode, 403, shopper.body);
});

test('the admin search spans every user, filters by user id, and is being updated while events wait', async () => {
  const all = await gw.app.inject({ url: '/api/v1/admin/orders/search', headers: admin });
  assert.equal(all.statusCode, 200, all.body);
  assert.deepEqual(
    all
      .json()
      .orders.map((d: { orderId: string }) => d.orderId)
      .sort(),
    ['o-1', 'o-9'],
  );
  assert.equal(all.json().freshness, 'current');
  read.lag = { events: 7, seconds: 1 };
  const bobs = await gw.app.inject({ url: '/api/v1/admin/orders/search?userId=bob', headers: admin });
  assert.deepEqual(
    bobs.json().orders.map((d: { orderId: string }) => d.orderId),
    ['o-9'],
  );
  assert.equal(bobs.json().freshness, 'being updated');
  assert.equal(bobs.json().behind, null);
});

test('isBehind: missing or an older status is behind; a PENDING order whose document already ended is not', () => {
  assert.equal(isBehind('PENDING', null), true);
  assert.equal(isBehind('PENDING', { status: null }), true);
  assert.equal(isBehind('CONFIRMED', { status: 'PENDING' }), true);
  assert.equal(isBehind('CANCELLED', { status: 'CANCELLED' }), false);
  assert.equal(isBehind('PENDING', { status: 'CONFIRMED' }), false);
  assert.equal(isBehind('PENDING', { status: 'PENDING' }), false);
});
