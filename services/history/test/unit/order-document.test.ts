// The projection, pure: facts + event → facts, facts → document; in any arrival order, with
// redeliveries, and with bad data.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createEvent, type DomainEvent, PoisonMessageError } from '@shoplab/chassis';
import { applyEvent, type OrderFacts, searchText, toDocument } from '../../src/domain/order-document';

const orderId = randomUUID();
const userId = randomUUID();
const paymentId = randomUUID();
const usd = (amount: number) => ({ amount, currency: 'USD' });
const at = (second: number) => new Date(Date.UTC(2026, 11, 5, 10, 0, second));

const created = createEvent({
  service: 'order',
  type: 'shop.order.created.v1',
  subject: orderId,
  time: at(0),
  data: {
    orderId,
    userId,
    status: 'PENDING',
    lines: [
      { productId: 'mug', name: 'Blue Enamel Mug', quantity: 2, unitPrice: usd(850), lineTotal: usd(1700) },
      { productId: 'pen', name: 'Fountain Pen', quantity: 1, unitPrice: usd(120), lineTotal: usd(120) },
    ],
    total: usd(1820),
    shippingAddress: null,
    cartVersion: 3,
    createdAt: at(0).toISOString(),
  },
});
const payment = (kind: string, status: string, second: number, extra: Record<string, unknown> = {}) =>
  createEvent({
    service: 'payment',
    type: `shop.payment.${kind}.v1`,
    subject: paymentId,
    time: at(second),
    data: {
      paymentId,
      orderId,
      status,
      amount: usd(1820),
      captured: usd(status === 'CAPTURED' || status === 'REFUNDED' ? 1820 : 0),
      refunded: usd(status === 'REFUNDED' ? 1820 : 0),
      ...extra,
    },
  });
const authorized = payment('authorized', 'AUTHORIZED', 1, { cardLast4: '4242' });
const captured = payment('captured', 'CAPTURED', 2);
const confirmed = createEvent({
  service: 'order',
  type: 'shop.order.confirmed.v1',
  subject: orderId,
  time: at(3),
  data: {
    orderId,
    userId,
    status: 'CONFIRMED',
    lines: [
      { productId: 'mug', quantity: 2 },
      { productId: 'pen', quantity: 1 },
    ],
    total: usd(1820),
    paymentId,
    cartVersion: 3,
    confirmedAt: at(3).toISOString(),
  },
});
const cancelled = createEvent({
  service: 'order',
  type: 'shop.order.cancelled.v1',
  subject: orderId,
  time: at(3),
  data: {
    orderId,
    userId,
    status: 'CANCELLED',
    reason: 'payment_declined',
    total: usd(1820),
    cartVersion: 3,
    cancelledAt: at(3).toISOString(),
  },
});

function project(events: DomainEvent[]): OrderFacts {
  let facts: OrderFacts | null = null;
  for (const e of events) {
    const r = applyEvent(facts, e);
    assert.ok(r, `${e.type} is used`);
    facts = r.facts;
  }
  assert.ok(facts);
  return facts;
}

test('a confirmed order: items with names and prices, payment captured, outcome and timings', () => {
  const doc = toDocument(project([created, authorized, captured, confirmed]));
  assert.deepEqual(doc, {
    orderId,
    userId,
    status: 'CONFIRMED',
    items: [
      { productId: 'mug', name: 'Blue Enamel Mug', quantity: 2, unitPrice: usd(850), lineTotal: usd(1700) },
      { productId: 'pen', name: 'Fountain Pen', quantity: 1, unitPrice: usd(120), lineTotal: usd(120) },
    ],
    total: usd(1820),
    payment: {
      paymentId,
      status: 'CAPTURED',
      amount: usd(1820),
      captured: usd(1820),
      refunded: usd(0),
      declineReason: null,
      updatedAt: at(2).toISOString(),
    },
    outcome: { result: 'confirmed', reason: null },
    timings: { createdAt: at(0).toISOString(), endedAt: at(3).toISOString(), durationMs: 3000 },
    version: 4,
    lastEventAt: at(3).toISOString(),
  });
  assert.equal(searchText(doc), 'Blue Enamel Mug Fountain Pen');
});

