import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PaymentRecord } from '../../src/domain/payment';
import { evolve, type PaymentEventData, replay, snapshotOf, stateOfSnapshot } from '../../src/domain/payment-events';

const ID = '6f1c8a1e-0000-4000-8000-000000000001';
const t = (s: number) => new Date(Date.UTC(2026, 11, 5, 12, 0, s));
const ev = (version: number, data: PaymentEventData) => ({ version, data, recordedAt: t(version) });

test('a stream folds into the payment: authorized, captured, refunded twice', () => {
  const agg = replay(ID, undefined, [
    ev(1, { type: 'PaymentAuthorized', orderId: 'o-1', amount: 1000, currency: 'USD', cardLast4: '4242' }),
    ev(2, { type: 'PaymentCaptured', amount: 1000, currency: 'USD' }),
    ev(3, { type: 'PaymentRefunded', amount: 300, currency: 'USD' }),
    ev(4, { type: 'PaymentRefunded', amount: 200, currency: 'USD' }),
  ]);
  assert.deepEqual(agg, {
    version: 4,
    state: {
      id: ID,
      orderId: 'o-1',
      status: 'REFUNDED',
      currency: 'USD',
      amount: 1000,
      capturedAmount: 1000,
      refundedAmount: 500,
      cardLast4: '4242',
      declineReason: null,
      createdAt: t(1),
      updatedAt: t(4),
    } satisfies PaymentRecord,
  });
});

test('a snapshot plus the events after it is the same payment as the whole stream', () => {
  const events = [
    ev(1, { type: 'PaymentAuthorized', orderId: 'o-2', amount: 50, currency: 'EUR', cardLast4: '1111' }),
    ev(2, { type: 'PaymentVoided', amount: 50, currency: 'EUR' }),
  ];
  const whole = replay(ID, undefined, events);
  const head = replay(ID, undefined, events.slice(0, 1));
  assert.ok(head);
  const fromSnapshot = replay(
    ID,
    { state: stateOfSnapshot(JSON.parse(JSON.stringify(snapshotOf(head.state)))), version: head.version },
    events.slice(1),
  );
  assert.deepEqual(fromSnapshot, whole);
  assert.equal(whole?.state.status, 'VOIDED');
});

test('a declined payment keeps its reason; an empty stream is no payment', () => {
  const declined = evolve(
    undefined,
    ID,
    { type: 'PaymentDeclined', orderId: 'o-3', amount: 9, currency: 'USD', cardLast4: '0002', reason: 'card_declined' },
    t(0),
  );
  assert.equal(declined.status, 'DECLINED');
  assert.equal(declined.declineReason, 'card_declined');
  assert.equal(replay(ID, undefined, []), undefined);
});

test('a corrupt stream is refused: a gap in versions, a second start, a stream not started', () => {
  const start = ev(1, { type: 'PaymentAuthorized', orderId: 'o', amount: 1, currency: 'USD', cardLast4: '4242' });
  assert.throws(
    () => replay(ID, undefined, [start, ev(3, { type: 'PaymentVoided', amount: 1, currency: 'USD' })]),
    /version 3 where 2/,
  );
  assert.throws(() => replay(ID, undefined, [start, { ...start, version: 2 }]), /already started/);
  assert.throws(
    () => replay(ID, undefined, [ev(1, { type: 'PaymentCaptured', amount: 1, currency: 'USD' })]),
    /starts with/,
  );
});
