import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { type Kafka, Partitioners } from 'kafkajs';
import type pg from 'pg';
import { Registry } from 'prom-client';
import {
  type ConsumedEventContext,
  consumerIntake,
  createConsumer,
  createEvent,
  createProducer,
  DLQ_HEADERS,
  type DomainEvent,
  type EventConsumer,
  type EventHandler,
  type EventProducer,
  eventType,
} from '../../src/messaging';
import { createPrismaAdapter } from '../../src/prisma';
import { type Prisma, PrismaClient } from '../fixtures/prisma/generated/client';
import {
  createTopics,
  deleteTopics,
  eventually,
  installTracePropagation,
  randomName,
  readTopic,
  scratchSchema,
  testKafka,
  testLogger,
  withKafkaStopped,
} from '../support/kafka-fixtures';
import { testDatabase } from '../support/stack';

const logger = testLogger();
let kafka: Kafka;
let db: Awaited<ReturnType<typeof scratchSchema>>;
let producer: EventProducer;
const cleanups: (() => Promise<void>)[] = [];
const topics: string[] = [];

before(async () => {
  installTracePropagation();
  kafka = testKafka();
  db = await scratchSchema();
  // The side effect the handlers apply; no unique key, so a double application would show.
  await db.pool.query(
    'CREATE TABLE applied (seq bigserial PRIMARY KEY, event_id uuid NOT NULL, subject text NOT NULL)',
  );
  producer = createProducer(kafka, { logger });
});

afterEach(async () => {
  // Stop this test's consumers, relays and readers, latest first.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

after(async () => {
  await producer.disconnect();
  await deleteTopics(kafka, topics);
  await db.drop();
});

function orderEvent(orderId: string, what = 'confirmed'): DomainEvent<{ orderId: string }> {
  return createEvent({ service: 'order', type: eventType('order', what), subject: orderId, data: { orderId } });
}

/** A topic (and its DLQ) of its own, and a consumer on it that records what it applied. */
async function consumerOn(
  handler: EventHandler<pg.PoolClient> = apply,
  options: { maxAttempts?: number; topicPrefix?: string } = {},
): Promise<{ topic: string; groupId: string; consumer: EventConsumer; registry: Registry }> {
  const topic = randomName(options.topicPrefix ?? 'chassis.msg.');
  topics.push(topic, `${topic}.dlq`);
  await createTopics(kafka, [topic, `${topic}.dlq`]);
  const registry = new Registry();
  const groupId = randomName('chassis-msg-');
  const consumer = createConsumer({
    kafka,
    groupId,
    topics: [topic],
    db: db.pool,
    handler,
    logger,
    metrics: { registry },
    maxAttempts: options.maxAttempts ?? 3,
    backoff: { initialMs: 20, maxMs: 100 },
  });
  cleanups.push(() => consumer.stop());
  await consumer.start();
  return { topic, groupId, consumer, registry };
}

const apply: EventHandler<pg.PoolClient> = async (event, tx) => {
  await tx.query('INSERT INTO applied (event_id, subject) VALUES ($1, $2)', [event.id, event.subject]);
};

async function appliedIds(): Promise<string[]> {
  const { rows } = await db.pool.query<{ event_id: string }>('SELECT event_id FROM applied ORDER BY seq');
  return rows.map((r) => r.event_id);
}

async function counterValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function committedOffset(groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return entry?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) ?? 0;
  } finally {
    await admin.disconnect();
  }
}

