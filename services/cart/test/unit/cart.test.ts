import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import { type Cart, checkLineQuantity, quantityAfterAdding } from '../../src/domain/cart';

const mug = { id: 'mug', price: { amount: 850, currency: 'USD' }, available: 3 };
const pens = { id: 'pen', price: { amount: 120, currency: 'USD' }, available: 1_000 };
const cart = (quantity: number): Cart => ({
  userId: 'u1',
  version: 1,
  updatedAt: new Date(),
  lines: [{ productId: 'mug', quantity, unitPrice: mug.price }],
});
const code = (expected: string) => (err: unknown) => err instanceof ShopError && err.code === expected;

test('adding to a product already in the cart adds to its line', () => {
  assert.equal(quantityAfterAdding(cart(1), mug, 2), 3);
  assert.equal(quantityAfterAdding(cart(1), pens, 2), 2);
});

test('a line beyond the available stock is SHOP_OUT_OF_STOCK with what is available', () => {
  assert.throws(
    () => quantityAfterAdding(cart(2), mug, 2),
    (err) => code('SHOP_OUT_OF_STOCK')(err) && (err as ShopError).details?.available === 3,
  );
});

test('a line holds 1 to 99 units', () => {
  assert.equal(checkLineQuantity(99, pens), 99);
  assert.throws(() => checkLineQuantity(100, pens), code('SHOP_VALIDATION_FAILED'));
  assert.throws(() => checkLineQuantity(0, pens), code('SHOP_VALIDATION_FAILED'));
  assert.throws(() => checkLineQuantity(1.5, pens), code('SHOP_VALIDATION_FAILED'));
});
