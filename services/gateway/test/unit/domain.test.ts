import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composeCart } from '../../src/domain/cart-view';
import { OrderEventTracker } from '../../src/domain/order-events';
import { ProductCache } from '../../src/domain/product-cache';
import type { OrderView, ProductView } from '../../src/domain/views';

const usd = (amount: number) => ({ amount, currency: 'USD' });
const productView = (id: string, price: number, available: number): ProductView => ({
  id,
  sku: id,
  name: `Name ${id}`,
  description: '',
  category: 'books',
  price: usd(price),
  available,
  imageUrl: null,
});
const stored = {
  userId: 'u1',
  version: 3,
  lines: [
    { productId: 'a', quantity: 2, unitPrice: usd(500) },
    { productId: 'gone', quantity: 1, unitPrice: usd(300) },
  ],
};

test('a composed cart prices lines at the current price and counts items', () => {
  const cart = composeCart(stored, new Map([['a', productView('a', 600, 4)]]));
  assert.deepEqual(cart.lines[0], {
    productId: 'a',
    name: 'Name a',
    quantity: 2,
    unitPrice: usd(500),
    currentPrice: usd(600),
    available: 4,
    lineTotal: usd(1200),
  });
  assert.equal(cart.itemCount, 3);
  assert.equal(cart.degraded, undefined);
});

test('a product the catalog no longer has keeps its stored price and shows nothing available', () => {
  const cart = composeCart(stored, new Map([['a', productView('a', 600, 4)]]));
  assert.deepEqual(cart.lines[1], {
    productId: 'gone',
    name: null,
    quantity: 1,
    unitPrice: usd(300),
    currentPrice: null,
    available: 0,
    lineTotal: usd(300),
  });
  assert.deepEqual(cart.total, usd(1500));
});

test('without the catalog a cart is totalled at stored prices and marked degraded', () => {
  const cart = composeCart(stored, undefined);
  assert.deepEqual(cart.total, usd(1300));
  assert.deepEqual(cart.degraded, ['catalog']);
  assert.ok(cart.lines.every((l) => l.available === null && l.currentPrice === null));
});

test('an empty cart totals zero in the default currency', () => {
  const cart = composeCart({ userId: 'u', version: 0, lines: [] }, new Map());
  assert.deepEqual(cart.total, usd(0));
  assert.equal(cart.itemCount, 0);
});

test('the product cache forgets entries after their TTL and the oldest when full', () => {
  let now = 0;
  const cache = new ProductCache(1_000, 2, () => now);
  cache.put(productView('a', 1, 1));
  cache.put(productView('b', 1, 1));
  cache.put(productView('c', 1, 1));
  assert.equal(cache.get('a'), undefined, 'evicted as the oldest');
  assert.equal(cache.get('b')?.id, 'b');
  now = 1_000;
  assert.equal(cache.get('c'), undefined, 'expired');
});

test('the product cache says how old an entry is, from when it was last put', () => {
  let now = 5_000;
  const cache = new ProductCache(1_000, 10, () => now);
  cache.put(productView('a', 1, 1));
  now = 5_400;
  assert.equal(cache.entry('a')?.ageMs, 400);
  cache.put(productView('a', 1, 2));
  now = 5_500;
  assert.equal(cache.entry('a')?.ageMs, 100, 'a fresh put starts the age again');
  assert.equal(cache.entry('a')?.product.available, 2);
  assert.equal(cache.entry('missing'), undefined);
});

const order = (status: OrderView['status'], steps: [string, string][]): OrderView => ({
  id: 'o1',
  userId: 'u1',
  status,
  lines: [],
  total: usd(0),
  cancelReason: status === 'CANCELLED' ? 'out of stock' : null,
  paymentId: null,
  timeline: steps.map(([step, outcome]) => ({
    kind: 'step' as const,
    step,
    attempt: 1,
    outcome,
    error: null,
    traceId: null,
    startedAt: 't0',
    finishedAt: null,
    lamport: null,
    hlc: null,
  })),
  createdAt: 't0',
  updatedAt: 't0',
});

test('order events report each new step and status change once, numbered in sequence', () => {
  const tracker = new OrderEventTracker();
  const first = tracker.next(order('PENDING', [['reserve', 'STARTED']]));
  assert.deepEqual(
    first.map((e) => [e.id, e.event]),
    [
      [1, 'status'],
      [2, 'step'],
    ],
  );
  assert.deepEqual(tracker.next(order('PENDING', [['reserve', 'STARTED']])), [], 'nothing new, nothing sent');
  const later = tracker.next(
    order('CANCELLED', [
      ['reserve', 'STARTED'],
      ['reserve', 'FAILED'],
    ]),
  );
  assert.deepEqual(
    later.map((e) => [e.id, e.event]),
    [
      [3, 'step'],
      [4, 'status'],
    ],
  );
  assert.deepEqual(later[1]?.data, { orderId: 'o1', status: 'CANCELLED', cancelReason: 'out of stock' });
  assert.equal(tracker.finished, true);
});
