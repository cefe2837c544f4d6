import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import { type Cart, checkLineQuantity, quantityAfterAdding, takeOutPurchase } from '../../src/domain/cart';

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
  const sixtyPens: Cart = { ...cart(0), lines: [{ productId: 'pen', quantity: 60, unitPrice: pens.price }] };
  assert.throws(() => quantityAfterAdding(sixtyPens, pens, 40), code('SHOP_LINE_LIMIT_EXCEEDED'));
  assert.equal(quantityAfterAdding(sixtyPens, pens, 39), 99);
});

describe('taking a purchase out of the cart', () => {
  const price = { amount: 100, currency: 'USD' };
  const withLines = (...lines: [string, number][]): Cart => ({
    userId: 'u1',
    version: 4,
    updatedAt: new Date(),
    lines: lines.map(([productId, quantity]) => ({ productId, quantity, unitPrice: price })),
  });

  test('exactly the bought units leave; a line left with none goes; lines not bought stay', () => {
    const result = takeOutPurchase(withLines(['book', 3], ['pen', 2], ['mug', 1]), [
      { productId: 'book', quantity: 2 },
      { productId: 'pen', quantity: 2 },
    ]);
    assert.deepEqual(result.reductions, [
      { productId: 'book', from: 3, to: 1 },
      { productId: 'pen', from: 2, to: 0 },
    ]);
    assert.deepEqual(result.removed, [
      { productId: 'book', quantity: 2 },
      { productId: 'pen', quantity: 2 },
    ]);
  });

  test('never more than the line holds now, and nothing for a product no longer in the cart', () => {
    const result = takeOutPurchase(withLines(['book', 1]), [
      { productId: 'book', quantity: 5 },
      { productId: 'gone', quantity: 1 },
    ]);
    assert.deepEqual(result.reductions, [{ productId: 'book', from: 1, to: 0 }]);
    assert.deepEqual(result.removed, [{ productId: 'book', quantity: 1 }]);
  });

  test('a product bought on two lines is taken out once with the sum', () => {
    const result = takeOutPurchase(withLines(['pen', 5]), [
      { productId: 'pen', quantity: 1 },
      { productId: 'pen', quantity: 2 },
    ]);
    assert.deepEqual(result.reductions, [{ productId: 'pen', from: 5, to: 2 }]);
  });

  test('an empty cart has nothing to take out', () => {
    assert.deepEqual(takeOutPurchase(withLines(), [{ productId: 'pen', quantity: 1 }]), {
      reductions: [],
      removed: [],
    });
  });
});
