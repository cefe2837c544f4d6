import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ShopError } from '@shoplab/chassis/errors';
import { checkCard, luhnValid, normalizeCardNumber } from '../../src/domain/card';

const now = new Date('2026-11-27T12:00:00Z');
const card = (number: string, extra: Partial<{ expMonth: number; expYear: number; cvc: string }> = {}) => ({
  number,
  expMonth: 12,
  expYear: 2030,
  cvc: '123',
  ...extra,
});

function refusedAsInvalid(field: string) {
  return (err: unknown) => {
    assert.ok(err instanceof ShopError);
    assert.equal(err.code, 'SHOP_INVALID_CARD');
    assert.equal(err.details?.field, field);
    return true;
  };
}

test('the Luhn checksum accepts the test cards and rejects a changed digit', () => {
  assert.ok(luhnValid('4242424242424242'));
  assert.ok(luhnValid('4000000000000002'));
  assert.ok(luhnValid('4000000000009995'));
  assert.ok(!luhnValid('4242424242424241'));
});

test('spaces and dashes are allowed in a card number, other characters are not', () => {
  assert.equal(normalizeCardNumber('4242 4242-4242 4242'), '4242424242424242');
  assert.equal(normalizeCardNumber('4242x4242'), undefined);
});

test('4242 4242 4242 4242 is approved and only its last four digits are kept', () => {
  const checked = checkCard(card('4242 4242 4242 4242'), now);
  assert.deepEqual(checked.decision, { outcome: 'approved' });
  assert.equal(checked.last4, '4242');
  assert.ok(!JSON.stringify(checked).includes('42424242'));
});

test('4000 0000 0000 0002 is declined with SHOP_PAYMENT_DECLINED', () => {
  const { decision } = checkCard(card('4000 0000 0000 0002'), now);
  assert.deepEqual(decision, { outcome: 'declined', code: 'SHOP_PAYMENT_DECLINED', reason: 'card_declined' });
});

test('4000 0000 0000 9995 is declined with SHOP_INSUFFICIENT_FUNDS', () => {
  const { decision } = checkCard(card('4000-0000-0000-9995'), now);
  assert.deepEqual(decision, { outcome: 'declined', code: 'SHOP_INSUFFICIENT_FUNDS', reason: 'insufficient_funds' });
});

test('any other Luhn-valid number of 12 to 19 digits is approved', () => {
  for (const n of ['5555555555554444', '378282246310005', '000000000000', '4000000000000000006']) {
    assert.equal(checkCard(card(n), now).decision.outcome, 'approved', n);
  }
});

test('a number that fails Luhn, is too short or too long, or has letters is SHOP_INVALID_CARD', () => {
  for (const n of ['4242424242424241', '42424242426', '42424242424242424242', '4242abcd42424242', '']) {
    assert.throws(() => checkCard(card(n), now), refusedAsInvalid('number'), n);
  }
});

test('an expired card is SHOP_INVALID_CARD; a card is valid through its expiry month', () => {
  assert.throws(
    () => checkCard(card('4242424242424242', { expMonth: 10, expYear: 2026 }), now),
    refusedAsInvalid('expYear'),
  );
  assert.equal(checkCard(card('4242424242424242', { expMonth: 11, expYear: 2026 }), now).decision.outcome, 'approved');
  assert.equal(checkCard(card('4242424242424242', { expMonth: 1, expYear: 27 }), now).expYear, 2027);
  assert.throws(() => checkCard(card('4242424242424242', { expMonth: 13 }), now), refusedAsInvalid('expMonth'));
});

test('the cvc must be 3 or 4 digits', () => {
  assert.equal(checkCard(card('4242424242424242', { cvc: '1234' }), now).decision.outcome, 'approved');
  for (const cvc of ['12', '12345', 'abc', '']) {
    assert.throws(() => checkCard(card('4242424242424242', { cvc }), now), refusedAsInvalid('cvc'), cvc);
  }
});

test('an invalid card error never repeats the number', () => {
  try {
    checkCard(card('4242424242424241'), now);
    assert.fail('expected a refusal');
  } catch (err) {
    assert.ok(
      !JSON.stringify({ message: (err as Error).message, details: (err as ShopError).details }).includes('4242'),
    );
  }
});
