// The choreography's deadline (infrastructure/choreography.consumer.ts, cancelOverdueChoreographies)
// on the real Kafka and the harness's real PostgreSQL: the catalog's stock_reserved for a
// choreographed order is dead-lettered by order's consumer (payment down for all its attempts),
// so nothing would ever end the order; past CHOREOGRAPHY_DEADLINE_MS the order service cancels it
// as a refused step would — the card forgotten, shop.order.cancelled.v1 in the outbox (the
// catalog releases on it) — and the event redriven later changes nothing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  consumerIntake,
  createContractEvent,
  createLogger,
  createMetrics,
  createProducer,
  DLQ_HEADERS,
  type EventProducer,
  encodeEvent,
  ensureTopics,
  FaultInjector,
  type Intake,
  ShopError,
} from '@shoplab/chassis';
import { eventually } from '@shoplab/chassis/testing';
import { StockCommittedV1, StockReservedV1 } from '@shoplab/contracts';
import { Kafka, logLevel } from 'kafkajs';
import type { Payments } from '../../src/application/ports';
import { AesGcmCardVault } from '../../src/infrastructure/card-vault';
import {
  type ChoreographyDeps,
  cancelOverdueChoreographies,
  createChoreographyConsumer,
  DEADLINE_REASON,
  reactToEvent,
} from '../../src/infrastructure/choreography.consumer';
import { orderRow, placeOrder } from '../support/choreography';
import { type Harness, startHarness } from '../support/harness';

const suffix = randomUUID().slice(0, 8);
const topic = `catalog.events.test-${suffix}`;
const groupId = `order-choreography-deadline-test-${suffix}`;
const kafka = new Kafka({
  clientId: 'order-choreography-deadline-test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const logger = createLogger({ service: 'order-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const lines = [{ productId: 'p-late', quantity: 1 }];
let h: Harness;
let producer: EventProducer;
let intake: Intake | undefined;

/** What payment was asked; `down` makes every Authorize fail as an unreachable payment service does. */
const payment = { down: true, calls: 0 };
const payments = {
  async authorize() {
    payment.calls++;
    if (payment.down) throw new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'payment is down');
    return { id: 'pay-late', status: 'AUTHORIZED' };
  },
} as unknown as Payments;

const deps = (): ChoreographyDeps => ({
  payments,
  vault: new AesGcmCardVault(h.config.CARD_ENCRYPTION_KEY),
  paymentDeadlineMs: 1_000,
  recordEvents: true,
});

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-late', { name: 'A Late Lamp', price: 900 });
  await ensureTopics(kafka, [topic], { withDlq: true });
  intake = consumerIntake('choreography-catalog-consumer', {
    kafka,
    topics: [topic],
    logger,
    create: () =>
      createChoreographyConsumer({
        kafka,
        prisma: h.prisma,
        kit: { logger, metrics: createMetrics('order-test'), chaos: new FaultInjector() },
        topic,
        groupId,
        maxAttempts: 2,
        backoff: { initialMs: 20, maxMs: 50 },
        deps: deps(),
      }),
  });
  await intake.start?.();
  producer = createProducer(kafka, { logger });
});

after(async () => {
  await intake?.stop();
  await producer?.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
  await h?.close();
});

const placeChoreographedOrder = () => placeOrder(h, 'choreographed', lines);
const row = (orderId: string) => orderRow(h, orderId);

/** Waits for the dead letter of `eventId` on `<topic>.dlq`; its reason header. */
async function deadLetterOf(eventId: string): Promise<string> {
  const reasons = new Map<string, string>();
  const consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.headers?.ce_id?.toString() ?? '';
        reasons.set(id, message.headers?.[DLQ_HEADERS.reason]?.toString() ?? '');
      },
    });
    return await eventually(`${eventId} on ${topic}.dlq`, async () => reasons.get(eventId), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  } finally {
    await consumer.disconnect();
  }
}

