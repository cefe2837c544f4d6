import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import { catalogV1 } from '@shoplab/contracts';
import {
  ADMIN_TOKEN,
  addProduct,
  assertStockInvariant,
  type CatalogClient,
  outboxFor,
  startTestCatalog,
  stockOf,
  type TestCatalog,
} from '../support/harness';

const { ReservationStatus } = catalogV1;

let catalog: TestCatalog;
let client: CatalogClient;

before(async () => {
  catalog = await startTestCatalog('catalog_stock');
  client = catalog.client;
});
after(() => catalog?.close());
afterEach(() => assertStockInvariant(catalog.sql));

/** A fresh product with `stock` units, so each test knows its numbers. */
async function product(stock: number): Promise<string> {
  const id = `t-${randomUUID().slice(0, 8)}`;
  await addProduct(catalog.sql, id, stock);
  return id;
}

const newId = () => `ord-${randomUUID()}`;

function reserve(
  reservationId: string,
  lines: { productId: string; quantity: number }[],
  key = `${reservationId}:reserve`,
) {
  return client.call('reserveStock', { idempotencyKey: key, reservationId, lines });
}

function rejectsWith(code: string, check?: (err: ShopError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof ShopError, `expected a ShopError, got ${String(err)}`);
    assert.equal(err.code, code);
    check?.(err);
    return true;
  };
}

