import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  choreographyKey,
  type OrderFacts,
  orderIdOf,
  orderReaction,
  PAYMENT_CAPTURED,
  RELEASED_REASON,
  STOCK_COMMITTED,
  STOCK_REFUSED,
  STOCK_RELEASED,
  STOCK_RESERVED,
} from '../../src/domain/choreography';

const pending: OrderFacts = { checkoutMode: 'choreographed', status: 'PENDING' };
const ORDER = '5b1f7a52-3c59-4a8e-9d0e-0f6b7c1d2e3f';
const stock = (type: string, extra: Record<string, unknown> = {}) => ({
  type,
  data: { reservationId: ORDER, lines: [{ productId: 'p', quantity: 1 }], ...extra },
});

test('the stock held makes the order hand the card to payment', () => {
  assert.deepEqual(orderReaction(stock(STOCK_RESERVED), pending), { kind: 'authorize' });
});

test('a refused reservation cancels with the catalog’s reason; a release cancels as a declined payment', () => {
  assert.deepEqual(orderReaction(stock(STOCK_REFUSED, { reason: 'out_of_stock' }), pending), {
    kind: 'cancel',
    reason: 'out_of_stock',
  });
  assert.deepEqual(orderReaction(stock(STOCK_REFUSED), pending), { kind: 'cancel', reason: 'reservation_refused' });
  assert.deepEqual(orderReaction(stock(STOCK_RELEASED), pending), { kind: 'cancel', reason: RELEASED_REASON });
});

test('the capture and the commit, heard in either order: the second one confirms with the payment id', () => {
  const captured = { type: PAYMENT_CAPTURED, data: { orderId: ORDER, paymentId: 'pay-1' } };
  // The commit heard first: the capture confirms.
  assert.deepEqual(orderReaction(captured, { ...pending, stockCommitted: true }), {
    kind: 'confirm',
    paymentId: 'pay-1',
  });
  // The capture heard first: remembered, and the commit confirms.
  assert.deepEqual(orderReaction(captured, pending), { kind: 'await_commit' });
  assert.deepEqual(orderReaction(stock(STOCK_COMMITTED), { ...pending, capturedPaymentId: 'pay-1' }), {
    kind: 'confirm',
    paymentId: 'pay-1',
  });
  assert.equal(orderReaction(stock(STOCK_COMMITTED), pending).kind, 'ignore');
  assert.equal(orderReaction({ type: PAYMENT_CAPTURED, data: { orderId: ORDER } }, pending).kind, 'ignore');
});

test('orchestrated, ended and unknown orders, and events needing nothing, are ignored', () => {
  const reserved = stock(STOCK_RESERVED);
  assert.equal(orderReaction(reserved, { checkoutMode: 'orchestrated', status: 'PENDING' }).kind, 'ignore');
  assert.equal(orderReaction(reserved, { checkoutMode: 'two-phase', status: 'PENDING' }).kind, 'ignore');
  assert.equal(orderReaction(reserved, { checkoutMode: 'choreographed', status: 'CONFIRMED' }).kind, 'ignore');
  assert.equal(
    orderReaction(stock(STOCK_RELEASED), { checkoutMode: 'choreographed', status: 'CANCELLED' }).kind,
    'ignore',
  );
  assert.equal(orderReaction(reserved, undefined).kind, 'ignore');
  assert.equal(orderReaction(stock('shop.catalog.stock_committed.v1'), pending).kind, 'ignore');
  assert.equal(orderReaction({ type: 'shop.payment.authorized.v1', data: { orderId: ORDER } }, pending).kind, 'ignore');
});

test('an event names its order by reservation id (stock) or order id (payment)', () => {
  assert.equal(orderIdOf(stock(STOCK_RESERVED)), ORDER);
  assert.equal(orderIdOf({ type: PAYMENT_CAPTURED, data: { orderId: ORDER, paymentId: 'x' } }), ORDER);
  assert.equal(orderIdOf({ type: 'x', data: null }), undefined);
  assert.equal(choreographyKey(ORDER, 'authorize_payment'), `${ORDER}:choreography:authorize_payment`);
  assert.notEqual(choreographyKey(ORDER, 'authorize_payment'), `${ORDER}:authorize_payment`);
});
