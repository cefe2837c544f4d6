import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import { fingerprintOf, replay, resolveIdempotencyKey } from '../../src/domain/idempotency';
import { decodeCursor, decodePopularCursor, encodeCursor, encodePopularCursor } from '../../src/domain/product';
import { unitsPerProduct } from '../../src/domain/sales';
import {
  assertReservable,
  decideTransition,
  moveUnits,
  normalizeLines,
  type Reservation,
  type StockLevel,
  sameLines,
  stockBalances,
} from '../../src/domain/stock';
import { SEED_PRODUCTS } from '../../src/infrastructure/seed-data';

const level = (productId: string, available: number, reserved = 0, sold = 0): StockLevel => ({
  productId,
  initial: available + reserved + sold,
  available,
  reserved,
  sold,
});

function throwsCode(fn: () => unknown, code: string) {
  assert.throws(fn, (err: unknown) => err instanceof ShopError && err.code === code);
}

describe('reservation lines', () => {
  test('lines are summed per product and sorted by product id', () => {
    assert.deepEqual(
      normalizeLines([
        { productId: 'p-2', quantity: 1 },
        { productId: 'p-1', quantity: 2 },
        { productId: 'p-2', quantity: 3 },
      ]),
      [
        { productId: 'p-1', quantity: 2 },
        { productId: 'p-2', quantity: 4 },
      ],
    );
  });

  test('no lines, an empty product id or a non-positive quantity are validation errors', () => {
    throwsCode(() => normalizeLines([]), 'SHOP_VALIDATION_FAILED');
    throwsCode(() => normalizeLines([{ productId: '', quantity: 1 }]), 'SHOP_VALIDATION_FAILED');
    throwsCode(() => normalizeLines([{ productId: 'p', quantity: 0 }]), 'SHOP_VALIDATION_FAILED');
    throwsCode(() => normalizeLines([{ productId: 'p', quantity: 1.5 }]), 'SHOP_VALIDATION_FAILED');
    throwsCode(() => normalizeLines([{ productId: 'p', quantity: 10_001 }]), 'SHOP_VALIDATION_FAILED');
  });

  test('the same lines in another order are the same lines', () => {
    const a = [
      { productId: 'x', quantity: 1 },
      { productId: 'y', quantity: 2 },
    ];
    assert.ok(sameLines(a, [...a].reverse()));
    assert.ok(!sameLines(a, [{ productId: 'x', quantity: 1 }]));
    assert.ok(!sameLines(a, [a[0]!, { productId: 'y', quantity: 3 }]));
  });
});

describe('reserving', () => {
  test('the first short line is reported with what was requested and what is available', () => {
    const stock = new Map([
      ['a', level('a', 5)],
      ['b', level('b', 1)],
    ]);
    assert.throws(
      () =>
        assertReservable(
          [
            { productId: 'a', quantity: 5 },
            { productId: 'b', quantity: 2 },
          ],
          stock,
        ),
      (err: unknown) =>
        err instanceof ShopError &&
        err.code === 'SHOP_OUT_OF_STOCK' &&
        JSON.stringify(err.details) === JSON.stringify({ productId: 'b', requested: 2, available: 1 }),
    );
  });

  test('an unknown product is NOT_FOUND with its id', () => {
    throwsCode(() => assertReservable([{ productId: 'ghost', quantity: 1 }], new Map()), 'SHOP_NOT_FOUND');
  });

  test('exactly the available units can be reserved', () => {
    assertReservable([{ productId: 'a', quantity: 3 }], new Map([['a', level('a', 3)]]));
  });
});

describe('transitions', () => {
  const reservation = (status: Reservation['status']): Reservation => ({ id: 'r', status, lines: [] });

  test('each command moves a reservation only from its source state, and is a no-op in its target state', () => {
    assert.equal(decideTransition('commit', reservation('RESERVED')), 'move');
    assert.equal(decideTransition('commit', reservation('COMMITTED')), 'already-done');
    assert.equal(decideTransition('release', reservation('RESERVED')), 'move');
    assert.equal(decideTransition('release', reservation('RELEASED')), 'already-done');
    assert.equal(decideTransition('restock', reservation('COMMITTED')), 'move');
    assert.equal(decideTransition('restock', reservation('RESTOCKED')), 'already-done');
  });

  test('every other state is refused with FAILED_PRECONDITION', () => {
    const refused: [Parameters<typeof decideTransition>[0], Reservation['status']][] = [
      ['commit', 'RELEASED'],
      ['commit', 'RESTOCKED'],
      ['release', 'COMMITTED'],
      ['release', 'RESTOCKED'],
      ['restock', 'RESERVED'],
      ['restock', 'RELEASED'],
    ];
    for (const [command, status] of refused) {
      assert.throws(
        () => decideTransition(command, reservation(status)),
        (err: unknown) =>
          err instanceof ShopError && err.code === 'SHOP_RESERVATION_INVALID_STATE' && err.grpcStatus === 9,
        `${command} from ${status}`,
      );
    }
  });

  test('moving units keeps initial = available + reserved + sold and refuses to go negative', () => {
    const moved = moveUnits(level('a', 5, 2), ['reserved', 'sold'], 2);
    assert.deepEqual(moved, { productId: 'a', initial: 7, available: 5, reserved: 0, sold: 2 });
    assert.ok(stockBalances(moved));
    assert.throws(() => moveUnits(moved, ['reserved', 'sold'], 1));
    assert.ok(!stockBalances({ ...moved, available: 6 }));
  });
});