describe('reserving stock', () => {
  test('a reservation holds the units of every line and writes shop.catalog.stock_reserved.v1', async () => {
    const [a, b] = [await product(10), await product(5)];
    const id = newId();
    const { reservation } = await reserve(id, [
      { productId: b, quantity: 2 },
      { productId: a, quantity: 3 },
    ]);
    assert.equal(reservation?.status, ReservationStatus.RESERVATION_STATUS_RESERVED);
    assert.equal(reservation?.id, id);
    assert.deepEqual(await stockOf(catalog.sql, a), { initial: 10, available: 7, reserved: 3, sold: 0 });
    assert.deepEqual(await stockOf(catalog.sql, b), { initial: 5, available: 3, reserved: 2, sold: 0 });

    const events = await outboxFor(catalog.sql, id);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.event_type, 'shop.catalog.stock_reserved.v1');
    assert.equal(events[0]?.topic, 'catalog.events');
    assert.deepEqual(
      events[0]?.payload.lines.sort((x, y) => x.productId.localeCompare(y.productId)),
      [
        { productId: a, quantity: 3 },
        { productId: b, quantity: 2 },
      ].sort((x, y) => x.productId.localeCompare(y.productId)),
    );
  });

  test('a line short of stock refuses the whole reservation with SHOP_OUT_OF_STOCK and moves nothing', async () => {
    const [plenty, scarce] = [await product(10), await product(2)];
    const id = newId();
    await assert.rejects(
      reserve(id, [
        { productId: plenty, quantity: 1 },
        { productId: scarce, quantity: 3 },
      ]),
      rejectsWith('SHOP_OUT_OF_STOCK', (err) => {
        assert.equal(err.grpcStatus, 9); // FAILED_PRECONDITION
        assert.deepEqual(err.details, { productId: scarce, requested: 3, available: 2 });
      }),
    );
    assert.deepEqual(await stockOf(catalog.sql, plenty), { initial: 10, available: 10, reserved: 0, sold: 0 });
    assert.deepEqual(await stockOf(catalog.sql, scarce), { initial: 2, available: 2, reserved: 0, sold: 0 });
    assert.deepEqual(await outboxFor(catalog.sql, id), []);
    const { rows } = await catalog.sql.query('SELECT 1 FROM reservations WHERE id = $1', [id]);
    assert.equal(rows.length, 0);
  });

  test('a retried reservation with the same key moves stock once and answers the same', async () => {
    const p = await product(10);
    const id = newId();
    const first = await reserve(id, [{ productId: p, quantity: 4 }], 'key-retry-1');
    const second = await reserve(id, [{ productId: p, quantity: 4 }], 'key-retry-1');
    assert.deepEqual(second, first);
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 6, reserved: 4, sold: 0 });
    assert.equal((await outboxFor(catalog.sql, id)).length, 1);
  });

  test('the same key with a different request is refused with SHOP_IDEMPOTENCY_KEY_REUSED', async () => {
    const p = await product(10);
    const key = `key-${randomUUID()}`;
    await reserve(newId(), [{ productId: p, quantity: 1 }], key);
    await assert.rejects(
      reserve(newId(), [{ productId: p, quantity: 1 }], key),
      rejectsWith('SHOP_IDEMPOTENCY_KEY_REUSED', (err) => assert.equal(err.grpcStatus, 9)),
    );
    await assert.rejects(
      client.call('commitStock', { idempotencyKey: key, reservationId: 'whatever' }),
      rejectsWith('SHOP_IDEMPOTENCY_KEY_REUSED'),
    );
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 9, reserved: 1, sold: 0 });
  });

  test('an existing reservation id with the same lines is returned without moving stock again', async () => {
    const p = await product(10);
    const id = newId();
    await reserve(id, [{ productId: p, quantity: 2 }], 'first-key');
    const again = await reserve(id, [{ productId: p, quantity: 2 }], `other-key-${id}`);
    assert.equal(again.reservation?.status, ReservationStatus.RESERVATION_STATUS_RESERVED);
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 8, reserved: 2, sold: 0 });
    await assert.rejects(
      reserve(id, [{ productId: p, quantity: 3 }], `third-key-${id}`),
      rejectsWith('SHOP_ALREADY_EXISTS'),
    );
  });

  test('repeated lines for one product are summed', async () => {
    const p = await product(10);
    const { reservation } = await reserve(newId(), [
      { productId: p, quantity: 2 },
      { productId: p, quantity: 3 },
    ]);
    assert.deepEqual(reservation?.lines, [{ productId: p, quantity: 5 }]);
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 5, reserved: 5, sold: 0 });
  });

  test('an unknown product is NOT_FOUND and moves nothing', async () => {
    const p = await product(10);
    await assert.rejects(
      reserve(newId(), [
        { productId: p, quantity: 1 },
        { productId: 'no-such-product', quantity: 1 },
      ]),
      rejectsWith('SHOP_NOT_FOUND', (err) => assert.deepEqual(err.details, { productIds: ['no-such-product'] })),
    );
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 10, reserved: 0, sold: 0 });
  });

  test('malformed commands are INVALID_ARGUMENT: no key, no lines, zero quantity, no reservation id', async () => {
    const p = await product(3);
    const bad = [
      { idempotencyKey: '', reservationId: newId(), lines: [{ productId: p, quantity: 1 }] },
      { idempotencyKey: 'k-empty-lines', reservationId: newId(), lines: [] },
      { idempotencyKey: 'k-zero', reservationId: newId(), lines: [{ productId: p, quantity: 0 }] },
      { idempotencyKey: 'k-negative', reservationId: newId(), lines: [{ productId: p, quantity: -2 }] },
      { idempotencyKey: 'k-no-id', reservationId: '', lines: [{ productId: p, quantity: 1 }] },
    ];
    for (const request of bad) {
      await assert.rejects(client.call('reserveStock', request), rejectsWith('SHOP_VALIDATION_FAILED'));
    }
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 3, available: 3, reserved: 0, sold: 0 });
  });

  test('the idempotency key may come in the idempotency-key header instead of the request', async () => {
    const p = await product(4);
    const id = newId();
    const request = { idempotencyKey: '', reservationId: id, lines: [{ productId: p, quantity: 1 }] };
    await client.call('reserveStock', request, { idempotencyKey: `hdr-${id}` });
    await client.call('reserveStock', request, { idempotencyKey: `hdr-${id}` });
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 4, available: 3, reserved: 1, sold: 0 });
  });
});

