import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { maxStaleMs } from '../../src/api/http/http-cache';
import { admin, deadAddress, type Gateway, product, startGateway, startWorld, type World } from '../support/harness';

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

// HTTP caching of the catalogue (docs/patterns/caching.md): ETag, 304, Cache-Control, the
// counters, and `Cache-Control: max-stale` served from the gateway's memory.

/** The value of one sample of a counter on the gateway's /metrics page (0 when absent). */
async function counter(name: string, route: string): Promise<number> {
  const page = await gw.kit.metrics.registry.getSingleMetricAsString(name);
  const line = page.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`route="${route}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const PAGE_ROUTE = '/api/v1/products/:id';

test('a product page has a strong ETag and Cache-Control; the same ETag back is a 304 with no body', async () => {
  world.state.products.set('c1', product('c1', { name: 'Cached' }));
  const first = await gw.app.inject({ url: '/api/v1/products/c1' });
  assert.equal(first.statusCode, 200);
  const etag = first.headers.etag as string;
  assert.match(etag, /^"[^"]+"$/, 'a strong validator (no W/)');
  assert.equal(first.headers['cache-control'], 'public, max-age=5, stale-while-revalidate=30');
  assert.equal(first.headers.age, undefined, 'live from the catalog');

  const [conditionalBefore, notModifiedBefore, savedBefore] = await Promise.all([
    counter('shop_http_conditional_requests_total', PAGE_ROUTE),
    counter('shop_http_not_modified_total', PAGE_ROUTE),
    counter('shop_http_cache_bytes_saved_total', PAGE_ROUTE),
  ]);
  const again = await gw.app.inject({ url: '/api/v1/products/c1', headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
  assert.equal(again.headers.etag, etag);
  assert.equal(again.headers['cache-control'], 'public, max-age=5, stale-while-revalidate=30');

  assert.equal(await counter('shop_http_conditional_requests_total', PAGE_ROUTE), conditionalBefore + 1);
  assert.equal(await counter('shop_http_not_modified_total', PAGE_ROUTE), notModifiedBefore + 1);
  assert.equal(
    await counter('shop_http_cache_bytes_saved_total', PAGE_ROUTE),
    savedBefore + Buffer.byteLength(first.body),
    'the 200 body the 304 did not send',
  );
});

test('the ETag changes when the product changes, and the old one then gets the whole answer', async () => {
  world.state.products.set('c2', product('c2', { available: 7 }));
  const first = await gw.app.inject({ url: '/api/v1/products/c2' });
  const etag = first.headers.etag as string;

  world.state.products.set('c2', product('c2', { available: 6 }));
  const conditionalBefore = await counter('shop_http_conditional_requests_total', PAGE_ROUTE);
  const notModifiedBefore = await counter('shop_http_not_modified_total', PAGE_ROUTE);
  const changed = await gw.app.inject({ url: '/api/v1/products/c2', headers: { 'if-none-match': etag } });
  assert.equal(changed.statusCode, 200);
  assert.equal(changed.json().available, 6);
  assert.notEqual(changed.headers.etag, etag);
  assert.equal(await counter('shop_http_conditional_requests_total', PAGE_ROUTE), conditionalBefore + 1);
  assert.equal(await counter('shop_http_not_modified_total', PAGE_ROUTE), notModifiedBefore, 'a miss is no 304');
});

test('the product list is cacheable the same way', async () => {
  world.state.products.set('c3', product('c3', { category: 'maps' }));
  const first = await gw.app.inject({ url: '/api/v1/products?category=maps' });
  assert.equal(first.statusCode, 200);
  assert.equal(first.headers['cache-control'], 'public, max-age=5, stale-while-revalidate=30');
  const again = await gw.app.inject({
    url: '/api/v1/products?category=maps',
    headers: { 'if-none-match': first.headers.etag as string },
  });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');

  world.state.products.set('c4', product('c4', { category: 'maps' }));
  const grown = await gw.app.inject({
    url: '/api/v1/products?category=maps',
    headers: { 'if-none-match': first.headers.etag as string },
  });
  assert.equal(grown.statusCode, 200);
  assert.equal(grown.json().items.length, 2);
});

test('errors are not to be stored', async () => {
  const res = await gw.app.inject({ url: '/api/v1/products/none' });
  assert.equal(res.statusCode, 404);
  assert.equal(res.headers['cache-control'], 'no-store');
});

test('while the catalog is down, the cached page is degraded, says how old it is, and is not to be stored', async () => {
  world.state.products.set('c5', product('c5', { name: 'Remembered' }));
  const live = await gw.app.inject({ url: '/api/v1/products/c5' });
  gw.registry.set('catalog', [await deadAddress()]);

  const res = await gw.app.inject({
    url: '/api/v1/products/c5',
    headers: { 'if-none-match': live.headers.etag as string },
  });
  assert.equal(res.statusCode, 200, 'not a 304: the answer is not the one the ETag names');
  assert.equal(res.json().name, 'Remembered');
  assert.equal(res.json().available, null);
  assert.deepEqual(res.json().degraded, ['stock']);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.match(String(res.headers.age), /^\d+$/);
});

test('Cache-Control: max-stale is answered from the gateway’s memory, stale stock included; a live read sees the change', async () => {
  world.state.products.set('c6', product('c6', { available: 9 }));
  assert.equal((await gw.app.inject({ url: '/api/v1/products/c6' })).json().available, 9);
  world.state.products.set('c6', product('c6', { available: 4 }));

  const cached = await gw.app.inject({ url: '/api/v1/products/c6', headers: { 'cache-control': 'max-stale' } });
  assert.equal(cached.statusCode, 200);
  assert.equal(cached.json().available, 9, 'as remembered, not as the catalog has it now');
  assert.equal(cached.json().degraded, undefined);
  assert.equal(cached.headers['cache-control'], 'no-store');
  assert.match(String(cached.headers.age), /^\d+$/);

  const live = await gw.app.inject({ url: '/api/v1/products/c6' });
  assert.equal(live.json().available, 4);
  assert.equal(live.headers.age, undefined);
});

test('max-stale for a product the gateway does not remember reads it live', async () => {
  world.state.products.set('c7', product('c7', { available: 3 }));
  const res = await gw.app.inject({ url: '/api/v1/products/c7', headers: { 'cache-control': 'max-stale=60' } });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().available, 3);
  assert.equal(res.headers.age, undefined);
});

test('max-stale=0 accepts only what the catalog said this very second', async () => {
  world.state.products.set('c8', product('c8', { available: 2 }));
  await gw.app.inject({ url: '/api/v1/products/c8' });
  world.state.products.set('c8', product('c8', { available: 1 }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const res = await gw.app.inject({ url: '/api/v1/products/c8', headers: { 'cache-control': 'max-stale=0' } });
  assert.equal(res.json().available, 1);
});

test('the max-stale directive is read as a cache reads it', () => {
  assert.equal(maxStaleMs(undefined), undefined);
  assert.equal(maxStaleMs('no-cache'), undefined);
  assert.equal(maxStaleMs('max-stale'), Number.POSITIVE_INFINITY);
  assert.equal(maxStaleMs('no-transform, Max-Stale = 30'), 30_000);
  assert.equal(maxStaleMs('max-stale="5"'), 5_000);
  assert.equal(maxStaleMs('max-stale=soon'), undefined, 'unreadable: ignored');
});

test('the OpenAPI document lists the 304 and the validator headers of the catalogue routes', async () => {
  const doc = (await gw.app.inject({ url: '/openapi.json' })).json();
  for (const path of ['/api/v1/products', '/api/v1/products/{id}']) {
    const get = doc.paths[path].get;
    assert.ok(get.responses['304'], `${path}: 304 documented`);
    assert.ok(
      get.parameters.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'if-none-match'),
      `${path}: If-None-Match documented`,
    );
  }
});

test('the product-cache switch: off, a cached product is a 503 while the catalog is down; on again, degraded', async (t) => {
  world.state.products.set('c9', product('c9'));
  assert.equal((await gw.app.inject({ url: '/api/v1/products/c9' })).statusCode, 200);
  const put = (fallback: boolean, headers: Record<string, string> = admin) =>
    gw.app.inject({ method: 'PUT', url: '/api/v1/admin/product-cache', headers, payload: { fallback } });
  t.after(() => put(true));

  assert.equal((await put(false, {})).statusCode, 401, 'behind the admin token');
  const off = await put(false);
  assert.equal(off.statusCode, 200);
  assert.deepEqual(off.json(), { fallback: false });
  assert.deepEqual((await gw.app.inject({ url: '/api/v1/admin/product-cache', headers: admin })).json(), {
    fallback: false,
  });
  gw.registry.set('catalog', [await deadAddress()]);

  const refused = await gw.app.inject({ url: '/api/v1/products/c9' });
  assert.equal(refused.statusCode, 503);
  assert.equal(refused.json().code, 'SHOP_DEPENDENCY_UNAVAILABLE');

  await put(true);
  const degraded = await gw.app.inject({ url: '/api/v1/products/c9' });
  assert.equal(degraded.statusCode, 200);
  assert.deepEqual(degraded.json().degraded, ['stock']);
});