test('every arrival order of the same events gives the same document', () => {
  const events = [created, authorized, captured, confirmed];
  const expected = toDocument(project(events));
  const permutations = (xs: DomainEvent[]): DomainEvent[][] =>
    xs.length <= 1
      ? [xs]
      : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  for (const order of permutations(events)) {
    assert.deepEqual(toDocument(project(order)), expected, order.map((e) => e.type).join(' → '));
  }
});

test('a payment event before order.created is kept and merged when the order arrives', () => {
  const early = project([captured]);
  const partial = toDocument(early);
  assert.equal(partial.status, null);
  assert.equal(partial.userId, null);
  assert.equal(partial.payment?.status, 'CAPTURED');
  assert.equal(partial.version, 1);

  const doc = toDocument(project([captured, created]));
  assert.equal(doc.status, 'PENDING');
  assert.equal(doc.userId, userId);
  assert.equal(doc.payment?.status, 'CAPTURED');
  assert.equal(doc.items.length, 2);
  assert.equal(doc.version, 2);
});

test('a late event never takes a document back: an ended order stays ended, a captured payment stays captured', () => {
  const doc = toDocument(project([confirmed, captured, authorized, created]));
  assert.equal(doc.status, 'CONFIRMED');
  assert.equal(doc.payment?.status, 'CAPTURED');
  // The confirmed event alone already gives the order (without names: order.created has them).
  const early = toDocument(project([confirmed]));
  assert.equal(early.status, 'CONFIRMED');
  assert.deepEqual(
    early.items.map((i) => [i.productId, i.name, i.quantity]),
    [
      ['mug', null, 2],
      ['pen', null, 1],
    ],
  );
  assert.equal(early.timings.durationMs, null);
});

test('a redelivered event changes nothing (same facts object, same version)', () => {
  const facts = project([created, authorized]);
  const again = applyEvent(facts, authorized);
  assert.ok(again);
  assert.equal(again.changed, false);
  assert.equal(again.facts, facts);
  assert.equal(toDocument(again.facts).version, 2);
});

test('a cancelled order: the reason, a voided payment, the declined reason when declined', () => {
  const voided = payment('voided', 'VOIDED', 2);
  const doc = toDocument(project([created, authorized, voided, cancelled]));
  assert.equal(doc.status, 'CANCELLED');
  assert.deepEqual(doc.outcome, { result: 'cancelled', reason: 'payment_declined' });
  assert.equal(doc.payment?.status, 'VOIDED');

  const declined = payment('declined', 'DECLINED', 1, { reason: 'insufficient_funds' });
  const d2 = toDocument(project([cancelled, declined, created]));
  assert.equal(d2.payment?.status, 'DECLINED');
  assert.equal(d2.payment?.declineReason, 'insufficient_funds');
  assert.equal(d2.status, 'CANCELLED');
});

test('events the read side does not use are not applied; bad data is a poison message', () => {
  const other = createEvent({ service: 'order', type: 'shop.order.noted.v1', subject: orderId, data: { orderId } });
  assert.equal(applyEvent(null, other), null);
  const bad = { ...created, data: { orderId, userId, lines: [] } };
  assert.throws(() => applyEvent(null, bad), PoisonMessageError);
  const noOrder = { ...authorized, data: { paymentId } };
  assert.throws(() => applyEvent(null, noOrder), PoisonMessageError);
});

test('an event of another order is refused (the caller loaded the wrong facts)', () => {
  const facts = project([created]);
  const otherOrder = {
    ...authorized,
    id: randomUUID(),
    data: { ...(authorized.data as object), orderId: randomUUID() },
  };
  assert.throws(() => applyEvent(facts, otherOrder), /is about/);
});