describe('moving a reservation on', () => {
  test('commit turns reserved units into sold ones, once, and writes stock_committed', async () => {
    const p = await product(10);
    const id = newId();
    await reserve(id, [{ productId: p, quantity: 3 }]);
    const { reservation } = await client.call('commitStock', { idempotencyKey: `${id}:commit`, reservationId: id });
    assert.equal(reservation?.status, ReservationStatus.RESERVATION_STATUS_COMMITTED);
    assert.deepEqual(reservation?.lines, [{ productId: p, quantity: 3 }]);
    const again = await client.call('commitStock', { idempotencyKey: `${id}:commit`, reservationId: id });
    assert.deepEqual(again, { reservation });
    // A second commit under another key is a no-op as well: the reservation is already COMMITTED.
    await client.call('commitStock', { idempotencyKey: `${id}:commit-2`, reservationId: id });
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 7, reserved: 0, sold: 3 });
    assert.deepEqual(
      (await outboxFor(catalog.sql, id)).map((e) => e.event_type),
      ['shop.catalog.stock_reserved.v1', 'shop.catalog.stock_committed.v1'],
    );
  });

  test('release returns reserved units, releasing again is a no-op success, and writes stock_released', async () => {
    const p = await product(10);
    const id = newId();
    await reserve(id, [{ productId: p, quantity: 6 }]);
    const { reservation } = await client.call('releaseStock', { idempotencyKey: `${id}:release`, reservationId: id });
    assert.equal(reservation?.status, ReservationStatus.RESERVATION_STATUS_RELEASED);
    const again = await client.call('releaseStock', { idempotencyKey: `${id}:release-again`, reservationId: id });
    assert.equal(again.reservation?.status, ReservationStatus.RESERVATION_STATUS_RELEASED);
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 10, reserved: 0, sold: 0 });
    assert.deepEqual(
      (await outboxFor(catalog.sql, id)).map((e) => e.event_type),
      ['shop.catalog.stock_reserved.v1', 'shop.catalog.stock_released.v1'],
    );
  });

  test('releasing a committed reservation is FAILED_PRECONDITION and moves nothing', async () => {
    const p = await product(10);
    const id = newId();
    await reserve(id, [{ productId: p, quantity: 2 }]);
    await client.call('commitStock', { idempotencyKey: `${id}:commit`, reservationId: id });
    await assert.rejects(
      client.call('releaseStock', { idempotencyKey: `${id}:release`, reservationId: id }),
      rejectsWith('SHOP_RESERVATION_INVALID_STATE', (err) => {
        assert.equal(err.grpcStatus, 9);
        assert.deepEqual(err.details, { reservationId: id, status: 'COMMITTED', expected: 'RESERVED' });
      }),
    );
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 8, reserved: 0, sold: 2 });
  });

  test('committing a released reservation is FAILED_PRECONDITION', async () => {
    const p = await product(10);
    const id = newId();
    await reserve(id, [{ productId: p, quantity: 2 }]);
    await client.call('releaseStock', { idempotencyKey: `${id}:release`, reservationId: id });
    await assert.rejects(
      client.call('commitStock', { idempotencyKey: `${id}:commit`, reservationId: id }),
      rejectsWith('SHOP_RESERVATION_INVALID_STATE'),
    );
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 10, reserved: 0, sold: 0 });
  });

  test('restocking a committed reservation returns sold units to available, once, and writes stock_restocked', async () => {
    const p = await product(10);
    const id = newId();
    await reserve(id, [{ productId: p, quantity: 4 }]);
    await client.call('commitStock', { idempotencyKey: `${id}:commit`, reservationId: id });
    const { reservation } = await client.call('restockCommitted', {
      idempotencyKey: `${id}:restock`,
      reservationId: id,
    });
    assert.equal(reservation?.status, ReservationStatus.RESERVATION_STATUS_RESTOCKED);
    await client.call('restockCommitted', { idempotencyKey: `${id}:restock`, reservationId: id });
    await client.call('restockCommitted', { idempotencyKey: `${id}:restock-2`, reservationId: id });
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 10, reserved: 0, sold: 0 });
    assert.deepEqual(
      (await outboxFor(catalog.sql, id)).map((e) => e.event_type),
      ['shop.catalog.stock_reserved.v1', 'shop.catalog.stock_committed.v1', 'shop.catalog.stock_restocked.v1'],
    );
  });

  test('restocking a reservation that was never committed is FAILED_PRECONDITION', async () => {
    const p = await product(10);
    const id = newId();
    await reserve(id, [{ productId: p, quantity: 1 }]);
    await assert.rejects(
      client.call('restockCommitted', { idempotencyKey: `${id}:restock`, reservationId: id }),
      rejectsWith('SHOP_RESERVATION_INVALID_STATE'),
    );
  });

  test('commit and restock of an unknown reservation are NOT_FOUND', async () => {
    await assert.rejects(
      client.call('commitStock', { idempotencyKey: `k-${randomUUID()}`, reservationId: 'ord-unknown' }),
      rejectsWith('SHOP_NOT_FOUND', (err) => assert.equal(err.grpcStatus, 5)),
    );
    await assert.rejects(
      client.call('restockCommitted', { idempotencyKey: `k-${randomUUID()}`, reservationId: 'ord-unknown' }),
      rejectsWith('SHOP_NOT_FOUND'),
    );
  });

  test('releasing an unknown reservation succeeds and a late reserve for it is refused, holding nothing', async () => {
    const p = await product(5);
    const id = newId();
    const { reservation } = await client.call('releaseStock', { idempotencyKey: `${id}:release`, reservationId: id });
    assert.deepEqual(reservation, { id, status: ReservationStatus.RESERVATION_STATUS_RELEASED, lines: [] });
    await assert.rejects(reserve(id, [{ productId: p, quantity: 1 }]), rejectsWith('SHOP_RESERVATION_INVALID_STATE'));
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 5, available: 5, reserved: 0, sold: 0 });
    assert.deepEqual(await outboxFor(catalog.sql, id), []);
  });

  test('a replayed key answers with the first outcome even after the reservation moved on', async () => {
    const p = await product(5);
    const id = newId();
    const first = await reserve(id, [{ productId: p, quantity: 1 }], `${id}:r`);
    await client.call('commitStock', { idempotencyKey: `${id}:c`, reservationId: id });
    assert.deepEqual(await reserve(id, [{ productId: p, quantity: 1 }], `${id}:r`), first);
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 5, available: 4, reserved: 0, sold: 1 });
  });
});

