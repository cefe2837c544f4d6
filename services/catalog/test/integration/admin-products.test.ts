import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import { SEED_PRODUCTS } from '../../src/infrastructure/seed-data';
import { ADMIN_TOKEN, assertStockInvariant, startTestCatalog, stockOf, type TestCatalog } from '../support/harness';

let catalog: TestCatalog;

before(async () => {
  catalog = await startTestCatalog('catalog_admin_products');
});
after(() => catalog?.close());
afterEach(() => assertStockInvariant(catalog.sql));

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function addProduct(payload: unknown, headers: Record<string, string> = admin) {
  const res = await catalog.app.http.inject({
    method: 'POST',
    url: '/v1/admin/products',
    headers,
    payload: payload as object,
  });
  return { status: res.statusCode, type: String(res.headers['content-type']), body: res.json() };
}

const valid = (overrides: Record<string, unknown> = {}) => ({
  name: 'Chaos Monkey plush',
  category: 'toys',
  price: { amount: 1299, currency: 'USD' },
  stock: 5,
  ...overrides,
});

async function counts() {
  const { rows } = await catalog.sql.query<{ products: number; stock: number; outbox: number }>(
    `SELECT (SELECT count(*)::int FROM products) AS products, (SELECT count(*)::int FROM stock) AS stock,
            (SELECT count(*)::int FROM outbox) AS outbox`,
  );
  return rows[0];
}

