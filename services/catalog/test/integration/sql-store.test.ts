// The catalog's plain SQL (ADR 48) against the real PostgreSQL: the product reads give what the
// Prisma queries they replaced give, and the stock store keeps its transaction's promises —
// bounded waits answered as "unavailable, retry", every line or none, release once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { databaseError, pgPoolOf, ShopError } from '@shoplab/chassis';
import type { ProductReader } from '../../src/application/ports';
import { StockReservations } from '../../src/application/stock-reservations';
import { PrismaProductReader, SqlProductReader } from '../../src/infrastructure/product.repository';
import { SqlStockStore } from '../../src/infrastructure/stock.store';
import { addProduct, assertStockInvariant, startTestCatalog, stockOf, type TestCatalog } from '../support/harness';

let catalog: TestCatalog;
let sqlReader: SqlProductReader;
let prismaReader: PrismaProductReader;
/** This file's own products: a category no seed uses, names with LIKE's wildcards in them. */
const CATEGORY = `sqltest-${randomUUID().slice(0, 6)}`;
const ids: string[] = [];

before(async () => {
  catalog = await startTestCatalog('catalog_sql');
  sqlReader = new SqlProductReader(pgPoolOf(catalog.prisma));
  prismaReader = new PrismaProductReader(catalog.prisma);
  const names = ['Plain Mug', '100% Cotton Tee', 'snake_case Poster', 'Back\\slash Print', 'MUG warmer', 'Zeta'];
  for (const [i, name] of names.entries()) {
    const id = `sqltest-${i}-${randomUUID().slice(0, 6)}`;
    await addProduct(catalog.sql, id, 3 + i, CATEGORY);
    await catalog.sql.query('UPDATE products SET name = $2 WHERE id = $1', [id, name]);
    ids.push(id);
  }
  // A product without a stock row is shown with 0 available, as before.
  const bare = `sqltest-bare-${randomUUID().slice(0, 6)}`;
  await catalog.sql.query(
    `INSERT INTO products (id, sku, name, description, category, price_amount, image_url)
     VALUES ($1, $2, 'No stock row', 'made for one test', $3, 500, '')`,
    [bare, `SKU-${bare}`, CATEGORY],
  );
  ids.push(bare);
  // Units sold for the popularity order, ties included.
  for (const [i, units] of [5, 2, 5, 0].entries()) {
    await catalog.sql.query('INSERT INTO product_sales (product_id, units_sold, orders_count) VALUES ($1, $2, 1)', [
      ids[i],
      units,
    ]);
  }
});
after(() => catalog?.close());
afterEach(() => assertStockInvariant(catalog.sql));

/** Every page of `read` (limit per page), following the last id as BrowseCatalog's cursor does. */
async function allPages(reader: ProductReader, query: { category?: string; text?: string }, limit: number) {
  const pages = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await reader.list({ ...query, limit, ...(afterId ? { afterId } : {}) });
    pages.push(page);
    if (page.length < limit) return pages;
    afterId = page[page.length - 1]?.id;
  }
}

async function allPopularPages(reader: ProductReader, query: { category?: string; text?: string }, limit: number) {
  const pages = [];
  let after: { unitsSold: number; id: string } | undefined;
  for (;;) {
    const page = await reader.listPopular({ ...query, limit, ...(after ? { after } : {}) });
    pages.push(page);
    const last = page[page.length - 1];
    if (page.length < limit || !last) return pages;
    after = { unitsSold: last.unitsSold, id: last.id };
  }
}

describe('the product reads in SQL', () => {
  const queries = [
    {},
    { category: CATEGORY },
    { text: 'mug' },
    { text: '100%' },
    { text: '%' },
    { text: '_' },
    { text: 'e_c' },
    { text: 'k\\s' },
    { category: CATEGORY, text: 'MUG' },
    { category: 'no-such-category' },
  ];

  test('every page of every filter equals what the Prisma queries give, page sizes 1, 3 and 20', async () => {
    for (const query of queries) {
      for (const limit of [1, 3, 20]) {
        const [sql, prisma] = [await allPages(sqlReader, query, limit), await allPages(prismaReader, query, limit)];
        assert.deepEqual(sql, prisma, `${JSON.stringify(query)} by ${limit}`);
      }
    }
    // The filters do filter: the wildcards match literally, the case does not matter.
    const names = async (query: { category?: string; text?: string }) =>
      (await sqlReader.list({ ...query, category: CATEGORY, limit: 100 })).map((p) => p.name).sort();
    assert.deepEqual(await names({ text: '%' }), ['100% Cotton Tee']);
    assert.deepEqual(await names({ text: '_' }), ['snake_case Poster']);
    assert.deepEqual(await names({ text: 'k\\s' }), ['Back\\slash Print']);
    assert.deepEqual(await names({ text: 'mug' }), ['MUG warmer', 'Plain Mug']);
    assert.equal((await names({})).length, ids.length);
  });

  test('the popularity order and its pages equal the Prisma ones, ties broken by id', async () => {
    for (const query of queries) {
      for (const limit of [1, 2, 20]) {
        const [sql, prisma] = [
          await allPopularPages(sqlReader, query, limit),
          await allPopularPages(prismaReader, query, limit),
        ];
        assert.deepEqual(sql, prisma, `${JSON.stringify(query)} by ${limit}`);
      }
    }
    const ranked = await sqlReader.listPopular({ category: CATEGORY, limit: 3 });
    assert.deepEqual(
      ranked.map((p) => [p.id, p.unitsSold]),
      [
        [ids[0], 5],
        [ids[2], 5],
        [ids[1], 2],
      ],
    );
  });

  test('one product, a batch and the categories equal the Prisma ones; no stock row shows 0 available', async () => {
    for (const id of [...ids, 'no-such-product']) assert.deepEqual(await sqlReader.get(id), await prismaReader.get(id));
    const batch = [...ids].reverse().concat('no-such-product');
    assert.deepEqual(await sqlReader.getMany(batch), await prismaReader.getMany(batch));
    assert.deepEqual(await sqlReader.getMany([]), []);
    assert.deepEqual(await sqlReader.categories(), await prismaReader.categories());
    assert.equal((await sqlReader.get(ids[ids.length - 1] as string))?.available, 0);
    assert.equal((await sqlReader.get(ids[1] as string))?.available, 4);
    assert.ok((await sqlReader.categories()).some((c) => c.name === CATEGORY && c.count === ids.length));
  });
});

