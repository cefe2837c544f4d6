// The payment-events consumer against the real Kafka and a scratch database: payment events are
// published on a topic of this test's own, the consumer runs as the Intake main.ts starts, and the
// tests read the orders' timelines through the REST and gRPC APIs.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  BreakerRegistry,
  type ClockStamp,
  consumerIntake,
  createEvent,
  createGrpcClient,
  createLogger,
  createMetrics,
  createProducer,
  DLQ_HEADERS,
  type DomainEvent,
  type EventProducer,
  encodeEvent,
  ensureTopics,
  eventType,
  FaultInjector,
  type GrpcClient,
  type Intake,
  ProcessClock,
  StaticRegistry,
} from '@shoplab/chassis';
import { eventually } from '@shoplab/chassis/testing';
import { orderV1 } from '@shoplab/contracts';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import type { OrderView, TimelineEntry } from '../../src/domain/order';
import { createPaymentEventsConsumer } from '../../src/infrastructure/payment-events.consumer';
import { type Harness, newUserId, startHarness, VISA } from '../support/harness';

const suffix = randomUUID().slice(0, 8);
const topic = `payment.events.test-${suffix}`;
const groupId = `order-payment-events-test-${suffix}`;
const kafka = new Kafka({
  clientId: 'order-payment-events-test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const logger = createLogger({ service: 'order-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const breakers = new BreakerRegistry();
let h: Harness;
let producer: EventProducer;
let orderClient: GrpcClient<typeof orderV1.OrderServiceService>;
const intakes: Intake[] = [];

/** The consumer as main.ts runs it, under `group`. */
async function startConsumer(group: string): Promise<void> {
  const intake = consumerIntake('payment-events-consumer', {
    kafka,
    topics: [topic],
    logger,
    create: () =>
      createPaymentEventsConsumer({
        kafka,
        prisma: h.prisma,
        kit: { logger, metrics: createMetrics('order-test'), chaos: new FaultInjector() },
        topic,
        groupId: group,
        maxAttempts: 2,
        backoff: { initialMs: 20, maxMs: 50 },
      }),
  });
  intakes.push(intake);
  await intake.start?.();
}

before(async () => {
  h = await startHarness();
  h.catalog.products.set('p-lamp', { name: 'A Lamp', price: 4500 });
  // The intake ensures the topics too, but in the background: make sure before publishing.
  await ensureTopics(kafka, [topic], { withDlq: true });
  await startConsumer(groupId);
  producer = createProducer(kafka, { logger });
  orderClient = createGrpcClient(
    orderV1.OrderServiceClient,
    {
      caller: 'gateway',
      target: 'order',
      registry: new StaticRegistry({ order: [`127.0.0.1:${h.grpcPort}`] }),
      deadlineMs: 3_000,
    },
    { metrics: createMetrics('gateway'), breakers, logger },
  );
});

after(async () => {
  for (const intake of intakes) await intake.stop();
  await producer.disconnect();
  orderClient.close();
  breakers.close();
  await h.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
});

let n = 0;
async function placeOrder(userId: string): Promise<string> {
  h.cart.set(userId, [{ productId: 'p-lamp', quantity: 1 }]);
  const res = await h.app.http.inject({
    method: 'POST',
    url: '/v1/checkout',
    headers: { authorization: `Bearer ${h.tokenFor(userId)}`, 'idempotency-key': `payment-events-${++n}-${userId}` },
    payload: { card: VISA },
  });
  assert.equal(res.statusCode, 202, res.body);
  return res.json().orderId;
}

/** A saga's steps with the payment events each caused right after it. */
const CAUSAL_ORDER = [
  'step validate_user',
  'step reserve_stock',
  'step authorize_payment',
  'event shop.payment.authorized.v1',
  'step commit_stock',
  'step capture_payment',
  'event shop.payment.captured.v1',
  'step confirm',
];

async function orderOf(userId: string, orderId: string, query = ''): Promise<OrderView> {
  const res = await h.app.http.inject({
    method: 'GET',
    url: `/v1/orders/${orderId}${query}`,
    headers: { authorization: `Bearer ${h.tokenFor(userId)}` },
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/**
 * A payment event as the payment service's paymentEvent() writes it; `time` overrides the
 * event's time, `stamp` the clocks it is stamped with (default: this process's).
 */
function paymentEvent(
  kind: string,
  orderId: string,
  options: { time?: string; data?: object; stamp?: ClockStamp } = {},
): DomainEvent {
  const paymentId = `pay-${orderId}`;
  const event = createEvent({
    service: 'payment',
    type: eventType('payment', kind),
    subject: paymentId,
    ...(options.stamp ? { stamp: options.stamp } : {}),
    data: {
      paymentId,
      orderId,
      status: kind.toUpperCase(),
      amount: { amount: 4500, currency: 'USD' },
      captured: { amount: kind === 'captured' ? 4500 : 0, currency: 'USD' },
      refunded: { amount: 0, currency: 'USD' },
      ...options.data,
    },
  });
  return options.time ? { ...event, time: options.time } : event;
}

const traceId = () => randomUUID().replaceAll('-', '');

/** Publishes events with a `traceparent` (the test has no OpenTelemetry SDK to inject one). */
async function publish(events: { event: DomainEvent; traceId?: string }[]): Promise<void> {
  await producer.send([
    {
      topic,
      messages: events.map(({ event, traceId }) =>
        encodeEvent(event, traceId ? { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } : {}),
      ),
    },
  ]);
}

async function processedBy(group: string, eventId: string): Promise<boolean> {
  return (await h.prisma.processedEvent.count({ where: { consumerGroup: group, eventId } })) === 1;
}

const applied = (event: DomainEvent, group = groupId) =>
  eventually(
    `${event.type} ${event.id} to be applied by ${group}`,
    async () => ((await processedBy(group, event.id)) ? true : undefined),
    { timeoutMs: 15_000, intervalMs: 50 },
  );

const events = (timeline: TimelineEntry[]) => timeline.filter((e) => e.kind === 'event');

/** The order once the (started) saga has confirmed it. */
const confirmedOrder = (userId: string, orderId: string) =>
  eventually(
    'the saga to confirm the order',
    async () => {
      const order = await orderOf(userId, orderId);
      return order.status === 'CONFIRMED' ? order : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );

test('a payment event delivered twice is on the order’s timeline once, with its time and trace id', async () => {
  const userId = newUserId();
  const orderId = await placeOrder(userId);
  const authorized = paymentEvent('authorized', orderId, { data: { cardLast4: '4242' } });
  const captured = paymentEvent('captured', orderId);
  const trace = traceId();

  // The same key: one partition, so the captured event is applied after both copies.
  await publish([{ event: authorized, traceId: trace }]);
  await publish([{ event: authorized, traceId: trace }, { event: captured }]);
  await applied(captured);

  const order = await orderOf(userId, orderId);
  const recorded = events(order.timeline);
  assert.equal(recorded.length, 2, JSON.stringify(order.timeline));
  const [first, second] = recorded;
  assert.deepEqual(
    { ...first, finishedAt: undefined },
    {
      kind: 'event',
      step: 'shop.payment.authorized.v1',
      attempt: 1,
      outcome: 'RECEIVED',
      traceId: trace,
      startedAt: new Date(authorized.time).toISOString(),
      finishedAt: undefined,
      lamport: authorized.lamport,
      hlc: authorized.hlc,
    },
  );
  assert.ok(Date.parse(first?.finishedAt ?? '') >= Date.parse(authorized.time), 'recorded after it happened');
  assert.equal(second?.step, 'shop.payment.captured.v1');
  assert.equal(second?.traceId, undefined, 'no traceparent, no trace id');

  const rows = await h.prisma.paymentEvent.findMany({ where: { orderId }, orderBy: { id: 'asc' } });
  assert.deepEqual(
    rows.map((r) => [r.eventId, r.paymentId, r.type, r.status, Number(r.amount), r.currency]),
    [
      [authorized.id, `pay-${orderId}`, 'shop.payment.authorized.v1', 'AUTHORIZED', 4500, 'USD'],
      [captured.id, `pay-${orderId}`, 'shop.payment.captured.v1', 'CAPTURED', 4500, 'USD'],
    ],
  );

  // The gateway's view (gRPC) says which entries are events.
  const { order: proto } = await orderClient.call('getOrder', { id: orderId, userId });
  assert.deepEqual(
    proto?.timeline.map((e) => [e.kind, e.step, e.outcome, e.traceId]),
    [
      ['event', 'shop.payment.authorized.v1', 'RECEIVED', trace],
      ['event', 'shop.payment.captured.v1', 'RECEIVED', ''],
    ],
  );
});

test('the events take their place among the saga’s steps, in time order', async () => {
  h.app.saga.start();
  try {
    const userId = newUserId();
    const orderId = await placeOrder(userId);
    const confirmed = await confirmedOrder(userId, orderId);
    const startOf = (step: string) => confirmed.timeline.find((e) => e.step === step)?.startedAt;
    // As the payment service would stamp them: while its Authorize and Capture were being called.
    const authorized = paymentEvent('authorized', orderId, { time: startOf('authorize_payment') });
    const captured = paymentEvent('captured', orderId, { time: startOf('capture_payment') });

    await publish([{ event: captured }, { event: authorized }]);
    await applied(authorized);

    const order = await orderOf(userId, orderId);
    assert.deepEqual(
      order.timeline.map((e) => `${e.kind} ${e.step}`),
      CAUSAL_ORDER,
    );
  } finally {
    await h.app.saga.stop();
  }
});

test('a payment service 30 s behind: its events sort before their causes by wall time, after them by HLC', async () => {
  h.app.saga.start();
  try {
    const userId = newUserId();
    const orderId = await placeOrder(userId);
    const steps = (await confirmedOrder(userId, orderId)).timeline;
    assert.ok(
      steps.every((e) => typeof e.lamport === 'number' && e.hlc !== undefined),
      `every step has its clocks: ${JSON.stringify(steps)}`,
    );
    const hlcs = steps.map((e) => e.hlc ?? '');
    assert.deepEqual([...hlcs].sort(), hlcs, 'the saga’s steps, one after the other, in HLC order too');
    const lamports = steps.map((e) => e.lamport ?? 0);
    assert.deepEqual(
      [...lamports].sort((a, b) => a - b),
      lamports,
    );

    // The payment service's clock, 30 s behind; each event is caused by the step's call, whose
    // clocks it merged (as the chassis' gRPC server does with the call's metadata).
    const payment = new ProcessClock(() => Date.now() - 30_000);
    const causedBy = (step: string, kind: string) => {
      const cause = steps.find((e) => e.step === step);
      payment.receive({ lamport: cause?.lamport, hlc: cause?.hlc });
      return paymentEvent(kind, orderId, { stamp: payment.tick() });
    };
    const authorized = causedBy('authorize_payment', 'authorized');
    const captured = causedBy('capture_payment', 'captured');
    await publish([{ event: authorized }, { event: captured }]);
    await applied(captured);

    const byWall = await orderOf(userId, orderId);
    assert.deepEqual(
      byWall.timeline.map((e) => e.step).slice(0, 3),
      ['shop.payment.authorized.v1', 'shop.payment.captured.v1', 'validate_user'],
      'by wall time, the payment happened before the saga began',
    );
    const byHlc = await orderOf(userId, orderId, '?sort=hlc');
    assert.deepEqual(
      byHlc.timeline.map((e) => `${e.kind} ${e.step}`),
      CAUSAL_ORDER,
    );
    const bad = await h.app.http.inject({
      method: 'GET',
      url: `/v1/orders/${orderId}?sort=lamport`,
      headers: { authorization: `Bearer ${h.tokenFor(userId)}` },
    });
    assert.equal(bad.statusCode, 400, bad.body);
  } finally {
    await h.app.saga.stop();
  }
});

test('a consumer group that reads the topic again from the start adds nothing: an event id is on the timeline once', async () => {
  const userId = newUserId();
  const orderId = await placeOrder(userId);
  const voided = paymentEvent('voided', orderId);
  await publish([{ event: voided }]);
  await applied(voided);

  const otherGroup = `${groupId}-again`;
  await startConsumer(otherGroup);
  await applied(voided, otherGroup);

  assert.deepEqual(
    events((await orderOf(userId, orderId)).timeline).map((e) => e.step),
    ['shop.payment.voided.v1'],
  );
});

test('an event about an unknown order is skipped; broken data goes to the DLQ; later events are still applied', async () => {
  const userId = newUserId();
  const orderId = await placeOrder(userId);
  const nobody = paymentEvent('authorized', randomUUID());
  const broken = paymentEvent('captured', orderId, { data: { amount: { amount: 'lots', currency: 'USD' } } });
  const good = paymentEvent('refunded', orderId);
  const dlq = await readDlq();

  await publish([{ event: nobody }]);
  // One key for both: one partition, so the good event is behind the broken one.
  await publish([{ event: broken }, { event: good }]);
  await applied(good);
  await applied(nobody);

  assert.equal(await h.prisma.paymentEvent.count({ where: { eventId: nobody.id } }), 0, 'nothing recorded');
  assert.equal(await processedBy(groupId, broken.id), false, 'the broken event was not recorded as applied');
  assert.deepEqual(
    events((await orderOf(userId, orderId)).timeline).map((e) => e.step),
    ['shop.payment.refunded.v1'],
  );
  const [dead] = await eventually(
    'the broken event in the DLQ',
    () => {
      const found = dlq.messages.filter((m) => m.headers?.ce_id?.toString() === broken.id);
      return found.length > 0 ? found : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
  await dlq.stop();
  assert.equal(dead?.headers?.[DLQ_HEADERS.attempts]?.toString(), '1', 'broken data is not retried');
  assert.match(dead?.headers?.[DLQ_HEADERS.error]?.toString() ?? '', /invalid data/);
});

async function readDlq(): Promise<{ messages: KafkaMessage[]; stop: () => Promise<void> }> {
  const reader = kafka.consumer({ groupId: `order-dlq-reader-${randomUUID()}`, maxWaitTimeInMs: 250 });
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
