import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  createLogger,
  createProducer,
  decodeEvent,
  type EventProducer,
  OutboxRelay,
  poolConfig,
} from '@shoplab/chassis';
import { type Admin, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import pg from 'pg';
import { type Harness, newUserId, startHarness, VISA } from '../support/harness';

const logger = createLogger({ service: 'order-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
// A scratch topic stands in for order.events, so tests never publish into the real one.
const topic = `order-test-events-${randomUUID().slice(0, 8)}`;
let h: Harness;
let kafka: Kafka;
let admin: Admin;
let producer: EventProducer;
let pool: pg.Pool;

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-lamp', { name: 'A Lamp', price: 4500 });
  kafka = new Kafka({
    clientId: `order-test-${randomUUID().slice(0, 8)}`,
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
  });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  producer = createProducer(kafka, { logger });
  pool = new pg.Pool({ ...poolConfig(h.db.settings), max: 2 });
});

after(async () => {
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await pool.end();
  await h.close();
});

/** The first message on `topic` whose CloudEvents subject is `subject`. */
async function firstMessageAbout(subject: string, timeoutMs = 30_000): Promise<KafkaMessage> {
  const consumer = kafka.consumer({ groupId: `order-test-${randomUUID().slice(0, 8)}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<KafkaMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message about ${subject} in ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.headers?.ce_subject?.toString() === subject) {
            clearTimeout(timer);
            resolve(message);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

test('the relay publishes OrderCreated to Kafka, keyed by the order id, without card data', async () => {
  const relay = new OutboxRelay({
    pool,
    producer: { send: (batch) => producer.send(batch.map((b) => ({ ...b, topic }))) },
    logger,
    pollIntervalMs: 200,
  });
  relay.start();
  try {
    const userId = newUserId();
    h.cart.set(userId, [{ productId: 'p-lamp', quantity: 2 }]);
    const res = await h.app.http.inject({
      method: 'POST',
      url: '/v1/checkout',
      headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `relay-${randomUUID()}` },
      payload: { card: VISA },
    });
    assert.equal(res.statusCode, 202, res.body);
    const { orderId } = res.json();

    const message = await firstMessageAbout(orderId);

    assert.equal(message.key?.toString(), orderId);
    const event = decodeEvent(message);
    assert.equal(event.type, 'shop.order.created.v1');
    assert.equal(event.source, '/shoplab/order');
    const data = event.data as { orderId: string; userId: string; total: unknown; lines: unknown[] };
    assert.equal(data.orderId, orderId);
    assert.equal(data.userId, userId);
    assert.deepEqual(data.total, { amount: 9000, currency: 'USD' });
    assert.equal(data.lines.length, 1);
    const raw = `${message.value?.toString()} ${JSON.stringify(message.headers)}`;
    assert.ok(!raw.includes('4242424242424242') && !raw.includes('cvc'), 'no card data on the wire');

    const row = await h.prisma.outbox.findFirstOrThrow({ where: { aggregateId: orderId } });
    assert.ok(row.publishedAt, 'the outbox row is marked published');
  } finally {
    await relay.stop();
  }
});