describe('the stock store in SQL', () => {
  async function product(stock: number): Promise<string> {
    const id = `sqlstock-${randomUUID().slice(0, 8)}`;
    await addProduct(catalog.sql, id, stock);
    return id;
  }
  const reservations = (store: SqlStockStore) => new StockReservations(store);

  test('a statement that waits past the bound is SHOP_DEPENDENCY_UNAVAILABLE, holds nothing, and the pool goes on', async () => {
    const p = await product(4);
    const store = new SqlStockStore(pgPoolOf(catalog.prisma), { timeoutMs: 200 });
    // Another connection holds the product's stock row.
    const holder = await catalog.sql.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM stock WHERE product_id = $1 FOR UPDATE', [p]);
      const id = `ord-${randomUUID()}`;
      await assert.rejects(
        reservations(store).reserve({
          idempotencyKey: `${id}:r`,
          reservationId: id,
          lines: [{ productId: p, quantity: 1 }],
        }),
        (err: unknown) => err instanceof ShopError && err.code === 'SHOP_DEPENDENCY_UNAVAILABLE' && err.transient,
      );
      const { rows } = await catalog.sql.query('SELECT 1 FROM reservations WHERE id = $1', [id]);
      assert.equal(rows.length, 0, 'the timed-out reservation was rolled back');
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    // The same store works once the row is free.
    const id = `ord-${randomUUID()}`;
    await reservations(store).reserve({
      idempotencyKey: `${id}:r`,
      reservationId: id,
      lines: [{ productId: p, quantity: 1 }],
    });
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 4, available: 3, reserved: 1, sold: 0 });
  });

  test('no free connection within maxWaitMs fails the command as the chassis answers 503 / UNAVAILABLE', async () => {
    const pool = pgPoolOf(catalog.prisma);
    const held = await Promise.all(Array.from({ length: pool.options.max ?? 10 }, () => pool.connect()));
    try {
      const store = new SqlStockStore(pool, { maxWaitMs: 100 });
      const id = `ord-${randomUUID()}`;
      await assert.rejects(
        reservations(store).release({ idempotencyKey: `${id}:x`, reservationId: id }),
        (err: unknown) => {
          // The HTTP and gRPC error paths map database failures with databaseError.
          const mapped = databaseError(err, 'catalog');
          return mapped?.code === 'SHOP_DEPENDENCY_UNAVAILABLE' && mapped.transient;
        },
      );
    } finally {
      for (const client of held) client.release();
    }
    // The connection that came after the command gave up went back to the pool.
    const id = `ord-${randomUUID()}`;
    const released = await reservations(new SqlStockStore(pool)).release({
      idempotencyKey: `${id}:x`,
      reservationId: id,
    });
    assert.equal(released.status, 'RELEASED');
    assert.equal(pool.totalCount - pool.idleCount, 0);
  });

  test('concurrent releases of one reservation under different keys return its units once', async () => {
    const [a, b] = [await product(6), await product(6)];
    const id = `ord-${randomUUID()}`;
    const stock = reservations(new SqlStockStore(pgPoolOf(catalog.prisma)));
    const reserved = await stock.reserve({
      idempotencyKey: `${id}:r`,
      reservationId: id,
      lines: [
        { productId: b, quantity: 2 },
        { productId: a, quantity: 3 },
      ],
    });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => stock.release({ idempotencyKey: `${id}:release-${i}`, reservationId: id })),
    );
    for (const released of results) {
      assert.equal(released.status, 'RELEASED');
      // The lines come back with the locked row, in product-id order.
      assert.deepEqual(released.lines, reserved.lines);
    }
    assert.deepEqual(await stockOf(catalog.sql, a), { initial: 6, available: 6, reserved: 0, sold: 0 });
    assert.deepEqual(await stockOf(catalog.sql, b), { initial: 6, available: 6, reserved: 0, sold: 0 });
    const { rows } = await catalog.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM outbox WHERE event_type = 'shop.catalog.stock_released.v1' AND aggregate_id = $1",
      [id],
    );
    assert.equal(rows[0]?.n, 1);
  });
});
