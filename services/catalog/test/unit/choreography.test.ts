import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis';
import {
  catalogReaction,
  choreographyKey,
  ORDER_CANCELLED,
  ORDER_CREATED,
  PAYMENT_AUTHORIZED,
  PAYMENT_DECLINED,
  refusalOf,
} from '../../src/application/choreography';

const ORDER = 'order-1';
const created = (checkoutMode?: string) => ({
  type: ORDER_CREATED,
  data: {
    orderId: ORDER,
    lines: [{ productId: 'p', quantity: 2, name: 'P', unitPrice: { amount: 1, currency: 'USD' } }],
    ...(checkoutMode ? { checkoutMode } : {}),
  },
});
const held = () => true;
const notHeld = () => false;

test('a choreographed order.created reserves its lines (quantities only); other modes reserve nothing', () => {
  assert.deepEqual(catalogReaction(created('choreographed'), notHeld), {
    kind: 'reserve',
    orderId: ORDER,
    lines: [{ productId: 'p', quantity: 2 }],
  });
  assert.equal(catalogReaction(created('orchestrated'), notHeld).kind, 'ignore');
  assert.equal(catalogReaction(created(), notHeld).kind, 'ignore');
});

test('payment events move only the reservations a choreography holds', () => {
  const authorized = { type: PAYMENT_AUTHORIZED, data: { orderId: ORDER } };
  const declined = { type: PAYMENT_DECLINED, data: { orderId: ORDER } };
  const cancelled = { type: ORDER_CANCELLED, data: { orderId: ORDER } };
  assert.deepEqual(catalogReaction(authorized, held), { kind: 'commit', orderId: ORDER });
  assert.deepEqual(catalogReaction(declined, held), { kind: 'release', orderId: ORDER });
  assert.deepEqual(catalogReaction(cancelled, held), { kind: 'release', orderId: ORDER });
  for (const event of [authorized, declined, cancelled]) assert.equal(catalogReaction(event, notHeld).kind, 'ignore');
  assert.equal(catalogReaction({ type: 'shop.payment.captured.v1', data: { orderId: ORDER } }, held).kind, 'ignore');
});

test('a refused reserve is announced with the saga’s reasons; a technical failure is not a refusal', () => {
  assert.equal(refusalOf(new ShopError('SHOP_OUT_OF_STOCK', 'no')), 'out_of_stock');
  assert.equal(refusalOf(new ShopError('SHOP_PRODUCT_UNAVAILABLE', 'gone')), 'product_unavailable');
  assert.equal(refusalOf(new ShopError('SHOP_ALREADY_EXISTS', 'other lines')), 'reservation_refused');
  assert.equal(refusalOf(new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'db')), undefined);
  assert.equal(refusalOf(new Error('boom')), undefined);
  assert.equal(choreographyKey(ORDER, 'reserve_stock'), 'order-1:choreography:reserve_stock');
});
