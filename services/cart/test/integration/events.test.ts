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
import { eventually } from '@shoplab/chassis/testing';
import { Kafka, logLevel } from 'kafkajs';
import { type RunningCart, startCart, userHeaders } from '../support/harness';

const topic = `cart.events.test-${randomUUID().slice(0, 8)}`;
const kafka = new Kafka({
  clientId: 'cart-events-test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const logger = createLogger({ service: 'cart-test', level: 'silent' });
let svc: RunningCart;
let producer: EventProducer;
let relay: OutboxRelay;
const received: DomainEvent[] = [];
const consumer = kafka.consumer({ groupId: `cart-events-test-${randomUUID()}`, maxWaitTimeInMs: 250 });

before(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  svc = await startCart({ eventsTopic: topic });
  svc.catalog.set('book', 1999, 10).set('pen', 120, 100);
  producer = createProducer(kafka, { logger });
  relay = new OutboxRelay({ pool: svc.pool, producer, logger, pollIntervalMs: 200 });
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
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

test('every cart change reaches cart.events through the outbox, keyed by the user id, in order', async () => {
  const user = `user-${randomUUID()}`;
  const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    svc.app.http.inject({ method, url, headers: userHeaders(user), ...(payload ? { payload } : {}) });
  await send('POST', '/v1/cart/items', { productId: 'book', quantity: 1 });
  await send('POST', '/v1/cart/items', { productId: 'pen', quantity: 2 });
  await send('PATCH', '/v1/cart/items/book', { quantity: 3 });
  await send('DELETE', '/v1/cart/items/pen');
  await send('DELETE', '/v1/cart');

  const events = await eventually('five cart events', () => (received.length >= 5 ? received : undefined), {
    timeoutMs: 15_000,
    intervalMs: 50,
  });
  assert.ok(events.every((e) => e.subject === user && e.source === '/shoplab/cart'));
  assert.deepEqual(
    events.map((e) => `${e.type}@${(e.data as { version: number }).version}`),
    [
      'shop.cart.item_added.v1@1',
      'shop.cart.item_added.v1@2',
      'shop.cart.item_changed.v1@3',
      'shop.cart.item_removed.v1@4',
      'shop.cart.cleared.v1@5',
    ],
  );
  assert.deepEqual(events[0]?.data, {
    userId: user,
    productId: 'book',
    quantity: 1,
    previousQuantity: 0,
    lineQuantity: 1,
    unitPrice: { amount: 1999, currency: 'USD' },
    version: 1,
  });
  assert.equal(await relay.backlog(), 0);
});
