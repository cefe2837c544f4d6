// The notification log: a welcome written with the registration, and the order-events consumer
// against the real Kafka (a topic of this test's own, events published with the chassis
// producer, the consumer running as the Intake main.ts starts) on a scratch database.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
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
import { ADMIN_TOKEN, PASSWORD, startTestService, type TestService, uniqueEmail } from '../support/app';
import { registerUser, type Session } from '../support/http';

const suffix = randomUUID().slice(0, 8);
const topic = `order.events.test-${suffix}`;
const groupId = `user-order-events-test-${suffix}`;
const kafka = new Kafka({
  clientId: 'user-order-events-test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const logger = createLogger({ service: 'user-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
let svc: TestService;
let producer: EventProducer;
let raw: Producer;
let metrics: ServiceMetrics;
let intake: Intake;

before(async () => {
  svc = await startTestService();
  metrics = createMetrics('user-test');
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
  await intake?.stop();
  await producer?.disconnect();
  await raw?.disconnect();
  await svc?.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
});

interface NotificationJson {
  id: string;
  userId: string;
  email: string;
  kind: string;
  subject: string;
  body: string;
  orderId: string | null;
  createdAt: string;
}

async function myNotifications(session: Session): Promise<NotificationJson[]> {
  const res = await svc.http.inject({ method: 'GET', url: '/v1/users/me/notifications', headers: session.auth });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items;
}

/** shop.order.confirmed.v1 as the order service writes it. */
function confirmed(userId: string, orderId = `ord-${randomUUID()}`): DomainEvent {
  return createEvent({
    service: 'order',
    type: eventType('order', 'confirmed'),
    subject: orderId,
    data: {
      orderId,
      userId,
      status: 'CONFIRMED',
      lines: [
        {
          productId: 'p-0001',
          name: 'Espresso cup',
          quantity: 2,
          unitPrice: { amount: 1250, currency: 'USD' },
          lineTotal: { amount: 2500, currency: 'USD' },
        },
        {
          productId: 'p-0002',
          name: 'Kettle',
          quantity: 1,
          unitPrice: { amount: 123456, currency: 'USD' },
          lineTotal: { amount: 123456, currency: 'USD' },
        },
      ],
      total: { amount: 125956, currency: 'USD' },
      paymentId: `pay-${orderId}`,
      cartVersion: 4,
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
      reason: 'the card was declined',
      total: { amount: 999, currency: 'USD' },
      cartVersion: 2,
      cancelledAt: new Date().toISOString(),
    },
  });
}

function created(userId: string, orderId: string): DomainEvent {
  return createEvent({
    service: 'order',
    type: eventType('order', 'created'),
    subject: orderId,
    data: { orderId, userId, status: 'PENDING', lines: [], total: { amount: 0, currency: 'USD' } },
  });
}

const orderIdOf = (event: DomainEvent) => (event.data as { orderId: string }).orderId;

/** Polls `probe` until it returns a value (not undefined), or fails after 20 s. */
async function applied(event: DomainEvent): Promise<void> {
  await eventually(
    `${event.type} ${event.id} to be applied`,
    async () =>
      (await svc.prisma.processedEvent.count({ where: { consumerGroup: groupId, eventId: event.id } })) === 1
        ? true
        : undefined,
    { timeoutMs: 20_000, intervalMs: 50, onError: 'fail' },
  );
}

async function counter(name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  return metric ? (await metric.get()).values.reduce((sum, v) => sum + v.value, 0) : 0;
}

describe('welcome', () => {
  test('registering logs exactly one welcome notification to the new address', async () => {
    const session = await registerUser(svc.http, { name: 'Wendy' });

    const items = await myNotifications(session);
    assert.equal(items.length, 1);
    const [welcome] = items as [NotificationJson];
    assert.equal(welcome.kind, 'welcome');
    assert.equal(welcome.userId, session.id);
    assert.equal(welcome.email, session.email);
    assert.equal(welcome.orderId, null);
    assert.equal(welcome.subject, 'Welcome to ShopLab, Wendy');
    assert.match(welcome.body, /^Hi Wendy,/);
  });

  test('a registration refused for a taken email logs no second welcome', async () => {
    const email = uniqueEmail('twice');
    const session = await registerUser(svc.http, { email });
    const again = await svc.http.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: PASSWORD, name: 'Someone Else' },
    });
    assert.equal(again.statusCode, 409);
    assert.equal(await svc.prisma.notification.count({ where: { email } }), 1);
    assert.equal((await myNotifications(session)).length, 1);
  });
});

