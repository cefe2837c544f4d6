import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import {
  checkMoney,
  type PaymentRecord,
  type PaymentStatus,
  planCapture,
  planRefund,
  planVoid,
} from '../../src/domain/payment';

function payment(status: PaymentStatus, captured = 0, refunded = 0): PaymentRecord {
  const at = new Date('2026-11-27T12:00:00Z');
  return {
    id: 'p-1',
    orderId: 'o-1',
    status,
    currency: 'USD',
    amount: 5000,
    capturedAmount: captured,
    refundedAmount: refunded,
    cardLast4: '4242',
    declineReason: null,
    createdAt: at,
    updatedAt: at,
  };
}

const code = (expected: string) => (err: unknown) => err instanceof ShopError && err.code === expected;

test('only an authorized payment is captured; capturing a captured one changes nothing', () => {
  assert.equal(planCapture(payment('AUTHORIZED')), 'capture');
  assert.equal(planCapture(payment('CAPTURED', 5000)), 'already-captured');
  for (const s of ['VOIDED', 'REFUNDED', 'DECLINED'] as const) {
    assert.throws(() => planCapture(payment(s)), code('SHOP_PAYMENT_INVALID_STATE'), s);
  }
});

test('voiding a voided or declined payment is a no-op; voiding a captured one is refused', () => {
  assert.equal(planVoid(payment('AUTHORIZED')), 'void');
  assert.equal(planVoid(payment('VOIDED')), 'nothing-to-void');
  assert.equal(planVoid(payment('DECLINED')), 'nothing-to-void');
  assert.throws(() => planVoid(payment('CAPTURED', 5000)), code('SHOP_PAYMENT_INVALID_STATE'));
  assert.throws(() => planVoid(payment('REFUNDED', 5000, 100)), code('SHOP_PAYMENT_INVALID_STATE'));
});

test('refunds add up to the captured amount and never beyond it', () => {
  assert.deepEqual(planRefund(payment('CAPTURED', 5000), { amount: 2000, currency: 'USD' }), { refundedAmount: 2000 });
  assert.deepEqual(planRefund(payment('REFUNDED', 5000, 2000), { amount: 3000, currency: 'USD' }), {
    refundedAmount: 5000,
  });
  assert.throws(
    () => planRefund(payment('REFUNDED', 5000, 2000), { amount: 3001, currency: 'USD' }),
    code('SHOP_REFUND_EXCEEDS_CAPTURE'),
  );
  assert.throws(
    () => planRefund(payment('AUTHORIZED'), { amount: 1, currency: 'USD' }),
    code('SHOP_PAYMENT_INVALID_STATE'),
  );
  assert.throws(
    () => planRefund(payment('CAPTURED', 5000), { amount: 1, currency: 'EUR' }),
    code('SHOP_VALIDATION_FAILED'),
  );
});

test('money must be a positive whole amount in a three-letter currency', () => {
  assert.deepEqual(checkMoney({ amount: 1999, currency: 'USD' }, 'amount'), { amount: 1999, currency: 'USD' });
  for (const bad of [
    { amount: 0, currency: 'USD' },
    { amount: -5, currency: 'USD' },
    { amount: 1.5, currency: 'USD' },
    { amount: 100, currency: 'usd' },
    { amount: 100, currency: '' },
  ]) {
    assert.throws(() => checkMoney(bad, 'amount'), code('SHOP_VALIDATION_FAILED'), JSON.stringify(bad));
  }
  assert.throws(() => checkMoney(undefined, 'amount'), code('SHOP_VALIDATION_FAILED'));
});