describe('POST /v1/admin/products', () => {
  test('adds a product with its stock: initial = available, shown by browse, the stock report and the outbox', async () => {
    const created = await addProduct(valid({ description: 'Soft, and it breaks things', stock: 7 }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id } = created.body;
    assert.match(id, /^prd-[0-9a-f-]{36}$/);
    assert.deepEqual(created.body, {
      id,
      sku: id.toUpperCase(),
      name: 'Chaos Monkey plush',
      description: 'Soft, and it breaks things',
      category: 'toys',
      price: { amount: 1299, currency: 'USD' },
      available: 7,
      imageUrl: '',
    });

    const shown = await catalog.app.http.inject({ method: 'GET', url: `/v1/products/${id}` });
    assert.deepEqual(shown.json(), created.body);
    assert.deepEqual(await stockOf(catalog.sql, id), { initial: 7, available: 7, reserved: 0, sold: 0 });
    const report = await catalog.app.http.inject({ method: 'GET', url: '/v1/admin/stock', headers: admin });
    const body = report.json();
    assert.deepEqual(
      body.products.find((p: { id: string }) => p.id === id),
      { id, initial: 7, available: 7, reserved: 0, sold: 0, confirmedUnitsSold: 0 },
    );
    assert.deepEqual(body.violations, []);

    const { rows } = await catalog.sql.query(
      'SELECT topic, aggregate_type, event_type, payload FROM outbox WHERE aggregate_id = $1',
      [id],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].topic, 'catalog.events');
    assert.equal(rows[0].aggregate_type, 'catalog');
    assert.equal(rows[0].event_type, 'shop.catalog.product_created.v1');
    assert.deepEqual(rows[0].payload, {
      productId: id,
      sku: id.toUpperCase(),
      name: 'Chaos Monkey plush',
      category: 'toys',
      price: { amount: 1299, currency: 'USD' },
      initialStock: 7,
    });
  });

  test('its units can be reserved and are never oversold', async () => {
    const { body } = await addProduct(valid({ stock: 3 }));
    const reservationId = `ord-${randomUUID()}`;
    await catalog.client.call('reserveStock', {
      idempotencyKey: `${reservationId}:reserve`,
      reservationId,
      lines: [{ productId: body.id, quantity: 2 }],
    });
    await assert.rejects(
      catalog.client.call('reserveStock', {
        idempotencyKey: `ord-${randomUUID()}:reserve`,
        reservationId: `ord-${randomUUID()}`,
        lines: [{ productId: body.id, quantity: 2 }],
      }),
      (err: unknown) => err instanceof ShopError && err.code === 'SHOP_OUT_OF_STOCK',
    );
    assert.deepEqual(await stockOf(catalog.sql, body.id), { initial: 3, available: 1, reserved: 2, sold: 0 });
  });

  test('a product with no stock yet is listed with 0 available', async () => {
    const { status, body } = await addProduct(valid({ stock: 0, sku: `ZERO-${randomUUID().slice(0, 8)}` }));
    assert.equal(status, 201);
    assert.equal(body.available, 0);
    assert.deepEqual(await stockOf(catalog.sql, body.id), { initial: 0, available: 0, reserved: 0, sold: 0 });
  });

  test('new products page after the demo catalog', async () => {
    const { body } = await addProduct(valid());
    const lastSeed = SEED_PRODUCTS[SEED_PRODUCTS.length - 1]?.id ?? '';
    const page = await catalog.app.http.inject({ method: 'GET', url: `/v1/products?limit=${SEED_PRODUCTS.length}` });
    assert.deepEqual(
      page.json().items.map((p: { id: string }) => p.id),
      SEED_PRODUCTS.map((p) => p.id),
    );
    assert.ok(body.id > lastSeed, `${body.id} sorts after ${lastSeed}`);
  });

  test('a SKU that exists already is 409 SHOP_ALREADY_EXISTS and writes nothing', async () => {
    const sku = `DUP-${randomUUID().slice(0, 8)}`;
    assert.equal((await addProduct(valid({ sku }))).status, 201);
    const before = await counts();
    const again = await addProduct(valid({ sku, name: 'Another name' }));
    assert.equal(again.status, 409);
    assert.match(again.type, /application\/problem\+json/);
    assert.equal(again.body.code, 'SHOP_ALREADY_EXISTS');
    assert.equal(again.body.sku, sku);
    assert.deepEqual(await counts(), before);
    const seedSku = await addProduct(valid({ sku: SEED_PRODUCTS[0]?.sku }));
    assert.equal(seedSku.status, 409);
  });

  test('bad input is 400 SHOP_VALIDATION_FAILED naming the field, and writes nothing', async () => {
    const before = await counts();
    const { name: _name, ...noName } = valid();
    const cases: [string, unknown][] = [
      ['name', noName],
      ['name', valid({ name: '   ' })],
      ['category', valid({ category: '' })],
      ['category', valid({ category: 'x'.repeat(51) })],
      ['stock', valid({ stock: -1 })],
      ['stock', valid({ stock: 1.5 })],
      ['stock', valid({ stock: '5' })],
      ['price', valid({ price: { amount: 12.5, currency: 'USD' } })],
      ['price', valid({ price: { amount: -1, currency: 'USD' } })],
      ['price', valid({ price: { amount: 100, currency: 'usd' } })],
      ['price', valid({ price: 1299 })],
      ['sku', valid({ sku: 'has spaces' })],
      ['imageUrl', valid({ imageUrl: 'not a url' })],
      ['initial', valid({ initial: 5 })],
    ];
    for (const [field, payload] of cases) {
      const res = await addProduct(payload);
      assert.equal(res.status, 400, `${field}: ${JSON.stringify(payload)}`);
      assert.match(res.type, /application\/problem\+json/);
      assert.equal(res.body.code, 'SHOP_VALIDATION_FAILED');
      assert.ok(JSON.stringify(res.body).includes(field), `the problem names ${field}: ${JSON.stringify(res.body)}`);
    }
    const notJson = await catalog.app.http.inject({
      method: 'POST',
      url: '/v1/admin/products',
      headers: { ...admin, 'content-type': 'application/json' },
      payload: '{"name":',
    });
    assert.equal(notJson.statusCode, 400);
    assert.deepEqual(await counts(), before);
  });

  test('wants the admin token', async () => {
    const before = await counts();
    assert.equal((await addProduct(valid(), {})).status, 401);
    assert.equal((await addProduct(valid(), { authorization: 'Bearer wrong-token-wrong-token' })).status, 403);
    assert.deepEqual(await counts(), before);
  });

  test('is in the OpenAPI document', async () => {
    const res = await catalog.app.http.inject({ method: 'GET', url: '/openapi.json' });
    assert.ok(res.json().paths['/v1/admin/products']?.post);
  });
});
