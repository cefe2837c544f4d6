import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { deadAddress, type Gateway, product, startGateway, startWorld, type World } from '../support/harness';

let world: World;
let gw: Gateway;

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
  world.state.products.set('p1', product('p1', { category: 'books', name: 'Dune' }));
  world.state.products.set('p2', product('p2', { category: 'books', name: 'Emma' }));
  world.state.products.set('p3', product('p3', { category: 'games', name: 'Go board' }));
});

test('products are listed in pages with a cursor, and nextCursor is null on the last page', async () => {
  const first = await gw.app.inject({ url: '/api/v1/products?limit=2' });
  assert.equal(first.statusCode, 200);
  const page1 = first.json();
  assert.deepEqual(
    page1.items.map((p: { id: string }) => p.id),
    ['p1', 'p2'],
  );
  assert.deepEqual(page1.items[0].price, { amount: 1999, currency: 'USD' });
  assert.equal(typeof page1.nextCursor, 'string');

  const second = (await gw.app.inject({ url: `/api/v1/products?limit=2&cursor=${page1.nextCursor}` })).json();
  assert.deepEqual(
    second.items.map((p: { id: string }) => p.id),
    ['p3'],
  );
  assert.equal(second.nextCursor, null);
});

test('products are filtered by category and text', async () => {
  const res = (await gw.app.inject({ url: '/api/v1/products?category=books&q=Em' })).json();
  assert.deepEqual(
    res.items.map((p: { name: string }) => p.name),
    ['Emma'],
  );
});

test('a limit out of range is a 400 problem', async () => {
  const res = await gw.app.inject({ url: '/api/v1/products?limit=1000' });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().code, 'SHOP_VALIDATION_FAILED');
});

test('a product is answered with its live stock and no degraded marker', async () => {
  const res = await gw.app.inject({ url: '/api/v1/products/p1' });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.name, 'Dune');
  assert.equal(body.available, 10);
  assert.equal(body.degraded, undefined);
});

test('an unknown product is a 404 problem', async () => {
  const res = await gw.app.inject({ url: '/api/v1/products/nope' });
  assert.equal(res.statusCode, 404);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
  assert.equal(res.json().code, 'SHOP_NOT_FOUND');
});

test('with the catalog stopped, a product seen recently is served from the cache without stock', async () => {
  assert.equal((await gw.app.inject({ url: '/api/v1/products/p2' })).statusCode, 200);
  gw.registry.set('catalog', [await deadAddress()]);

  const res = await gw.app.inject({ url: '/api/v1/products/p2' });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.name, 'Emma');
  assert.equal(body.available, null);
  assert.deepEqual(body.degraded, ['stock']);
});

test('with the catalog slower than its deadline, a cached product is served degraded', async () => {
  assert.equal((await gw.app.inject({ url: '/api/v1/products/p1' })).statusCode, 200);
  world.services.catalog.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'latency', ms: 1_500 } });

  const started = Date.now();
  const res = await gw.app.inject({ url: '/api/v1/products/p1' });
  assert.ok(Date.now() - started < 1_400, 'answered within the deadline, not after the slow call');
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json().degraded, ['stock']);
});

test('with the catalog failing and the product never seen, the answer is 503', async () => {
  world.state.products.set('p9', product('p9'));
  world.services.catalog.chaos.add({ kind: 'grpc', target: '*', fault: { type: 'fail' } });
  const res = await gw.app.inject({ url: '/api/v1/products/p9' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
});

test('with the catalog stopped, the product list is a 503 problem', async () => {
  gw.registry.set('catalog', [await deadAddress()]);
  const res = await gw.app.inject({ url: '/api/v1/products' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');
});
