// The order-events consumer against the real Kafka and a scratch database: order events are
// published with the chassis producer on a topic of this test's own, the consumer runs as the
// Intake main.ts starts, and the tests read the counters back (SQL, admin report, popular sort).
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
import { SEED_PRODUCTS } from '../../src/infrastructure/seed-data';
import { ADMIN_TOKEN, addProduct, startTestCatalog, type TestCatalog } from '../support/harness';

const suffix = randomUUID().slice(0, 8);
const topic = `order.events.test-${suffix}`;
const groupId = `catalog-order-events-test-${suffix}`;
const kafka = new Kafka({
  clientId: 'catalog-order-events-test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const logger = createLogger({ service: 'catalog-test', level: process.env.CATALOG_TEST_LOG_LEVEL ?? 'silent' });
let catalog: TestCatalog;
let producer: EventProducer;
let raw: Producer;
let metrics: ServiceMetrics;
let intake: Intake;

before(async () => {
  catalog = await startTestCatalog('catalog_orders');
  // Ids that sort after the seed's p-NNNN, in a category of their own.
  await addProduct(catalog.sql, 'q-best', 100, 'popular-test');
  await addProduct(catalog.sql, 'q-good', 100, 'popular-test');
  await addProduct(catalog.sql, 'q-none', 100, 'popular-test');
  metrics = createMetrics('catalog-test');
  await ensureTopics(kafka, [topic], { withDlq: true });
  intake = consumerIntake('order-events-consumer', {
    kafka,
    topics: [topic],
    logger,
    create: () =>
      createOrderEventsConsumer({
        kafka,
        prisma: catalog.prisma,
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
  await intake.stop();
  await producer.disconnect();
  await raw.disconnect();
  await catalog.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  await admin.disconnect();
});

type Lines = [productId: string, quantity: number][];

/** shop.order.confirmed.v1 as the order service writes it. */
function confirmed(lines: Lines, orderId = `ord-${randomUUID()}`): DomainEvent {
  const orderLines = lines.map(([productId, quantity]) => ({
    productId,
    name: `Product ${productId}`,
    quantity,
    unitPrice: { amount: 1000, currency: 'USD' },
    lineTotal: { amount: 1000 * quantity, currency: 'USD' },
  }));
  return createEvent({
    service: 'order',
    type: eventType('order', 'confirmed'),
    subject: orderId,
    data: {
      orderId,
      userId: randomUUID(),
      status: 'CONFIRMED',
      lines: orderLines,
      total: { amount: orderLines.reduce((sum, l) => sum + l.lineTotal.amount, 0), currency: 'USD' },
      paymentId: `pay-${orderId}`,
      cartVersion: 3,
      confirmedAt: new Date().toISOString(),
    },
  });
}

function cancelled(orderId = `ord-${randomUUID()}`): DomainEvent {
  return createEvent({
    service: 'order',
    type: eventType('order', 'cancelled'),
    subject: orderId,
    data: { orderId, userId: randomUUID(), reason: 'out of stock', total: { amount: 5000, currency: 'USD' } },
  });
}

const orderIdOf = (event: DomainEvent) => (event.data as { orderId: string }).orderId;

async function applied(event: DomainEvent): Promise<void> {
  await eventually(
    `event ${event.type} to be applied`,
    async () => {
      const { rowCount } = await catalog.sql.query(
        'SELECT 1 FROM processed_events WHERE consumer_group = $1 AND event_id = $2',
        [groupId, event.id],
      );
      return rowCount === 1 ? true : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 50, onError: 'fail' },
  );
}

async function sales(): Promise<Record<string, { units: number; orders: number }>> {
  const { rows } = await catalog.sql.query<{ product_id: string; units_sold: number; orders_count: number }>(
    'SELECT product_id, units_sold, orders_count FROM product_sales ORDER BY product_id',
  );
  return Object.fromEntries(rows.map((r) => [r.product_id, { units: r.units_sold, orders: r.orders_count }]));
}

async function counter(name: string): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  return metric ? (await metric.get()).values.reduce((sum, v) => sum + v.value, 0) : 0;
}

async function getJson(url: string, headers: Record<string, string> = {}) {
  const res = await catalog.app.http.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.json() };
}

describe('sold counters', () => {
  test('confirmed orders add their units once per order, though an event arrives twice; cancelled ones add nothing', async () => {
    const first = confirmed([
      ['q-best', 2],
      ['q-good', 1],
    ]);
    // The same product on two lines counts as one product of the order.
    const second = confirmed([
      ['q-best', 1],
      ['q-best', 2],
    ]);
    const dropped = cancelled();
    const duplicatesBefore = await counter('shop_consumer_duplicates_total');

    await producer.publish(topic, [first]);
    await producer.publish(topic, [first, second, dropped]);
    await Promise.all([applied(first), applied(second), applied(dropped)]);
    await eventually(
      'the copy to be skipped',
      async () => ((await counter('shop_consumer_duplicates_total')) === duplicatesBefore + 1 ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 50, onError: 'fail' },
    );

    assert.deepEqual(await sales(), {
      'q-best': { units: 5, orders: 2 },
      'q-good': { units: 1, orders: 1 },
    });
    const { rows } = await catalog.sql.query('SELECT order_id, units FROM sales_orders ORDER BY order_id');
    assert.deepEqual(
      rows,
      [
        { order_id: orderIdOf(first), units: 3 },
        { order_id: orderIdOf(second), units: 3 },
      ].sort((a, b) => (a.order_id < b.order_id ? -1 : 1)),
      'one row per counted order',
    );
  });

  test('the same order announced again under a new event id is counted once', async () => {
    const before = await sales();
    const first = confirmed([['q-good', 4]]);
    const again = confirmed([['q-good', 4]], orderIdOf(first));

    await producer.publish(topic, [first, again]);
    await applied(again);

    const after = await sales();
    assert.deepEqual(after['q-good'], { units: (before['q-good']?.units ?? 0) + 4, orders: 2 });
  });

  test('the admin stock report shows each product’s units sold in confirmed orders', async () => {
    const counted = await sales();
    const { status, body } = await getJson('/v1/admin/stock', { authorization: `Bearer ${ADMIN_TOKEN}` });
    assert.equal(status, 200);
    const byId = new Map(body.products.map((p: { id: string }) => [p.id, p]));
    assert.deepEqual(byId.get('q-best'), {
      id: 'q-best',
      initial: 100,
      available: 100,
      reserved: 0,
      sold: 0,
      confirmedUnitsSold: counted['q-best']?.units,
    });
    assert.equal((byId.get('q-none') as { confirmedUnitsSold: number }).confirmedUnitsSold, 0);
  });
});

describe('GET /v1/products?sort=popular', () => {
  test('lists the best sellers first, then the rest by id, and its cursor walks every product once', async () => {
    const seen: { id: string }[] = [];
    let url = '/v1/products?sort=popular&limit=7';
    for (let page = 0; page < 20; page++) {
      const { status, body } = await getJson(url);
      assert.equal(status, 200);
      seen.push(...body.items);
      if (!body.nextCursor) break;
      url = `/v1/products?sort=popular&limit=7&cursor=${body.nextCursor}`;
    }
    assert.deepEqual(
      seen.map((p) => p.id),
      ['q-best', 'q-good', ...SEED_PRODUCTS.map((p) => p.id), 'q-none'],
    );
    assert.deepEqual(Object.keys(seen[0] ?? {}).sort(), [
      'available',
      'category',
      'description',
      'id',
      'imageUrl',
      'name',
      'price',
      'sku',
    ]);
  });

  test('filters by category and text like the id order does', async () => {
    const { body } = await getJson('/v1/products?sort=popular&category=popular-test&q=Test%20product');
    assert.deepEqual(
      body.items.map((p: { id: string }) => p.id),
      ['q-best', 'q-good', 'q-none'],
    );
    assert.equal(body.nextCursor, null);
  });

  test('an unknown sort, or a cursor of the id order, is a 400', async () => {
    const bad = await getJson('/v1/products?sort=cheapest');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'SHOP_VALIDATION_FAILED');
    const { body: idPage } = await getJson('/v1/products?limit=1');
    const mixed = await getJson(`/v1/products?sort=popular&cursor=${idPage.nextCursor}`);
    assert.equal(mixed.status, 400);
    assert.equal(mixed.body.code, 'SHOP_VALIDATION_FAILED');
  });
});

describe('bad messages', () => {
  test('a malformed message and an event with broken data go to the DLQ, and the next event is still applied', async () => {
    const before = await sales();
    const good = confirmed([['q-none', 1]]);
    const key = orderIdOf(good);
    const broken = createEvent({
      service: 'order',
      type: eventType('order', 'confirmed'),
      subject: key,
      data: { orderId: key, lines: [{ productId: 'q-none', quantity: -3 }] },
    });
    const reader = kafka.consumer({ groupId: `catalog-dlq-reader-${randomUUID()}`, maxWaitTimeInMs: 250 });
    const dead: KafkaMessage[] = [];
    await reader.connect();
    await reader.subscribe({ topic: `${topic}.dlq`, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        dead.push(message);
      },
    });

    // One key: one partition, so the good event is behind the bad ones.
    await raw.send({ topic, messages: [{ key, value: '{"not": "a cloudevent"}' }] });
    await producer.publish(topic, [broken, good]);
    await applied(good);

    assert.deepEqual((await sales())['q-none'], { units: 1, orders: 1 });
    assert.equal(before['q-none'], undefined);
    const [poison, failed] = await eventually(
      'both messages in the DLQ',
      async () => (dead.length >= 2 ? dead : undefined),
      { timeoutMs: 20_000, intervalMs: 50, onError: 'fail' },
    );
    await reader.disconnect();
    assert.equal(poison?.value?.toString(), '{"not": "a cloudevent"}');
    assert.equal(failed?.headers?.ce_id?.toString(), broken.id);
    assert.equal(failed?.headers?.[DLQ_HEADERS.attempts]?.toString(), '1', 'broken data is not retried');
    assert.match(failed?.headers?.[DLQ_HEADERS.error]?.toString() ?? '', /invalid data/);
  });
});
