import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import { z } from 'zod';
import { productSchema } from '../../src/api/http/product.routes';
import { seedCatalog } from '../../src/infrastructure/seed';
import { SEED_PRODUCTS } from '../../src/infrastructure/seed-data';
import { startTestCatalog, type TestCatalog } from '../support/harness';

let catalog: TestCatalog;

before(async () => {
  catalog = await startTestCatalog('catalog_browse');
});
after(() => catalog?.close());

async function getJson(url: string) {
  const res = await catalog.app.http.inject({ method: 'GET', url });
  return { status: res.statusCode, type: String(res.headers['content-type']), body: res.json() };
}

describe('REST browsing', () => {
  test('the seed holds at least 40 products in at least 5 categories, and re-applying it changes nothing', async () => {
    assert.ok(SEED_PRODUCTS.length >= 40);
    const { body } = await getJson('/v1/categories');
    assert.ok(body.items.length >= 5);
    assert.equal(
      body.items.reduce((n: number, c: { count: number }) => n + c.count, 0),
      SEED_PRODUCTS.length,
    );
    await catalog.sql.query("UPDATE stock SET available = available - 1, sold = sold + 1 WHERE product_id = 'p-0001'");
    const again = await seedCatalog(catalog.prisma);
    assert.equal(again.inserted, 0);
    const { body: product } = await getJson('/v1/products/p-0001');
    assert.equal(product.available, (SEED_PRODUCTS[0]?.initialStock ?? 0) - 1);
    await catalog.sql.query("UPDATE stock SET available = available + 1, sold = sold - 1 WHERE product_id = 'p-0001'");
  });

  test('a product has its price in minor units, its stock and its image', async () => {
    const { status, body } = await getJson('/v1/products/p-0001');
    const seed = SEED_PRODUCTS[0]!;
    assert.equal(status, 200);
    assert.deepEqual(body, {
      id: 'p-0001',
      sku: seed.sku,
      name: seed.name,
      description: seed.description,
      category: seed.category,
      price: { amount: seed.priceAmount, currency: 'USD' },
      available: seed.initialStock,
      imageUrl: seed.imageUrl,
    });
  });

  test('a page is written by its response schema: exactly its fields, the last page with a null cursor', async () => {
    const page = z.strictObject({ items: z.array(productSchema.strict()), nextCursor: z.string().nullable() });
    const first = await catalog.app.http.inject({ method: 'GET', url: '/v1/products?limit=3' });
    assert.match(String(first.headers['content-type']), /^application\/json/);
    const body = page.parse(first.json());
    assert.equal(body.items.length, 3);
    assert.ok(body.nextCursor);
    const last = page.parse((await getJson('/v1/products?category=no-such-category')).body);
    assert.deepEqual(last, { items: [], nextCursor: null });
  });

  test('an unknown product is a 404 problem with SHOP_NOT_FOUND', async () => {
    const { status, type, body } = await getJson('/v1/products/p-9999');
    assert.equal(status, 404);
    assert.match(type, /application\/problem\+json/);
    assert.equal(body.code, 'SHOP_NOT_FOUND');
    assert.equal(body.productId, 'p-9999');
  });

  test('following the cursor walks every product exactly once, in id order', async () => {
    const seen: string[] = [];
    let url = '/v1/products?limit=7';
    for (let page = 0; page < 20; page++) {
      const { status, body } = await getJson(url);
      assert.equal(status, 200);
      assert.ok(body.items.length <= 7);
      seen.push(...body.items.map((p: { id: string }) => p.id));
      if (!body.nextCursor) break;
      assert.match(body.nextCursor, /^[A-Za-z0-9_-]+$/);
      url = `/v1/products?limit=7&cursor=${body.nextCursor}`;
    }
    assert.deepEqual(
      seen,
      SEED_PRODUCTS.map((p) => p.id),
    );
  });

  test('the default page has 20 products and a cursor', async () => {
    const { body } = await getJson('/v1/products');
    assert.equal(body.items.length, 20);
    assert.equal(typeof body.nextCursor, 'string');
  });

  test('a category filter returns only that category, paginated', async () => {
    const books = SEED_PRODUCTS.filter((p) => p.category === 'books').map((p) => p.id);
    const first = await getJson('/v1/products?category=books&limit=6');
    assert.ok(first.body.items.every((p: { category: string }) => p.category === 'books'));
    const second = await getJson(`/v1/products?category=books&limit=6&cursor=${first.body.nextCursor}`);
    assert.equal(second.body.nextCursor, null);
    assert.deepEqual(
      [...first.body.items, ...second.body.items].map((p: { id: string }) => p.id),
      books,
    );
  });

  test('q searches names and descriptions without regard to case', async () => {
    const byName = await getJson('/v1/products?q=HEADPHONES');
    assert.deepEqual(
      byName.body.items.map((p: { name: string }) => p.name),
      ['Noise-Cancelling Headphones'],
    );
    const byDescription = await getJson('/v1/products?q=kleppmann');
    assert.deepEqual(
      byDescription.body.items.map((p: { id: string }) => p.id),
      ['p-0001'],
    );
    const combined = await getJson('/v1/products?q=steel&category=home');
    assert.ok(combined.body.items.length > 0);
    assert.ok(combined.body.items.every((p: { category: string }) => p.category === 'home'));
  });

  test('LIKE wildcards in q are matched literally', async () => {
    const percent = await getJson('/v1/products?q=%25');
    assert.deepEqual(percent.body.items, []);
    const underscore = await getJson('/v1/products?q=_');
    assert.deepEqual(underscore.body.items, []);
  });

  test('an unknown category is an empty page, not an error', async () => {
    const { status, body } = await getJson('/v1/products?category=spaceships');
    assert.equal(status, 200);
    assert.deepEqual(body, { items: [], nextCursor: null });
  });

  test('a limit outside 1..100 and a forged cursor are 400 SHOP_VALIDATION_FAILED', async () => {
    for (const url of ['/v1/products?limit=0', '/v1/products?limit=101', '/v1/products?limit=x']) {
      const { status, body } = await getJson(url);
      assert.equal(status, 400, url);
      assert.equal(body.code, 'SHOP_VALIDATION_FAILED');
    }
    for (const cursor of ['not-a-cursor', Buffer.from('{"after":1}').toString('base64url'), '!!!']) {
      const { status, body } = await getJson(`/v1/products?cursor=${encodeURIComponent(cursor)}`);
      assert.equal(status, 400, cursor);
      assert.equal(body.code, 'SHOP_VALIDATION_FAILED');
    }
  });

  test('categories come with their product counts', async () => {
    const { body } = await getJson('/v1/categories');
    const expected = new Map<string, number>();
    for (const p of SEED_PRODUCTS) expected.set(p.category, (expected.get(p.category) ?? 0) + 1);
    assert.deepEqual(
      body.items,
      [...expected].map(([name, count]) => ({ name, count })).sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  test('the OpenAPI document lists the catalog routes', async () => {
    const { body } = await getJson('/openapi.json');
    for (const path of ['/v1/products', '/v1/products/{id}', '/v1/categories', '/v1/admin/stock']) {
      assert.ok(body.paths[path], path);
    }
  });
});

describe('gRPC browsing', () => {
  test('GetProduct returns the product with its price and stock', async () => {
    const { product } = await catalog.client.call('getProduct', { id: 'p-0002' });
    const seed = SEED_PRODUCTS[1]!;
    assert.deepEqual(product, {
      id: seed.id,
      sku: seed.sku,
      name: seed.name,
      description: seed.description,
      category: seed.category,
      price: { amount: seed.priceAmount, currency: 'USD' },
      available: seed.initialStock,
      imageUrl: seed.imageUrl,
    });
  });

  test('GetProduct of an unknown id is NOT_FOUND', async () => {
    await assert.rejects(catalog.client.call('getProduct', { id: 'nope' }), (err: unknown) => {
      assert.ok(err instanceof ShopError);
      assert.equal(err.code, 'SHOP_NOT_FOUND');
      assert.equal(err.grpcStatus, 5);
      return true;
    });
  });

  test('GetProduct without an id is INVALID_ARGUMENT', async () => {
    await assert.rejects(catalog.client.call('getProduct', { id: '' }), { code: 'SHOP_VALIDATION_FAILED' });
  });

  test('BatchGetProducts returns the known products in the order asked and lists the missing ids', async () => {
    const res = await catalog.client.call('batchGetProducts', { ids: ['p-0003', 'ghost', 'p-0001', 'p-0003'] });
    assert.deepEqual(
      res.products.map((p) => p.id),
      ['p-0003', 'p-0001'],
    );
    assert.deepEqual(res.missingIds, ['ghost']);
  });

  test('ListProducts pages like REST: default size 20, the same cursor, filters and search', async () => {
    const first = await catalog.client.call('listProducts', { category: '', query: '', limit: 0, cursor: '' });
    assert.equal(first.products.length, 20);
    const rest = await getJson(`/v1/products?cursor=${first.nextCursor}&limit=100`);
    const viaGrpc = await catalog.client.call('listProducts', {
      category: '',
      query: '',
      limit: 100,
      cursor: first.nextCursor,
    });
    assert.deepEqual(
      viaGrpc.products.map((p) => p.id),
      rest.body.items.map((p: { id: string }) => p.id),
    );
    assert.equal(viaGrpc.nextCursor, '');
    const toys = await catalog.client.call('listProducts', {
      category: 'toys',
      query: 'SCIENCE',
      limit: 10,
      cursor: '',
    });
    assert.deepEqual(
      toys.products.map((p) => p.name),
      ['Kids Science Kit'],
    );
  });

  test('ListProducts with a limit over 100 or a bad cursor is INVALID_ARGUMENT', async () => {
    await assert.rejects(catalog.client.call('listProducts', { category: '', query: '', limit: 101, cursor: '' }), {
      code: 'SHOP_VALIDATION_FAILED',
    });
    await assert.rejects(catalog.client.call('listProducts', { category: '', query: '', limit: 5, cursor: '%%' }), {
      code: 'SHOP_VALIDATION_FAILED',
    });
  });
});