describe('concurrency', () => {
  test('50 concurrent reservations of 1 unit on a product with 10: exactly 10 succeed', async () => {
    const p = await product(10);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => reserve(newId(), [{ productId: p, quantity: 1 }])),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    assert.equal(ok.length, 10);
    assert.equal(refused.length, 40);
    for (const err of refused) assert.equal((err as ShopError).code, 'SHOP_OUT_OF_STOCK');
    assert.deepEqual(await stockOf(catalog.sql, p), { initial: 10, available: 0, reserved: 10, sold: 0 });
  });

  test('500 concurrent multi-line reservations over scarce stock never oversell, and their retries never double', async () => {
    const products = [await product(25), await product(40), await product(15)];
    const attempts = Array.from({ length: 500 }, (_, i) => {
      const lines = products
        .filter((_, j) => (i + j) % 3 !== 0)
        .map((productId, j) => ({ productId, quantity: 1 + ((i + j) % 3) }));
      return { id: newId(), lines };
    });
    // Every command is sent twice at once under the same key, as a retrying client would.
    const results = await Promise.allSettled(
      attempts.flatMap((a) => [reserve(a.id, a.lines, `${a.id}:k`), reserve(a.id, a.lines, `${a.id}:k`)]),
    );
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ShopError] : []));
    for (const err of failures) assert.equal(err.code, 'SHOP_OUT_OF_STOCK', err.message);
    const succeeded = attempts.filter((_, i) => results[2 * i]?.status === 'fulfilled');
    // Both copies of a command have the same outcome.
    for (let i = 0; i < attempts.length; i++) assert.equal(results[2 * i]?.status, results[2 * i + 1]?.status);
    assert.ok(succeeded.length > 0 && succeeded.length < attempts.length, `${succeeded.length} succeeded`);
    for (const productId of products) {
      const held = succeeded.flatMap((a) => a.lines).filter((l) => l.productId === productId);
      const units = held.reduce((n, l) => n + l.quantity, 0);
      const counters = await stockOf(catalog.sql, productId);
      assert.equal(counters.reserved, units);
      assert.equal(counters.available, counters.initial - units);
      assert.ok(counters.available >= 0);
    }
    const { rows } = await catalog.sql.query(
      "SELECT count(*)::int AS n FROM outbox WHERE event_type = 'shop.catalog.stock_reserved.v1' AND aggregate_id = ANY($1)",
      [attempts.map((a) => a.id)],
    );
    assert.equal(rows[0].n, succeeded.length);
  });

  test('concurrent commit and release of one reservation: exactly one wins', async () => {
    const p = await product(5);
    const id = newId();
    await reserve(id, [{ productId: p, quantity: 2 }]);
    const [commit, release] = await Promise.allSettled([
      client.call('commitStock', { idempotencyKey: `${id}:commit`, reservationId: id }),
      client.call('releaseStock', { idempotencyKey: `${id}:release`, reservationId: id }),
    ]);
    assert.equal([commit, release].filter((r) => r.status === 'fulfilled').length, 1);
    const counters = await stockOf(catalog.sql, p);
    assert.ok(
      (counters.sold === 2 && counters.available === 3) || (counters.sold === 0 && counters.available === 5),
      JSON.stringify(counters),
    );
  });
});