describe('idempotency keys', () => {
  test('the same request gives the same fingerprint whatever the key order', () => {
    assert.equal(
      fingerprintOf('reserve', { reservationId: 'r', lines: [{ productId: 'a', quantity: 1 }] }),
      fingerprintOf('reserve', { lines: [{ quantity: 1, productId: 'a' }], reservationId: 'r' }),
    );
    assert.notEqual(fingerprintOf('commit', { reservationId: 'r' }), fingerprintOf('release', { reservationId: 'r' }));
  });

  test('a recorded key replays its response for the same request and refuses a different one', () => {
    const fp = fingerprintOf('commit', { reservationId: 'r' });
    const record = { key: 'k', operation: 'commit' as const, fingerprint: fp, response: { id: 'r' } };
    assert.deepEqual(replay(record, 'commit', fp), { id: 'r' });
    throwsCode(() => replay(record, 'commit', 'other'), 'SHOP_IDEMPOTENCY_KEY_REUSED');
    throwsCode(() => replay(record, 'release', fp), 'SHOP_IDEMPOTENCY_KEY_REUSED');
  });

  test('the key comes from the request or the header; both must agree and one is required', () => {
    assert.equal(resolveIdempotencyKey('a', undefined), 'a');
    assert.equal(resolveIdempotencyKey('', 'b'), 'b');
    assert.equal(resolveIdempotencyKey('c', 'c'), 'c');
    throwsCode(() => resolveIdempotencyKey('a', 'b'), 'SHOP_VALIDATION_FAILED');
    throwsCode(() => resolveIdempotencyKey('', undefined), 'SHOP_VALIDATION_FAILED');
    throwsCode(() => resolveIdempotencyKey('x'.repeat(201), undefined), 'SHOP_VALIDATION_FAILED');
  });
});

describe('cursors and the seed', () => {
  test('a cursor round-trips and anything else is a validation error', () => {
    assert.equal(decodeCursor(encodeCursor('p-0042')), 'p-0042');
    throwsCode(() => decodeCursor('%%%'), 'SHOP_VALIDATION_FAILED');
    throwsCode(() => decodeCursor(Buffer.from('[]').toString('base64url')), 'SHOP_VALIDATION_FAILED');
    throwsCode(() => decodeCursor('abc'), 'SHOP_VALIDATION_FAILED');
  });

  test('the seed has unique ids and SKUs, five categories or more, prices in cents and stock from 5 to 100', () => {
    assert.ok(SEED_PRODUCTS.length >= 40);
    assert.equal(new Set(SEED_PRODUCTS.map((p) => p.id)).size, SEED_PRODUCTS.length);
    assert.equal(new Set(SEED_PRODUCTS.map((p) => p.sku)).size, SEED_PRODUCTS.length);
    assert.ok(new Set(SEED_PRODUCTS.map((p) => p.category)).size >= 5);
    for (const p of SEED_PRODUCTS) {
      assert.match(p.id, /^p-\d{4}$/);
      assert.ok(Number.isInteger(p.priceAmount) && p.priceAmount > 0, p.id);
      assert.ok(p.initialStock >= 5 && p.initialStock <= 100, p.id);
    }
  });
});

test('an order’s units per product are summed and come in product-id order', () => {
  assert.deepEqual(
    unitsPerProduct([
      { productId: 'p-2', quantity: 1 },
      { productId: 'p-1', quantity: 2 },
      { productId: 'p-2', quantity: 3 },
    ]),
    [
      { productId: 'p-1', quantity: 2 },
      { productId: 'p-2', quantity: 4 },
    ],
  );
});

test('a popularity cursor carries the units sold and the id; an id-order cursor is not one', () => {
  const cursor = encodePopularCursor({ unitsSold: 12, id: 'p-0007' });
  assert.deepEqual(decodePopularCursor(cursor), { unitsSold: 12, id: 'p-0007' });
  assert.throws(() => decodePopularCursor(encodeCursor('p-0007')), /cursor is not valid/);
});
