import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createLogger, createProducer, OutboxRelay, poolConfig } from '@shoplab/chassis';
import { eventually } from '@shoplab/chassis/testing';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import pg from 'pg';
import { startTestCatalog, type TestCatalog } from '../support/harness';

let catalog: TestCatalog;
const kafka = new Kafka({
  clientId: `catalog-test-${randomUUID().slice(0, 8)}`,
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
// This test's own topic, so it never writes into the shared catalog.events.
const topic = `catalog-test-${randomUUID().slice(0, 12)}`;

before(async () => {
  catalog = await startTestCatalog('catalog_relay');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
});

after(async () => {
  await catalog?.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

test('stock events written to the outbox reach Kafka through the relay, in order, keyed by reservation', async () => {
  await catalog.sql.query(
    `INSERT INTO products (id, sku, name, description, category, price_amount, image_url)
     VALUES ('relay-1', 'SKU-relay-1', 'Relay product', '', 'test', 100, '');
     INSERT INTO stock (product_id, initial, available) VALUES ('relay-1', 5, 5)`,
  );
  const id = `ord-${randomUUID()}`;
  await catalog.client.call('reserveStock', {
    idempotencyKey: `${id}:reserve`,
    reservationId: id,
    lines: [{ productId: 'relay-1', quantity: 2 }],
  });
  await catalog.client.call('commitStock', { idempotencyKey: `${id}:commit`, reservationId: id });
  // Route this database's rows to the test topic (the rows were written for catalog.events).
  await catalog.sql.query('UPDATE outbox SET topic = $1', [topic]);

  const received: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId: `catalog-test-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      received.push(message);
    },
  });

  const logger = createLogger({ service: 'catalog-test', level: 'silent' });
  const pool = new pg.Pool(poolConfig({ ...catalog.database, maxConnections: 2 }));
  const producer = createProducer(kafka, { logger });
  const relay = new OutboxRelay({ pool, producer, logger, pollIntervalMs: 100 });
  relay.start();
  try {
    const mine = await eventually(
      'both events on Kafka',
      async () => {
        const list = received.filter((m) => m.key?.toString() === id);
        return list.length >= 2 ? list : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, onError: 'fail' },
    );
    assert.deepEqual(
      mine.map((m) => m.headers?.ce_type?.toString()),
      ['shop.catalog.stock_reserved.v1', 'shop.catalog.stock_committed.v1'],
    );
    assert.equal(mine[0]?.headers?.ce_source?.toString(), '/shoplab/catalog');
    assert.equal(mine[0]?.headers?.ce_subject?.toString(), id);
    assert.deepEqual(JSON.parse(mine[1]?.value?.toString() ?? ''), {
      reservationId: id,
      lines: [{ productId: 'relay-1', quantity: 2 }],
    });
    await eventually('every row marked published', async () => ((await relay.backlog()) === 0 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 50,
      onError: 'fail',
    });
  } finally {
    await relay.stop();
    await producer.disconnect();
    await consumer.disconnect();
    await pool.end();
  }
});