describe('the admin stock report', () => {
  test('lists every product’s counters and reservations by status, behind the admin token', async () => {
    const p = await product(8);
    const committed = newId();
    await reserve(committed, [{ productId: p, quantity: 3 }]);
    await client.call('commitStock', { idempotencyKey: `${committed}:c`, reservationId: committed });
    await reserve(newId(), [{ productId: p, quantity: 1 }]);

    const denied = await catalog.app.http.inject({ method: 'GET', url: '/v1/admin/stock' });
    assert.equal(denied.statusCode, 401);
    const forbidden = await catalog.app.http.inject({
      method: 'GET',
      url: '/v1/admin/stock',
      headers: { authorization: 'Bearer wrong-token-wrong-token' },
    });
    assert.equal(forbidden.statusCode, 403);

    const res = await catalog.app.http.inject({
      method: 'GET',
      url: '/v1/admin/stock',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(
      body.products.find((x: { id: string }) => x.id === p),
      { id: p, initial: 8, available: 4, reserved: 1, sold: 3, confirmedUnitsSold: 0 },
    );
    assert.ok(body.products.length >= 40);
    assert.deepEqual(body.violations, []);
    const { rows } = await catalog.sql.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM reservations GROUP BY status',
    );
    for (const row of rows) assert.equal(body.reservationsByStatus[row.status], row.n);
    assert.deepEqual(Object.keys(body.reservationsByStatus).sort(), ['COMMITTED', 'RELEASED', 'RESERVED', 'RESTOCKED']);

    const one = await catalog.app.http.inject({
      method: 'GET',
      url: `/v1/admin/reservations/${committed}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(one.statusCode, 200);
    assert.equal(one.json().status, 'COMMITTED');
    const missing = await catalog.app.http.inject({
      method: 'GET',
      url: '/v1/admin/reservations/ord-nope',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(missing.statusCode, 404);

    const all = await catalog.app.http.inject({
      method: 'GET',
      url: '/v1/admin/reservations',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(all.statusCode, 200);
    const statuses: Record<string, string> = all.json().statuses;
    assert.equal(statuses[committed], 'COMMITTED');
    assert.equal(statuses['ord-nope'], undefined);
    const counted: Record<string, number> = {};
    for (const status of Object.values(statuses)) counted[status] = (counted[status] ?? 0) + 1;
    for (const row of rows) assert.equal(counted[row.status], row.n, `every ${row.status} reservation is listed`);
  });

  test('the database refuses counters that break the invariant, whatever the code does', async () => {
    const p = await product(3);
    await assert.rejects(
      catalog.sql.query('UPDATE stock SET available = available - 1 WHERE product_id = $1', [p]),
      /stock_balance_check/,
    );
    await assert.rejects(
      catalog.sql.query('UPDATE stock SET available = available - 4, sold = sold + 4 WHERE product_id = $1', [p]),
      /stock_available_check/,
    );
  });
});