test('a published event reaches the handler with its envelope, inside the trace of the publisher, exactly once', async () => {
  let seen: { event: DomainEvent; meta: ConsumedEventContext; traceId: string | undefined } | undefined;
  const { topic, groupId } = await consumerOn(async (event, tx, meta) => {
    await apply(event, tx, meta);
    seen = { event, meta, traceId: trace.getActiveSpan()?.spanContext().traceId };
  });
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const request = trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const event = orderEvent('ord-trace');

  await context.with(request, () => producer.publish(topic, [event]));

  const received = await eventually('the handler to see the event', () => seen);
  assert.deepEqual(received.event, event);
  assert.equal(received.traceId, traceId, 'the handler runs in the trace of the publisher');
  assert.equal(received.meta.topic, topic);
  assert.equal(received.meta.attempt, 1);
  assert.deepEqual(await appliedIds(), [event.id]);
  const { rows } = await db.pool.query('SELECT 1 FROM processed_events WHERE consumer_group = $1 AND event_id = $2', [
    groupId,
    event.id,
  ]);
  assert.equal(rows.length, 1, 'the event id is recorded in the same transaction');
  await eventually('the offset to be committed past the event', async () =>
    (await committedOffset(groupId, topic)) === 1 ? true : undefined,
  );
});

test('a redelivered event (same id published twice) is applied once', async () => {
  await db.pool.query('TRUNCATE applied');
  const { topic, groupId, registry } = await consumerOn();
  const first = orderEvent('ord-dup');
  const next = orderEvent('ord-dup', 'cancelled');

  await producer.publish(topic, [first]);
  await producer.publish(topic, [first, next]);

  await eventually('the event after the duplicate to be applied', async () =>
    (await appliedIds()).includes(next.id) ? true : undefined,
  );
  assert.deepEqual(await appliedIds(), [first.id, next.id]);
  assert.equal(await counterValue(registry, 'shop_consumer_duplicates_total'), 1);
  assert.equal(await counterValue(registry, 'shop_consumer_processed_total'), 2);
  const { rows } = await db.pool.query('SELECT event_id FROM processed_events WHERE consumer_group = $1', [groupId]);
  assert.equal(rows.length, 2);
  await eventually('all three offsets to be committed', async () =>
    (await committedOffset(groupId, topic)) === 3 ? true : undefined,
  );
});

test('a poison message lands in the DLQ with the error headers and the next message is processed', async () => {
  await db.pool.query('TRUNCATE applied');
  const { topic, groupId, registry } = await consumerOn();
  const raw = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await raw.connect();
  cleanups.push(() => raw.disconnect());
  const after = orderEvent('ord-poison');

  // Same key, so the same partition: the good event is behind the poison one.
  await raw.send({
    topic,
    messages: [{ key: 'ord-poison', value: 'definitely not an event', headers: { 'x-from': 'test' } }],
  });
  await producer.publish(topic, [after]);

  await eventually('the next event to be applied', async () =>
    (await appliedIds()).includes(after.id) ? true : undefined,
  );
  const dlq = await readTopic(kafka, `${topic}.dlq`);
  cleanups.push(dlq.stop);
  const [dead] = await eventually('the poison message in the DLQ', () =>
    dlq.messages.length > 0 ? dlq.messages : undefined,
  );
  assert.equal(dead?.value?.toString(), 'definitely not an event', 'the original bytes');
  assert.equal(dead?.key?.toString(), 'ord-poison');
  const header = (name: string) => dead?.headers?.[name]?.toString();
  assert.match(header(DLQ_HEADERS.error) ?? '', /no ce_id/);
  assert.equal(header(DLQ_HEADERS.attempts), '0');
  assert.equal(header(DLQ_HEADERS.topic), topic);
  assert.match(header(DLQ_HEADERS.partition) ?? '', /^[0-2]$/);
  assert.equal(header(DLQ_HEADERS.offset), '0');
  assert.equal(header(DLQ_HEADERS.group), groupId);
  assert.equal(header(DLQ_HEADERS.reason), 'poison');
  assert.equal(header('x-from'), 'test', 'the original headers are kept');
  assert.equal(await counterValue(registry, 'shop_consumer_dlq_total'), 1);
  await eventually('the offset to move past both messages', async () =>
    (await committedOffset(groupId, topic)) === 2 ? true : undefined,
  );
});

