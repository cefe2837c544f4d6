import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createEvent, type DomainEvent, eventType, PoisonMessageError } from '@shoplab/chassis';
import { applyPaymentEvent, traceIdOf } from '../../src/application/payment-events';
import type { PaymentEventLog, PaymentEventRecord } from '../../src/application/ports';
import { mergeTimeline, type TimelineEntry } from '../../src/domain/order';

/** payment_events in memory: the orders it knows, and the events recorded (unique event id). */
class MemoryPaymentEventLog implements PaymentEventLog {
  readonly recorded: PaymentEventRecord[] = [];
  constructor(readonly orders: Set<string>) {}

  async orderExists(orderId: string): Promise<boolean> {
    return this.orders.has(orderId);
  }

  async record(event: PaymentEventRecord): Promise<boolean> {
    if (this.recorded.some((e) => e.eventId === event.eventId)) return false;
    this.recorded.push(event);
    return true;
  }
}

/** A payment event as the payment service's paymentEvent() writes it. */
function paymentEvent(kind: string, orderId: string, data: Record<string, unknown> = {}): DomainEvent {
  const paymentId = `pay-${randomUUID()}`;
  return createEvent({
    service: 'payment',
    type: eventType('payment', kind),
    subject: paymentId,
    data: {
      paymentId,
      orderId,
      status: 'CAPTURED',
      amount: { amount: 3998, currency: 'USD' },
      captured: { amount: 3998, currency: 'USD' },
      refunded: { amount: 0, currency: 'USD' },
      ...data,
    },
  });
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('a payment event about a known order is recorded with its money, time, trace id and clocks', async () => {
  const orderId = randomUUID();
  const log = new MemoryPaymentEventLog(new Set([orderId]));
  const event = paymentEvent('captured', orderId);
  const receivedAt = new Date('2026-11-28T10:00:00.000Z');

  const outcome = await applyPaymentEvent(event, log, { traceparent: TRACEPARENT, receivedAt });

  assert.deepEqual(outcome, { kind: 'recorded', orderId, type: 'shop.payment.captured.v1' });
  assert.deepEqual(log.recorded, [
    {
      eventId: event.id,
      orderId,
      paymentId: (event.data as { paymentId: string }).paymentId,
      type: 'shop.payment.captured.v1',
      status: 'CAPTURED',
      amount: { amount: 3998, currency: 'USD' },
      occurredAt: new Date(event.time),
      receivedAt,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      lamport: event.lamport,
      hlc: event.hlc,
    },
  ]);
  assert.equal(typeof event.lamport, 'number', 'the producer stamped it');
});

test('an event from a producer without the clocks is recorded without them', async () => {
  const orderId = randomUUID();
  const log = new MemoryPaymentEventLog(new Set([orderId]));
  const { lamport: _lamport, hlc: _hlc, ...older } = paymentEvent('captured', orderId);
  assert.equal((await applyPaymentEvent(older, log)).kind, 'recorded');
  assert.equal('lamport' in (log.recorded[0] ?? {}), false);
  assert.equal('hlc' in (log.recorded[0] ?? {}), false);
});

test('an event id recorded before is not recorded again', async () => {
  const orderId = randomUUID();
  const log = new MemoryPaymentEventLog(new Set([orderId]));
  const event = paymentEvent('authorized', orderId, { status: 'AUTHORIZED', cardLast4: '4242' });

  assert.equal((await applyPaymentEvent(event, log)).kind, 'recorded');
  assert.deepEqual(await applyPaymentEvent(event, log), {
    kind: 'already-recorded',
    orderId,
    type: 'shop.payment.authorized.v1',
  });
  assert.equal(log.recorded.length, 1);
});

test('an event whose data breaks the contract is poison, naming the event, and records nothing', async () => {
  const orderId = randomUUID();
  const log = new MemoryPaymentEventLog(new Set([orderId]));
  const broken = [
    paymentEvent('captured', orderId, { paymentId: undefined }),
    paymentEvent('captured', orderId, { amount: { amount: 12.5, currency: 'USD' } }),
    paymentEvent('captured', orderId, { amount: { amount: 100, currency: 'dollars' } }),
    paymentEvent('refunded', orderId, { status: '' }),
  ];
  for (const event of broken) {
    await assert.rejects(applyPaymentEvent(event, log), (err: Error) => {
      assert.ok(err instanceof PoisonMessageError, 'straight to the DLQ, no retries');
      assert.match(err.message, new RegExp(`${event.type} ${event.id} has invalid data`));
      return true;
    });
  }
  await assert.rejects(applyPaymentEvent(paymentEvent('voided', orderId, { orderId: 42 }), log), /orderId/);
  assert.deepEqual(log.recorded, []);
});

test('an event about an order this service does not have is skipped, not recorded', async () => {
  const log = new MemoryPaymentEventLog(new Set([randomUUID()]));
  const unknown = randomUUID();

  assert.deepEqual(await applyPaymentEvent(paymentEvent('authorized', unknown), log), {
    kind: 'unknown-order',
    orderId: unknown,
    type: 'shop.payment.authorized.v1',
  });
  // An order id that is not a UUID names no order here either (and is never sent to the database).
  assert.equal((await applyPaymentEvent(paymentEvent('authorized', 'ord-42'), log)).kind, 'unknown-order');
  assert.deepEqual(log.recorded, []);
});

test('events other than payment v1 events are ignored', async () => {
  const orderId = randomUUID();
  const log = new MemoryPaymentEventLog(new Set([orderId]));
  const v2 = createEvent({ service: 'payment', type: 'shop.payment.captured.v2', subject: 'p', data: { orderId } });
  const other = createEvent({ service: 'cart', type: eventType('cart', 'cleared'), subject: 'u', data: { orderId } });

  assert.deepEqual(await applyPaymentEvent(v2, log), { kind: 'ignored', type: 'shop.payment.captured.v2' });
  assert.deepEqual(await applyPaymentEvent(other, log), { kind: 'ignored', type: 'shop.cart.cleared.v1' });
  assert.deepEqual(log.recorded, []);
});

test('the trace id comes from a valid traceparent only', () => {
  assert.equal(traceIdOf(TRACEPARENT), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(traceIdOf(undefined), undefined);
  assert.equal(traceIdOf('not a traceparent'), undefined);
  assert.equal(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), undefined, 'all-zero id');
});

test('the timeline merges steps and events in time order, a step first on a tie', () => {
  const entry = (kind: TimelineEntry['kind'], step: string, startedAt: string): TimelineEntry => ({
    kind,
    step,
    attempt: 1,
    outcome: kind === 'step' ? 'SUCCEEDED' : 'RECEIVED',
    startedAt,
  });
  const steps = [
    entry('step', 'authorize_payment', '2026-11-28T10:00:01.000Z'),
    entry('step', 'commit_stock', '2026-11-28T10:00:02.000Z'),
    entry('step', 'capture_payment', '2026-11-28T10:00:03.000Z'),
  ];
  const events = [
    entry('event', 'shop.payment.authorized.v1', '2026-11-28T10:00:01.500Z'),
    entry('event', 'shop.payment.captured.v1', '2026-11-28T10:00:03.000Z'),
  ];
  assert.deepEqual(
    mergeTimeline(steps, events).map((e) => e.step),
    ['authorize_payment', 'shop.payment.authorized.v1', 'commit_stock', 'capture_payment', 'shop.payment.captured.v1'],
  );
  assert.deepEqual(mergeTimeline(steps, []), steps);
});