describe('order notifications', () => {
  test('each confirmed and each cancelled order is logged once for its buyer, though an event arrives twice', async () => {
    const buyer = await registerUser(svc.http, { name: 'Bea' });
    const bystander = await registerUser(svc.http);
    const ok = confirmed(buyer.id);
    const declined = cancelled(buyer.id);
    const duplicatesBefore = await counter('shop_consumer_duplicates_total');

    await producer.publish(topic, [created(buyer.id, orderIdOf(ok)), ok]);
    await producer.publish(topic, [ok, declined]);
    await applied(declined);
    await applied(ok);
    await eventually(
      'the copy to be skipped',
      async () => ((await counter('shop_consumer_duplicates_total')) === duplicatesBefore + 1 ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 50, onError: 'fail' },
    );

    const items = await myNotifications(buyer);
    assert.deepEqual(items.map((n) => n.kind).sort(), ['order_cancelled', 'order_confirmed', 'welcome']);
    const confirmation = items.find((n) => n.kind === 'order_confirmed') as NotificationJson;
    assert.equal(confirmation.orderId, orderIdOf(ok));
    assert.equal(confirmation.email, buyer.email);
    assert.equal(confirmation.subject, `Your ShopLab order ${orderIdOf(ok)} is confirmed`);
    assert.match(confirmation.body, /2 × Espresso cup — USD 25\.00/);
    assert.match(confirmation.body, /1 × Kettle — USD 1,234\.56/);
    assert.match(confirmation.body, /Total: USD 1,259\.56/);
    const cancellation = items.find((n) => n.kind === 'order_cancelled') as NotificationJson;
    assert.equal(cancellation.orderId, orderIdOf(declined));
    assert.match(cancellation.body, /Reason: the card was declined/);
    assert.deepEqual(
      (await myNotifications(bystander)).map((n) => n.kind),
      ['welcome'],
      'nobody else is told',
    );
  });

  test('the same order announced again under a new event id is logged once', async () => {
    const buyer = await registerUser(svc.http);
    const first = confirmed(buyer.id);
    const again = confirmed(buyer.id, orderIdOf(first));

    await producer.publish(topic, [first, again]);
    await applied(again);

    const kinds = (await myNotifications(buyer)).map((n) => n.kind);
    assert.deepEqual(kinds.sort(), ['order_confirmed', 'welcome']);
  });

  test('an order of a user who does not exist notifies nobody, and is recorded as applied', async () => {
    const ghost = cancelled(randomUUID());
    const notAUuid = cancelled('user-42');
    const before = await svc.prisma.notification.count();

    await producer.publish(topic, [ghost, notAUuid]);
    await applied(ghost);
    await applied(notAUuid);

    assert.equal(await svc.prisma.notification.count(), before);
  });

  test('a malformed message and an event with broken data go to the DLQ, and the next event is still applied', async () => {
    const buyer = await registerUser(svc.http);
    const good = cancelled(buyer.id);
    const key = orderIdOf(good);
    const broken = createEvent({
      service: 'order',
      type: eventType('order', 'confirmed'),
      subject: key,
      data: { orderId: key, userId: buyer.id, lines: 'two cups' },
    });
    const reader = kafka.consumer({ groupId: `user-dlq-reader-${randomUUID()}`, maxWaitTimeInMs: 250 });
    const dead: KafkaMessage[] = [];
    await reader.connect();
    await reader.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        dead.push(message);
      },
    });

    // One key: one partition, so the good event is behind the bad ones.
    await raw.send({ topic, messages: [{ key, value: Buffer.from([0xff, 0x00, 0x13]) }] });
    await producer.publish(topic, [broken, good]);
    await applied(good);

    assert.deepEqual(
      (await myNotifications(buyer)).map((n) => n.kind),
      ['order_cancelled', 'welcome'],
    );
    const [poison, failed] = await eventually('both messages in the DLQ', () => (dead.length >= 2 ? dead : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
      onError: 'fail',
    });
    await reader.disconnect();
    assert.deepEqual(poison?.value, Buffer.from([0xff, 0x00, 0x13]), 'the original bytes');
    assert.match(poison?.headers?.[DLQ_HEADERS.error]?.toString() ?? '', /no ce_id/);
    assert.equal(failed?.headers?.ce_id?.toString(), broken.id);
    assert.equal(failed?.headers?.[DLQ_HEADERS.attempts]?.toString(), '1', 'broken data is not retried');
    assert.match(failed?.headers?.[DLQ_HEADERS.error]?.toString() ?? '', /invalid data/);
  });
});

describe('reading the log', () => {
  test('my notifications need a sign-in and list only mine, newest first', async () => {
    const anonymous = await svc.http.inject({ method: 'GET', url: '/v1/users/me/notifications' });
    assert.equal(anonymous.statusCode, 401);
    const buyer = await registerUser(svc.http);
    const event = confirmed(buyer.id);
    await producer.publish(topic, [event]);
    await applied(event);

    const items = await myNotifications(buyer);
    assert.deepEqual(
      items.map((n) => n.kind),
      ['order_confirmed', 'welcome'],
    );
    assert.ok(items.every((n) => n.userId === buyer.id));
    const one = await svc.http.inject({
      method: 'GET',
      url: '/v1/users/me/notifications?limit=1',
      headers: buyer.auth,
    });
    assert.deepEqual(
      one.json().items.map((n: NotificationJson) => n.kind),
      ['order_confirmed'],
    );
  });

  test("the admin log lists everyone's notifications behind the admin token, limited", async () => {
    const url = '/v1/admin/notifications?limit=3';
    assert.equal((await svc.http.inject({ method: 'GET', url })).statusCode, 401);
    const wrong = await svc.http.inject({ method: 'GET', url, headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(wrong.statusCode, 403);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

    const res = await svc.http.inject({ method: 'GET', url, headers: admin });
    assert.equal(res.statusCode, 200);
    const items: NotificationJson[] = res.json().items;
    assert.equal(items.length, 3);
    const times = items.map((n) => Date.parse(n.createdAt));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    const all = await svc.http.inject({ method: 'GET', url: '/v1/admin/notifications?limit=200', headers: admin });
    assert.equal(all.json().items.length, await svc.prisma.notification.count());
    const tooMany = await svc.http.inject({ method: 'GET', url: '/v1/admin/notifications?limit=0', headers: admin });
    assert.equal(tooMany.statusCode, 400);
    assert.equal(tooMany.json().code, 'SHOP_VALIDATION_FAILED');
  });
});
