// The order-events consumer against the real Kafka and a scratch database: order events are
// published with the chassis producer on a topic of this test's own, the consumer runs as the
// Intake main.ts starts, and the tests assert what the cart became.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  consumerIntake,
  createEvent,
  createLogger,
  createMetrics,
  createProducer,
  DLQ_HEADERS,
  type DomainEvent,
  type EventProducer,
  ensureTopics,
  eventType,
  FaultInjector,
  type Intake,
  type ServiceMetrics,
} from '@shoplab/chassis';
import { eventually } from '@shoplab/chassis/testing';
import { Kafka, type KafkaMessage, logLevel, Partitioners, type Producer } from 'kafkajs';
import { createOrderEventsConsumer } from '../../src/infrastructure/order-events.consumer';
import { ADMIN_TOKEN, type RunningCart, startCart, userHeaders } from '../support/harness';

const suffix = randomUUID().slice(0, 8);
const topic = `order.events.test-${suffix}`;
const cartTopic = `cart.events.test-${suffix}`;
const groupId = `cart-order-events-test-${suffix}`;
const kafka = new Kafka({
  clientId: 'cart-order-events-test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const logger = createLogger({ service: 'cart-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let svc: RunningCart;
let producer: EventProducer;
let raw: Producer;
let metrics: ServiceMetrics;
let intake: Intake;

before(async () => {
  svc = await startCart({ eventsTopic: cartTopic });
  svc.catalog.set('book', 1999, 50).set('pen', 120, 500).set('mug', 850, 50);
  metrics = createMetrics('cart-test');
  // The intake ensures the topics too, but in the background: make sure before publishing.
  await ensureTopics(kafka, [topic], { withDlq: true });
  intake = consumerIntake('order-events-consumer', {
    kafka,
    topics: [topic],
    logger,
    create: () =>
      createOrderEventsConsumer({
        kafka,
        prisma: svc.prisma,
        kit: { logger, metrics, chaos: new FaultInjector() },
        topic,
        groupId,
        eventsTopic: cartTopic,
        maxAttempts: 2,
        backoff: { initialMs: 20, maxMs: 50 },
      }),
  });
  await intake.start?.();
  producer = createProducer(kafka, { logger });
  raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await raw.connect();
});

after(async () => {
  await intake.stop();
  await producer.disconnect();
  await raw.disconnect();
  await svc.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
});

type Lines = [productId: string, quantity: number][];

/** A cart filled through the API, as a shopper would. */
async function cartWith(lines: Lines): Promise<string> {
  const user = `user-${randomUUID()}`;
  for (const [productId, quantity] of lines) {
    const res = await svc.app.http.inject({
      method: 'POST',
      url: '/v1/cart/items',
      headers: userHeaders(user),
      payload: { productId, quantity },
    });
    assert.equal(res.statusCode, 201, res.body);
  }
  return user;
}

async function cartOf(user: string): Promise<{ lines: Record<string, number>; version: number }> {
  const res = await svc.app.http.inject({ method: 'GET', url: '/v1/cart', headers: userHeaders(user) });
  const body = res.json() as { lines: { productId: string; quantity: number }[]; version: number };
  return { lines: Object.fromEntries(body.lines.map((l) => [l.productId, l.quantity])), version: body.version };
}

/** shop.order.confirmed.v1 as the order service writes it. */
function confirmed(userId: string, lines: Lines, orderId = `ord-${randomUUID()}`): DomainEvent {
  const orderLines = lines.map(([productId, quantity]) => ({
    productId,
    name: `Product ${productId}`,
    quantity,
    unitPrice: { amount: 100, currency: 'USD' },
    lineTotal: { amount: 100 * quantity, currency: 'USD' },
  }));
  const total = orderLines.reduce((sum, l) => sum + l.lineTotal.amount, 0);
  return createEvent({
    service: 'order',
    type: eventType('order', 'confirmed'),
    subject: orderId,
    data: {
      orderId,
      userId,
      status: 'CONFIRMED',
      lines: orderLines,
      total: { amount: total, currency: 'USD' },
      paymentId: `pay-${orderId}`,
      cartVersion: 1,
      confirmedAt: new Date().toISOString(),
    },
  });
}

function cancelled(userId: string, orderId = `ord-${randomUUID()}`): DomainEvent {
  return createEvent({
    service: 'order',
    type: eventType('order', 'cancelled'),
    subject: orderId,
    data: {
      orderId,
      userId,
      status: 'CANCELLED',
      reason: 'payment declined',
      total: { amount: 500, currency: 'USD' },
      cancelledAt: new Date().toISOString(),
    },
  });
}

/** An event type the cart does not know, for the same order (same key: behind it in the partition). */
function later(orderId: string): DomainEvent {
  return createEvent({ service: 'order', type: eventType('order', 'shipped'), subject: orderId, data: { orderId } });
}

async function processed(eventId: string): Promise<boolean> {
  const rows = await svc.pool.query('SELECT 1 FROM processed_events WHERE consumer_group = $1 AND event_id = $2', [
    groupId,
    eventId,
  ]);
  return rows.rowCount === 1;
}

const applied = (event: DomainEvent) =>
  eventually(`event ${event.type} to be applied`, async () => ((await processed(event.id)) ? true : undefined), {
    timeoutMs: 15_000,
    intervalMs: 50,
  });

async function clearedEvents(user: string): Promise<Record<string, unknown>[]> {
  const { rows } = await svc.pool.query<{ payload: Record<string, unknown> }>(
    "SELECT payload FROM outbox WHERE aggregate_id = $1 AND event_type = 'shop.cart.cleared.v1' ORDER BY id",
    [user],
  );
  return rows.map((r) => r.payload);
}

async function counter(name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  return metric ? (await metric.get()).values.reduce((sum, v) => sum + v.value, 0) : 0;
}

async function readDlq(): Promise<{ messages: KafkaMessage[]; stop: () => Promise<void> }> {
  const reader = kafka.consumer({ groupId: `cart-dlq-reader-${randomUUID()}`, maxWaitTimeInMs: 250 });
  const messages: KafkaMessage[] = [];
  await reader.connect();
  await reader.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      messages.push(message);
    },
  });
  return { messages, stop: () => reader.disconnect() };
}

