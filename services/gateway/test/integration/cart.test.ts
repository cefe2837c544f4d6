import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import {
  bearer,
  deadAddress,
  type Gateway,
  product,
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
  gw.registry.set('catalog', world.grpcAddresses.catalog!);
  gw.httpRegistry.set('cart', world.httpAddresses.cart!);
  world.state.products.set('p1', product('p1', { name: 'Dune', price: usd(1000), available: 3 }));
  world.state.products.set('p2', product('p2', { name: 'Emma', price: usd(250), available: 0 }));
  // Alice put p1 in her cart at 9.00; it costs 10.00 now.
  world.state.carts.set('alice', {
    lines: [
      { productId: 'p1', quantity: 2, unitPrice: usd(900) },
      { productId: 'p2', quantity: 1, unitPrice: usd(250) },
    ],
    version: 4,
  });
});

test('the cart requires a signed-in user (401 problem)', async () => {
  const res = await gw.app.inject({ url: '/api/v1/cart' });
  assert.equal(res.statusCode, 401);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(res.json().code, 'SHOP_UNAUTHENTICATED');

  const forged = await gw.app.inject({ url: '/api/v1/cart', headers: { authorization: 'Bearer not-a-jwt' } });
  assert.equal(forged.statusCode, 401);
});

test('the cart is composed with current names, prices and stock, and totals at current prices', async () => {
  const res = await gw.app.inject({ url: '/api/v1/cart', headers: alice });
  assert.equal(res.statusCode, 200);
  const cart = res.json();
  assert.deepEqual(cart.lines[0], {
    productId: 'p1',
    name: 'Dune',
    quantity: 2,
    unitPrice: usd(900),
    currentPrice: usd(1000),
    available: 3,
    lineTotal: usd(2000),
  });
  assert.equal(cart.lines[1].available, 0);
  assert.deepEqual(cart.total, usd(2250));
  assert.equal(cart.itemCount, 3);
  assert.equal(cart.version, 4);
  assert.equal(cart.degraded, undefined);
});

test('with the catalog failing, the cart keeps its stored prices and is marked degraded', async () => {
  world.services.catalog.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'fail' } });
  const res = await gw.app.inject({ url: '/api/v1/cart', headers: alice });
  assert.equal(res.statusCode, 200);
  const cart = res.json();
  assert.deepEqual(cart.degraded, ['catalog']);
  assert.deepEqual(cart.lines[0], {
    productId: 'p1',
    name: null,
    quantity: 2,
    unitPrice: usd(900),
    currentPrice: null,
    available: null,
    lineTotal: usd(1800),
  });
  assert.deepEqual(cart.total, usd(2050));
});

test('with the catalog stopped, the cart is degraded rather than failed', async () => {
  gw.registry.set('catalog', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/cart', headers: alice });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json().degraded, ['catalog']);
});

test('adding an item is proxied to the cart service and answered with the composed cart (201)', async () => {
  const bob = bearer('bob');
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/cart/items',
    headers: bob,
    payload: { productId: 'p1', quantity: 2 },
  });
  assert.equal(res.statusCode, 201);
  const cart = res.json();
  assert.equal(cart.lines[0].name, 'Dune');
  assert.deepEqual(cart.total, usd(2000));
  assert.equal(world.state.carts.get('bob')?.lines[0]?.quantity, 2, 'the cart service stored it for bob');
});

test('changing and removing lines answer with the updated composed cart', async () => {
  const patched = await gw.app.inject({
    method: 'PATCH',
    url: '/api/v1/cart/items/p1',
    headers: alice,
    payload: { quantity: 5 },
  });
  assert.equal(patched.statusCode, 200);
  assert.equal(patched.json().lines[0].quantity, 5);
  assert.equal(patched.json().version, 5);

  const removed = await gw.app.inject({ method: 'DELETE', url: '/api/v1/cart/items/p2', headers: alice });
  assert.equal(removed.statusCode, 200);
  assert.deepEqual(
    removed.json().lines.map((l: { productId: string }) => l.productId),
    ['p1'],
  );
  assert.equal(removed.json().version, 6);
});

test("the cart service's problem is passed through with its status and code", async () => {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/cart/items',
    headers: alice,
    payload: { productId: 'ghost', quantity: 1 },
  });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'SHOP_NOT_FOUND');
  assert.match(res.json().detail, /ghost/);
});

test('an invalid quantity is refused by the gateway with a 400 problem', async () => {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v1/cart/items',
    headers: alice,
    payload: { productId: 'p1', quantity: 0 },
  });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
});

test('with the cart service stopped, the cart is a 503 problem', async () => {
  gw.httpRegistry.set('cart', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/cart', headers: alice });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
});

test('with the cart service slower than its deadline, the cart is a 504 problem', async () => {
  world.services.cart.chaos.add({ kind: 'http', target: '*', fault: { type: 'latency', ms: 1_500 } });
  const res = await gw.app.inject({ url: '/api/v1/cart', headers: alice });
  assert.equal(res.statusCode, 504);
  assert.equal(res.json().code, 'SHOP_TIMEOUT');
});
