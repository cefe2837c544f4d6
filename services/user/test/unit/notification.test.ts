import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatMoney,
  orderCancelledNotification,
  orderConfirmedNotification,
  welcomeNotification,
} from '../../src/domain/notification';

const ada = { id: '0b7e4c2a-1d2f-4e5a-9b8c-7d6e5f4a3b2c', email: 'ada@example.com', name: 'Ada' };

test('money is shown in major units with two decimals and the currency', () => {
  assert.equal(formatMoney({ amount: 0, currency: 'USD' }), 'USD 0.00');
  assert.equal(formatMoney({ amount: 5, currency: 'USD' }), 'USD 0.05');
  assert.equal(formatMoney({ amount: 123456789, currency: 'EUR' }), 'EUR 1,234,567.89');
  assert.equal(formatMoney({ amount: -1999, currency: 'USD' }), 'USD -19.99');
});

test('a welcome goes to the user’s address and belongs to no order', () => {
  const n = welcomeNotification(ada);
  assert.deepEqual(
    [n.kind, n.userId, n.email, n.orderId, n.subject],
    ['welcome', ada.id, ada.email, null, 'Welcome to ShopLab, Ada'],
  );
});

test('an order confirmation lists every line and the total', () => {
  const n = orderConfirmedNotification(ada, {
    orderId: 'ord-1',
    lines: [
      { productId: 'p-1', name: 'Mug', quantity: 2, lineTotal: { amount: 1700, currency: 'USD' } },
      { productId: 'p-2', quantity: 1 },
    ],
    total: { amount: 2500, currency: 'USD' },
  });
  assert.equal(n.kind, 'order_confirmed');
  assert.equal(n.orderId, 'ord-1');
  assert.match(n.body, /2 × Mug — USD 17\.00/);
  assert.match(n.body, /1 × p-2\n/, 'a line without a name shows its product id');
  assert.match(n.body, /Total: USD 25\.00/);
});

test('a cancellation says why', () => {
  const n = orderCancelledNotification(ada, {
    orderId: 'ord-2',
    reason: 'out of stock',
    total: { amount: 100, currency: 'USD' },
  });
  assert.equal(n.kind, 'order_cancelled');
  assert.match(n.subject, /ord-2 was cancelled/);
  assert.match(n.body, /Reason: out of stock/);
});
