// The guard that make check runs around its live tests (shop-guard.ts): what counts as
// disturbing the user's shop. Pure comparisons of two snapshots; no stack needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { disturbances, type ShopSnapshot } from './shop-guard';

const stock = (initial: number, sold = 0, reserved = 0) => ({
  initial,
  available: initial - sold - reserved,
  reserved,
  sold,
});

const before: ShopSnapshot = {
  takenAt: '2026-12-05T08:00:00.000Z',
  orders: { 'o-1': 'CONFIRMED', 'o-2': 'CANCELLED' },
  products: { mug: stock(100, 3), book: stock(50) },
};

test('what the tests add (products, orders) does not disturb the shop', () => {
  const after: ShopSnapshot = {
    ...before,
    orders: { ...before.orders, 'o-test': 'CONFIRMED' },
    products: { ...before.products, 'p-test': stock(10, 1) },
  };
  assert.deepEqual(disturbances(before, after), []);
});

test('an order or a product that disappeared, or an ended order that changed, is reported', () => {
  const after: ShopSnapshot = { ...before, orders: { 'o-2': 'CONFIRMED' }, products: { mug: stock(100, 3) } };
  assert.deepEqual(disturbances(before, after), [
    'order o-1 (CONFIRMED) disappeared',
    'order o-2 went from CANCELLED to CONFIRMED',
    'product book disappeared',
  ]);
});

test("buying the user's products is reported when nothing of the user's was pending", () => {
  const after: ShopSnapshot = { ...before, products: { mug: stock(100, 4), book: stock(60) } };
  assert.deepEqual(disturbances(before, after), [
    "product mug of the user's shop was bought: reserved 0 → 0, sold 3 → 4",
    'product book: initial stock 50 → 60',
  ]);
});

test("a user's order still PENDING before may move stock; sold going down never may", () => {
  const pending: ShopSnapshot = { ...before, orders: { ...before.orders, 'o-3': 'PENDING' } };
  const after: ShopSnapshot = {
    ...before,
    orders: { ...before.orders, 'o-3': 'CONFIRMED' },
    products: { mug: stock(100, 4), book: stock(50) },
  };
  assert.deepEqual(disturbances(pending, after), []);
  const restocked: ShopSnapshot = { ...after, products: { mug: stock(100, 2), book: stock(50) } };
  assert.deepEqual(disturbances(pending, restocked), ['product mug: sold 3 → 2']);
});
