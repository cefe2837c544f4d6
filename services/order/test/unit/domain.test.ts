import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import { checkoutCardSchema } from '@shoplab/contracts';
import { canonicalJson, IDEMPOTENCY_KEY_PATTERN, passesLuhn, validateCard } from '../../src/domain/checkout-request';
import { decodeCursor, encodeCursor, pageSize } from '../../src/domain/cursor';
import { type PricedProduct, priceCart, sortTimeline, type TimelineEntry } from '../../src/domain/order';

const catalog = (...products: [string, number, string?][]) =>
  new Map<string, PricedProduct>(
    products.map(([id, amount, currency = 'USD']) => [id, { id, name: `Product ${id}`, price: { amount, currency } }]),
  );
const shopCode = (code: string) => (err: unknown) => err instanceof ShopError && err.code === code;

test('a cart is priced at the catalog’s prices, one line per product', () => {
  const priced = priceCart(
    [
      { productId: 'a', quantity: 2 },
      { productId: 'b', quantity: 1 },
      { productId: 'a', quantity: 1 },
    ],
    catalog(['a', 1999], ['b', 500]),
  );
  assert.deepEqual(
    priced.lines.map((l) => [l.productId, l.quantity, l.unitPrice.amount, l.lineTotal.amount]),
    [
      ['a', 3, 1999, 5997],
      ['b', 1, 500, 500],
    ],
  );
  assert.deepEqual(priced.total, { amount: 6497, currency: 'USD' });
});

test('an empty cart is refused with SHOP_CART_EMPTY', () => {
  assert.throws(() => priceCart([], catalog()), shopCode('SHOP_CART_EMPTY'));
  assert.throws(() => priceCart([{ productId: 'a', quantity: 0 }], catalog(['a', 1])), shopCode('SHOP_CART_EMPTY'));
});

test('a product the catalog does not know is refused, naming it', () => {
  assert.throws(
    () => priceCart([{ productId: 'gone', quantity: 1 }], catalog(['a', 1])),
    (err: unknown) =>
      shopCode('SHOP_PRODUCT_UNAVAILABLE')(err) && (err as ShopError).details?.missingProductIds?.toString() === 'gone',
  );
});

test('a cart that mixes currencies is refused', () => {
  assert.throws(
    () =>
      priceCart(
        [
          { productId: 'a', quantity: 1 },
          { productId: 'b', quantity: 1 },
        ],
        catalog(['a', 1], ['b', 1, 'EUR']),
      ),
    shopCode('SHOP_BAD_REQUEST'),
  );
});

test('card numbers are checked with Luhn and normalised to digits', () => {
  assert.ok(passesLuhn('4242424242424242'));
  assert.ok(!passesLuhn('4242424242424241'));
  const now = new Date('2026-11-27T00:00:00Z');
  const card = validateCard({ number: '4242 4242-4242 4242', expMonth: 11, expYear: 2026, cvc: '123' }, now);
  assert.equal(card.number, '4242424242424242');
});

test('an expired card, a bad number or a bad CVC is SHOP_INVALID_CARD', () => {
  const now = new Date('2026-11-27T00:00:00Z');
  const ok = { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' };
  assert.throws(() => validateCard({ ...ok, expMonth: 10, expYear: 2026 }, now), shopCode('SHOP_INVALID_CARD'));
  assert.throws(() => validateCard({ ...ok, number: '4242424242424241' }, now), shopCode('SHOP_INVALID_CARD'));
  assert.throws(() => validateCard({ ...ok, cvc: '12' }, now), shopCode('SHOP_INVALID_CARD'));
  // 11 and 20 digits (both pass Luhn), letters, a tab: not 12–19 digits with spaces and dashes.
  for (const number of ['42424242420', '42424242424242424242', '4242a4242424242', '4242\t4242424242424242']) {
    assert.throws(() => validateCard({ ...ok, number }, now), shopCode('SHOP_INVALID_CARD'), number);
  }
});

test('the request schema and validateCard are one rule: a number the schema accepts fails only Luhn', () => {
  const now = new Date('2026-11-27T00:00:00Z');
  const ok = { number: '4242424242424242', expMonth: 12, expYear: 2030, cvc: '123' };
  // Digits 12 to 19 long that pass Luhn, written with the separators the schema allows.
  for (const number of ['4242-4242-4242', '424242424242424242', ' 4000 0000 0000 0002 ']) {
    assert.equal(checkoutCardSchema.safeParse({ ...ok, number }).success, true, number);
    validateCard({ ...ok, number }, now);
  }
  for (const number of ['42424242420', '4242 4242 4242 4242 4242', '4242_4242_4242_4242']) {
    assert.equal(checkoutCardSchema.safeParse({ ...ok, number }).success, false, number);
  }
});

test('canonical JSON ignores key order and undefined members', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } }),
    '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}',
  );
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
});

test('Idempotency-Keys are 8 to 128 characters of a safe alphabet', () => {
  assert.ok(IDEMPOTENCY_KEY_PATTERN.test('abc-123_:.XYZ'));
  assert.ok(!IDEMPOTENCY_KEY_PATTERN.test('short'));
  assert.ok(!IDEMPOTENCY_KEY_PATTERN.test('has spaces in it'));
  assert.ok(!IDEMPOTENCY_KEY_PATTERN.test('x'.repeat(129)));
});

test('a cursor round-trips and a forged one is SHOP_VALIDATION_FAILED', () => {
  const cursor = { createdAt: new Date('2026-11-27T10:00:00.123Z'), id: '0b8c8a7e-7f43-4a43-9a0a-3f1f0e0e0e0e' };
  assert.deepEqual(decodeCursor(encodeCursor(cursor)), cursor);
  assert.throws(() => decodeCursor('bogus'), shopCode('SHOP_VALIDATION_FAILED'));
  assert.equal(pageSize(undefined), 20);
  assert.equal(pageSize(0), 20);
  assert.throws(() => pageSize(101), shopCode('SHOP_VALIDATION_FAILED'));
});

test('a timeline sorted by HLC puts an effect after its cause; entries without an HLC first, in wall order', () => {
  const entry = (step: string, startedAt: string, hlc?: string): TimelineEntry => ({
    kind: 'step',
    step,
    attempt: 1,
    outcome: 'SUCCEEDED',
    startedAt,
    ...(hlc ? { hlc } : {}),
  });
  // In wall order: the payment's clock was 30 s behind the order's.
  const byWall = [
    entry('old-a', '2026-01-01T09:00:00.000Z'),
    entry('shop.payment.authorized.v1', '2026-01-01T09:59:40.000Z', '001767261610000-000002'),
    entry('old-b', '2026-01-01T09:59:50.000Z'),
    entry('authorize_payment', '2026-01-01T10:00:10.000Z', '001767261610000-000000'),
    entry('capture_payment', '2026-01-01T10:00:11.000Z', '001767261611000-000000'),
  ];
  assert.deepEqual(
    sortTimeline(byWall, 'hlc').map((e) => e.step),
    ['old-a', 'old-b', 'authorize_payment', 'shop.payment.authorized.v1', 'capture_payment'],
  );
  assert.deepEqual(sortTimeline(byWall, 'wall'), byWall);
  assert.equal(byWall[1]?.step, 'shop.payment.authorized.v1', 'the input is left as it was');
});
