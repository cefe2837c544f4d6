import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { orderV1 } from '@shoplab/contracts';
import {
  bearer,
  deadAddress,
  type Gateway,
  order,
  startGateway,
  startWorld,
  usd,
  type World,
} from '../support/harness';

let world: World;
let gw: Gateway;
const alice = bearer('alice');

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
  gw.registry.set('order', world.grpcAddresses.order!);
  world.state.users.set('alice', {
    id: 'alice',
    email: 'alice@example.com',
    name: 'Alice',
    addresses: [
      {
        id: 'a1',
        line1: '1 Main St',
        line2: '',
        city: 'Springfield',
        postalCode: '12345',
        country: 'US',
        isDefault: true,
      },
    ],
    createdAt: '2026-11-01T00:00:00.000Z',
  });
  for (let i = 1; i <= 7; i++) world.state.orders.set(`o-${i}`, order(`o-${i}`, 'alice'));
  world.state.orders.set('o-bob', order('o-bob', 'bob', { status: orderV1.OrderStatus.ORDER_STATUS_CANCELLED }));
  world.state.carts.set('alice', { lines: [{ productId: 'p1', quantity: 3, unitPrice: usd(100) }], version: 7 });
});

test('/me composes the profile, the last five orders and the cart summary', async () => {
  const res = await gw.app.inject({ url: '/api/v1/me', headers: alice });
  assert.equal(res.statusCode, 200);
  const me = res.json();
  assert.equal(me.user.name, 'Alice');
  assert.deepEqual(me.user.addresses[0], {
    id: 'a1',
    line1: '1 Main St',
    line2: null,
    city: 'Springfield',
    postalCode: '12345',
    country: 'US',
    isDefault: true,
  });
  assert.equal(me.recentOrders.length, 5);
  assert.deepEqual(me.recentOrders[0], {
    id: 'o-1',
    status: 'PENDING',
    total: usd(3998),
    itemCount: 2,
    createdAt: '2026-11-27T10:00:00.000Z',
  });
  assert.deepEqual(me.cart, { itemCount: 3, version: 7 });
  assert.equal(me.degraded, undefined);
  assert.ok(
    world.state.seenUserIds.every((id) => id === 'alice'),
    'every downstream was asked about the caller only',
  );
});

test('with the order service stopped, /me has no recent orders and is marked degraded', async () => {
  gw.registry.set('order', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/me', headers: alice });
  assert.equal(res.statusCode, 200);
  const me = res.json();
  assert.equal(me.recentOrders, null);
  assert.deepEqual(me.cart, { itemCount: 3, version: 7 });
  assert.deepEqual(me.degraded, ['orders']);
});

test('with the cart service failing, /me has no cart summary and is marked degraded', async () => {
  world.services.cart.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'fail' } });
  const me = (await gw.app.inject({ url: '/api/v1/me', headers: alice })).json();
  assert.equal(me.cart, null);
  assert.deepEqual(me.degraded, ['cart']);
});

test('with the user service failing, /me is a 503 problem: the profile is the essence', async () => {
  world.services.user.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'fail' } });
  const res = await gw.app.inject({ url: '/api/v1/me', headers: alice });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
});

test('with the user service slower than its deadline, /me is a 504 problem', async () => {
  world.services.user.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'latency', ms: 1_500 } });
  const res = await gw.app.inject({ url: '/api/v1/me', headers: alice });
  assert.equal(res.statusCode, 504);
  assert.equal(res.json().code, 'SHOP_TIMEOUT');
});