/**
 * The consumer reads the topic: it starts at the latest offset when its group first joins, so an
 * event about no order here is sent until one is applied (recorded as processed).
 */
async function consumerReading(): Promise<void> {
  await eventually(
    `${groupId} to apply an event`,
    async () => {
      const probe = createContractEvent(StockReservedV1, {
        service: 'catalog',
        subject: 'probe',
        data: { reservationId: randomUUID(), lines },
      });
      await producer.send([{ topic, messages: [encodeEvent(probe)] }]);
      await new Promise((r) => setTimeout(r, 500));
      return (await h.prisma.processedEvent.count({ where: { consumerGroup: groupId } })) > 0 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

test('a choreographed order whose stock_reserved was dead-lettered is cancelled at the deadline, once, as a refused step cancels it', async () => {
  const orderId = await placeChoreographedOrder();
  const reserved = createContractEvent(StockReservedV1, {
    service: 'catalog',
    subject: orderId,
    data: { reservationId: orderId, lines },
  });
  await consumerReading();
  await producer.send([{ topic, messages: [encodeEvent(reserved)] }]);

  assert.equal(await deadLetterOf(reserved.id), 'failed', 'dead-lettered: its handler kept failing');
  assert.equal(payment.calls, 2, 'payment was asked once per attempt');
  let r = await row(orderId);
  assert.equal(r.order?.status, 'PENDING', 'nothing else ends the order');
  assert.equal(r.cards, 1, 'the card is still held');

  // Within its deadline the order is left alone.
  assert.deepEqual(await cancelOverdueChoreographies(h.prisma, { deadlineMs: 60_000 }), []);
  assert.equal((await row(orderId)).order?.status, 'PENDING');

  // An order that has heard its stock committed is not cancelled (nothing restocks on
  // order.cancelled): it waits for its capture, or for the dead letter to be redriven.
  const committedId = await placeChoreographedOrder();
  const committed = createContractEvent(StockCommittedV1, {
    service: 'catalog',
    subject: committedId,
    data: { reservationId: committedId, lines },
  });
  assert.equal(await h.prisma.$transaction((tx) => reactToEvent(committed, tx, deps(), logger)), 'recorded');

  // Past the deadline (the clock moved on): cancelled, with the compensating event.
  const later = () => new Date(Date.now() + 120_000);
  const cancelled = await cancelOverdueChoreographies(h.prisma, { deadlineMs: 60_000, clock: later });
  assert.deepEqual(cancelled, [orderId]);
  assert.equal((await row(committedId)).order?.status, 'PENDING', 'the committed order is left to its capture');
  r = await row(orderId);
  assert.equal(r.order?.status, 'CANCELLED');
  assert.equal(r.order?.cancel_reason, DEADLINE_REASON);
  assert.equal(r.cards, 0, 'the card is forgotten');
  assert.deepEqual(
    r.events.map((e) => e.event_type),
    ['shop.order.created.v1', 'shop.order.cancelled.v1'],
    'order.cancelled: the catalog releases what the choreography holds',
  );
  assert.match(JSON.stringify(r.events[1]?.payload), new RegExp(`"reason":"${DEADLINE_REASON}"`));
  assert.deepEqual(r.steps, ['choreography:deadline:REFUSED', 'choreography:cancel:SUCCEEDED']);

  // A second sweep finds nothing; the dead-lettered event redriven (payment back) moves nothing.
  assert.deepEqual(await cancelOverdueChoreographies(h.prisma, { deadlineMs: 60_000, clock: later }), []);
  payment.down = false;
  const outcome = await h.prisma.$transaction((tx) => reactToEvent(reserved, tx, deps(), logger));
  assert.equal(outcome, 'recorded');
  assert.equal(payment.calls, 2, 'no card handed over after the cancel');
  r = await row(orderId);
  assert.equal(r.order?.status, 'CANCELLED');
  assert.equal(r.events.length, 2, 'no second end event');
});
