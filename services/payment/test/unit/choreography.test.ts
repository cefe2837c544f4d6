import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureFor, choreographyKey, STOCK_COMMITTED } from '../../src/application/choreography';

test('a commit of a choreography’s stock captures that order’s payment', () => {
  const committed = { type: STOCK_COMMITTED, data: { reservationId: 'order-1', lines: [] } };
  assert.equal(
    captureFor(committed, (id) => id === 'order-1'),
    'order-1',
  );
});

test('a commit of an orchestrated order’s stock, and any other event, captures nothing', () => {
  const committed = { type: STOCK_COMMITTED, data: { reservationId: 'order-2', lines: [] } };
  assert.equal(
    captureFor(committed, () => false),
    undefined,
  );
  assert.equal(
    captureFor({ type: 'shop.catalog.stock_reserved.v1', data: { reservationId: 'order-1' } }, () => true),
    undefined,
  );
  assert.equal(
    captureFor({ type: STOCK_COMMITTED, data: null }, () => true),
    undefined,
  );
  assert.equal(choreographyKey('order-1', 'authorize_payment'), 'order-1:choreography:authorize_payment');
});
