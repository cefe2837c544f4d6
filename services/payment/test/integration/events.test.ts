import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  createLogger,
  createProducer,
  type DomainEvent,
  decodeEvent,
  type EventProducer,
  OutboxRelay,
} from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import { eventually } from '@shoplab/chassis/testing';
import { Kafka, logLevel } from 'kafkajs';
import { type RunningPayment, scratchDatabase, startPayment } from '../support/harness';

const topic = `payment.events.test-${randomUUID().slice(0, 8)}`;
const kafka = new Kafka({
  clientId: 'payment-events-test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const logger = createLogger({ service: 'payment-test', level: 'silent' });
let scratch: Awaited<ReturnType<typeof scratchDatabase>>;
let svc: RunningPayment;
let producer: EventProducer;
let relay: OutboxRelay;
const received: DomainEvent[] = [];
const consumer = kafka.consumer({ groupId: `payment-events-test-${randomUUID()}`, maxWaitTimeInMs: 250 });

before(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  scratch = await scratchDatabase();
  svc = await startPayment(scratch.prisma, { eventsTopic: topic });
  producer = createProducer(kafka, { logger });
  relay = new OutboxRelay({ pool: scratch.pool, producer, logger, pollIntervalMs: 200 });
  relay.start();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      received.push(decodeEvent(message));
    },
  });
});

after(async () => {
  await consumer.disconnect();
  await relay.stop();
  await producer.disconnect();
  await svc.close();
  await scratch.prisma.$disconnect();
  await scratch.pool.end();
  await scratch.db.drop();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

const card = (number: string) => ({ number, expMonth: 12, expYear: 2031, cvc: '123' });
const usd = (amount: number) => ({ amount, currency: 'USD' });

test('every payment change reaches payment.events through the outbox, keyed by the payment id', async () => {
  const orderId = `order-${randomUUID()}`;
  const { payment } = await svc.client.call('authorize', {
    idempotencyKey: randomUUID(),
    orderId,
    amount: usd(4200),
    card: card('4242424242424242'),
  });
  const id = payment!.id;
  await svc.client.call('capture', { idempotencyKey: randomUUID(), paymentId: id });
  await svc.client.call('refund', { idempotencyKey: randomUUID(), paymentId: id, amount: usd(200) });

  const voidedOrder = `order-${randomUUID()}`;
  const other = await svc.client.call('authorize', {
    idempotencyKey: randomUUID(),
    orderId: voidedOrder,
    amount: usd(100),
    card: card('4242424242424242'),
  });
  await svc.client.call('void', { idempotencyKey: randomUUID(), paymentId: other.payment!.id });
  const declinedOrder = `order-${randomUUID()}`;
  await assert.rejects(
    svc.client.call('authorize', {
      idempotencyKey: randomUUID(),
      orderId: declinedOrder,
      amount: usd(300),
      card: card('4000000000000002'),
    }),
    (err) => err instanceof ShopError && err.code === 'SHOP_PAYMENT_DECLINED',
  );

  const events = await eventually('six payment events', () => (received.length >= 6 ? received : undefined), {
    timeoutMs: 15_000,
    intervalMs: 50,
  });
  const ofPayment = events.filter((e) => e.subject === id);
  assert.deepEqual(
    ofPayment.map((e) => e.type),
    ['shop.payment.authorized.v1', 'shop.payment.captured.v1', 'shop.payment.refunded.v1'],
  );
  const data = ofPayment.map((e) => e.data as { orderId: string; amount: unknown });
  assert.ok(ofPayment.every((e) => e.source === '/shoplab/payment'));
  assert.deepEqual(
    data.map((d) => d.orderId),
    [orderId, orderId, orderId],
  );
  assert.deepEqual(
    data.map((d) => d.amount),
    [usd(4200), usd(4200), usd(200)],
  );
  const types = new Set(events.map((e) => e.type));
  assert.ok(types.has('shop.payment.voided.v1'));
  const declined = events.find((e) => e.type === 'shop.payment.declined.v1');
  assert.ok(declined, 'a declined event was published');
  assert.deepEqual(
    { orderId: (declined.data as { orderId: string }).orderId, reason: (declined.data as { reason: string }).reason },
    { orderId: declinedOrder, reason: 'card_declined' },
  );
  assert.equal(await relay.backlog(), 0);
});