test('a confirmed order takes exactly the bought units out of the cart, once, though its event arrives twice', async () => {
  const user = await cartWith([
    ['book', 3],
    ['pen', 2],
  ]);
  const event = confirmed(user, [
    ['book', 2],
    ['pen', 2],
  ]);
  // After checkout the shopper goes on shopping: this line is not part of the order.
  await svc.app.http.inject({
    method: 'POST',
    url: '/v1/cart/items',
    headers: userHeaders(user),
    payload: { productId: 'mug', quantity: 1 },
  });
  const before = await cartOf(user);
  const duplicatesBefore = await counter('shop_consumer_duplicates_total');

  await producer.publish(topic, [event]);
  await producer.publish(topic, [event]);
  const marker = later((event.data as { orderId: string }).orderId);
  await producer.publish(topic, [marker]);
  await applied(marker);

  const cart = await cartOf(user);
  assert.deepEqual(cart.lines, { book: 1, mug: 1 }, 'the bought units left; the line added after checkout stayed');
  assert.equal(cart.version, before.version + 1, 'one new version, not two');
  assert.equal(await counter('shop_consumer_duplicates_total'), duplicatesBefore + 1, 'the copy was skipped');
  const cleared = await clearedEvents(user);
  assert.equal(cleared.length, 1, 'one cart event through the outbox');
  assert.deepEqual(cleared[0], {
    userId: user,
    reason: 'order_confirmed',
    orderId: (event.data as { orderId: string }).orderId,
    removed: [
      { productId: 'book', quantity: 2 },
      { productId: 'pen', quantity: 2 },
    ],
    remainingLines: 2,
    version: cart.version,
  });
  assert.ok(await processed(marker.id), 'an event type the cart does not know is recorded as processed');
});