test("a forged event on order.events from cart is dead-lettered unapplied; the owner's next event is applied", async () => {
  await db.pool.query('TRUNCATE applied');
  // A copy of order.events of this test's own: its name says order owns it.
  const { topic, groupId, registry } = await consumerOn(apply, { topicPrefix: 'order.events.test-' });
  const forged = createEvent({
    service: 'cart',
    type: eventType('order', 'confirmed'),
    subject: 'ord-forged',
    data: { orderId: 'ord-forged' },
  });
  const genuine = orderEvent('ord-forged');
  // Same key, so the same partition: the genuine event is behind the forged one.
  await producer.publish(topic, [forged]);
  await producer.publish(topic, [genuine]);

  await eventually('the genuine event to be applied', async () =>
    (await appliedIds()).includes(genuine.id) ? true : undefined,
  );
  assert.deepEqual(await appliedIds(), [genuine.id], 'the forged event is not applied');
  const dlq = await readTopic(kafka, `${topic}.dlq`);
  cleanups.push(dlq.stop);
  const [dead] = await eventually('the forged event in the DLQ', () =>
    dlq.messages.length > 0 ? dlq.messages : undefined,
  );
  const header = (name: string) => dead?.headers?.[name]?.toString();
  assert.equal(header('ce_id'), forged.id);
  assert.equal(header('ce_source'), '/shoplab/cart');
  assert.equal(header(DLQ_HEADERS.reason), 'poison');
  assert.equal(header(DLQ_HEADERS.attempts), '0');
  assert.equal(
    header(DLQ_HEADERS.error),
    `event ${forged.id} (shop.order.confirmed.v1) on ${topic} comes from /shoplab/cart, but only /shoplab/order publishes to ${topic}: not applied`,
  );
  assert.equal(await counterValue(registry, 'shop_consumer_foreign_source_total'), 1);
  assert.equal(await counterValue(registry, 'shop_consumer_handler_failures_total'), 0, 'never retried');
  await eventually('the offset to move past both events', async () =>
    (await committedOffset(groupId, topic)) === 2 ? true : undefined,
  );
});

test('a handler that keeps failing is retried, dead-lettered with its attempts, and the consumer moves on', async () => {
  await db.pool.query('TRUNCATE applied');
  const attempts: number[] = [];
  const { topic, registry } = await consumerOn(
    async (event, tx, meta) => {
      await apply(event, tx, meta); // rolled back with the failure below
      if (event.type === 'shop.order.confirmed.v1') {
        attempts.push(meta.attempt);
        throw new Error(`order ${event.subject} has no lines`);
      }
    },
    { maxAttempts: 3 },
  );
  const failing = orderEvent('ord-fail');
  const next = orderEvent('ord-fail', 'cancelled');

  await producer.publish(topic, [failing, next]);

  await eventually('the next event to be applied', async () =>
    (await appliedIds()).includes(next.id) ? true : undefined,
  );
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.deepEqual(await appliedIds(), [next.id], 'the failed attempts left nothing behind');
  const dlq = await readTopic(kafka, `${topic}.dlq`);
  cleanups.push(dlq.stop);
  const [dead] = await eventually('the failed event in the DLQ', () =>
    dlq.messages.length > 0 ? dlq.messages : undefined,
  );
  assert.equal(dead?.headers?.[DLQ_HEADERS.error]?.toString(), 'order ord-fail has no lines');
  assert.equal(dead?.headers?.[DLQ_HEADERS.attempts]?.toString(), '3');
  assert.equal(dead?.headers?.[DLQ_HEADERS.reason]?.toString(), 'failed');
  assert.equal(dead?.headers?.ce_id?.toString(), failing.id);
  assert.equal(await counterValue(registry, 'shop_consumer_handler_failures_total'), 3);
});

test('stop lets the in-flight handler finish, commits its offset, and only then returns', async () => {
  await db.pool.query('TRUNCATE applied');
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = false;
  const { topic, groupId, consumer } = await consumerOn(async (event, tx, meta) => {
    entered = true;
    await gate;
    await apply(event, tx, meta);
  });
  const event = orderEvent('ord-stop');
  await producer.publish(topic, [event]);
  await eventually('the handler to start', () => (entered ? true : undefined));

  let stopped = false;
  const stopping = consumer.stop().then(() => {
    stopped = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(stopped, false, 'stop waits for the in-flight handler');
  release();
  await stopping;

  assert.deepEqual(await appliedIds(), [event.id]);
  assert.equal(await committedOffset(groupId, topic), 1);
});

test('a handler can run in a Prisma interactive transaction that also records the event id', async () => {
  await db.pool.query('TRUNCATE applied');
  const prisma = new PrismaClient({ adapter: createPrismaAdapter(testDatabase) });
  cleanups.push(() => prisma.$disconnect());
  const topic = randomName('chassis.msg.');
  topics.push(topic, `${topic}.dlq`);
  await createTopics(kafka, [topic, `${topic}.dlq`]);
  const registry = new Registry();
  const consumer = createConsumer<Prisma.TransactionClient>({
    kafka,
    groupId: randomName('chassis-msg-'),
    topics: [topic],
    logger,
    metrics: { registry },
    transaction: (work) =>
      prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`SET LOCAL search_path TO ${db.schema}`);
        return work(tx);
      }),
    handler: async (event, tx) => {
      await tx.$executeRawUnsafe(
        'INSERT INTO applied (event_id, subject) VALUES ($1::uuid, $2)',
        event.id,
        event.subject,
      );
    },
  });
  cleanups.push(() => consumer.stop());
  await consumer.start();
  const event = orderEvent('ord-prisma');
  const next = orderEvent('ord-prisma', 'cancelled');

  await producer.publish(topic, [event, event, next]);

  await eventually('the last event to be applied', async () =>
    (await appliedIds()).includes(next.id) ? true : undefined,
  );
  assert.deepEqual(await appliedIds(), [event.id, next.id]);
  assert.equal(await counterValue(registry, 'shop_consumer_duplicates_total'), 1);
});

test('a consumer kafkajs gives up on during a Kafka outage is replaced, and the events published after it are applied', async () => {
  await db.pool.query('TRUNCATE applied');
  const topic = randomName('chassis.msg.');
  topics.push(topic, `${topic}.dlq`);
  await createTopics(kafka, [topic, `${topic}.dlq`]);
  const groupId = randomName('chassis-msg-');
  let created = 0;
  let givenUp = 0;
  const intake = consumerIntake('test-consumer', {
    kafka,
    topics: [topic],
    logger,
    backoff: { initialMs: 200, maxMs: 1_000 },
    create: () => {
      created++;
      const consumer = createConsumer({
        kafka,
        groupId,
        topics: [topic],
        db: db.pool,
        handler: apply,
        logger,
        // Whatever the crash, kafkajs gives this consumer up instead of restarting it: the
        // case a restarted broker that cannot name the group coordinator yet produces.
        consumerConfig: { retry: { retries: 1, initialRetryTime: 100, restartOnFailure: async () => false } },
      });
      consumer.onGiveUp(() => givenUp++);
      return consumer;
    },
  });
  cleanups.push(async () => intake.stop());
  await intake.start?.();
  const before = orderEvent('ord-before-outage');
  await producer.publish(topic, [before]);
  await eventually('the first event to be applied', async () =>
    (await appliedIds()).includes(before.id) ? true : undefined,
  );

  await withKafkaStopped(() => eventually('kafkajs to give the consumer up', () => (givenUp > 0 ? true : undefined)));

  const afterwards = orderEvent('ord-after-outage');
  await producer.publish(topic, [afterwards]);
  await eventually(
    'the event published after the outage to be applied by the replacement',
    async () => ((await appliedIds()).includes(afterwards.id) ? true : undefined),
    { timeoutMs: 90_000 },
  );
  assert.deepEqual(await appliedIds(), [before.id, afterwards.id]);
  assert.ok(created >= 2, `the intake created a replacement consumer (${created} created)`);
});