test('the same order announced again under a new event id is not taken out twice', async () => {
  const user = await cartWith([['pen', 5]]);
  const first = confirmed(user, [['pen', 2]]);
  const again = confirmed(user, [['pen', 2]], (first.data as { orderId: string }).orderId);

  await producer.publish(topic, [first, again]);
  await applied(again);

  assert.deepEqual((await cartOf(user)).lines, { pen: 3 });
  assert.equal((await clearedEvents(user)).length, 1);
});

test('a cancelled order leaves the cart exactly as it was', async () => {
  const user = await cartWith([
    ['book', 1],
    ['pen', 4],
  ]);
  const before = await cartOf(user);
  const event = cancelled(user);

  await producer.publish(topic, [event]);
  await applied(event);

  assert.deepEqual(await cartOf(user), before);
  assert.deepEqual(await clearedEvents(user), []);
});

test('GET /v1/admin/clearances lists the confirmed orders that cleared a cart, and not the cancelled ones', async () => {
  const user = await cartWith([['book', 2]]);
  const kept = confirmed(user, [['book', 1]]);
  const dropped = cancelled(user);
  await producer.publish(topic, [kept, dropped]);
  await applied(dropped);

  const denied = await svc.app.http.inject({ method: 'GET', url: '/v1/admin/clearances' });
  assert.equal(denied.statusCode, 401);
  const res = await svc.app.http.inject({
    method: 'GET',
    url: '/v1/admin/clearances',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  const mine = (
    res.json().clearances as { orderId: string; userId: string; eventId: string; removedUnits: number }[]
  ).filter((c) => c.userId === user);
  assert.deepEqual(
    mine.map(({ orderId, eventId, removedUnits }) => ({ orderId, eventId, removedUnits })),
    [{ orderId: (kept.data as { orderId: string }).orderId, eventId: kept.id, removedUnits: 1 }],
  );
});

test('an order whose products already left the cart, or a buyer without a cart, changes nothing', async () => {
  const user = await cartWith([['book', 1]]);
  await svc.app.http.inject({ method: 'DELETE', url: '/v1/cart/items/book', headers: userHeaders(user) });
  const before = await cartOf(user);
  const nobody = `user-${randomUUID()}`;
  const emptied = confirmed(user, [['book', 1]]);
  const noCart = confirmed(nobody, [['book', 1]]);

  await producer.publish(topic, [emptied, noCart]);
  await applied(emptied);
  await applied(noCart);

  assert.deepEqual(await cartOf(user), before, 'no new version for a change that changes nothing');
  assert.deepEqual(await clearedEvents(user), []);
  const { rowCount } = await svc.pool.query('SELECT 1 FROM carts WHERE user_id = $1', [nobody]);
  assert.equal(rowCount, 0, 'no cart is created for the buyer');
});

test('a malformed message and an event with broken data go to the DLQ, and the next event is still applied', async () => {
  const user = await cartWith([['mug', 2]]);
  const good = confirmed(user, [['mug', 1]]);
  const orderId = (good.data as { orderId: string }).orderId;
  const broken = createEvent({
    service: 'order',
    type: eventType('order', 'confirmed'),
    subject: orderId,
    data: { orderId, userId: user },
  });
  const dlq = await readDlq();

  // One key for all three: one partition, so the good event is behind the bad ones.
  await raw.send({ topic, messages: [{ key: orderId, value: 'definitely not an event' }] });
  await producer.publish(topic, [broken, good]);
  await applied(good);

  assert.deepEqual((await cartOf(user)).lines, { mug: 1 });
  assert.equal(await processed(broken.id), false, 'the broken event was not recorded as applied');
  const dead = await eventually(
    'both messages in the DLQ',
    () => (dlq.messages.length >= 2 ? dlq.messages : undefined),
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  await dlq.stop();
  const [poison, failed] = dead;
  assert.equal(poison?.value?.toString(), 'definitely not an event');
  assert.match(poison?.headers?.[DLQ_HEADERS.error]?.toString() ?? '', /no ce_id/);
  assert.equal(failed?.headers?.ce_id?.toString(), broken.id);
  assert.equal(failed?.headers?.[DLQ_HEADERS.attempts]?.toString(), '1', 'broken data is not retried');
  assert.match(failed?.headers?.[DLQ_HEADERS.error]?.toString() ?? '', /invalid data/);
});
