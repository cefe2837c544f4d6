import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { eventually } from '@shoplab/chassis/testing';
import { Kafka, logLevel } from 'kafkajs';
import { stack } from './stack';

const kafka = new Kafka({ clientId: 'shoplab-smoke', brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING });

test('kafkajs talks to the broker: admin creates a topic and lists it', async () => {
  const admin = kafka.admin();
  await admin.connect();
  const topic = `smoke.admin.${randomUUID()}`;
  try {
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true }), true);
    assert.ok((await admin.listTopics()).includes(topic));
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(meta.topics[0]?.partitions.length, 2);
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
});

test('an idempotent producer and a consumer group round-trip keyed messages in order', async () => {
  const topic = `smoke.roundtrip.${randomUUID()}`;
  const groupId = `smoke-group-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId });
  const received: { key: string; value: string; header: string }[] = [];
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          header: message.headers?.['x-smoke']?.toString() ?? '',
        });
      },
    });
    const sent = Array.from({ length: 10 }, (_, i) => ({ key: `order-${i % 2}`, value: `event-${i}` }));
    await producer.send({ topic, messages: sent.map((m) => ({ ...m, headers: { 'x-smoke': 'yes' } })) });

    await eventually('all 10 messages to be consumed', async () => (received.length >= 10 ? true : undefined), {
      intervalMs: 250,
    });
    assert.equal(received.length, 10);
    assert.ok(received.every((m) => m.header === 'yes'));
    for (const key of ['order-0', 'order-1']) {
      const expected = sent.filter((m) => m.key === key).map((m) => m.value);
      assert.deepEqual(
        received.filter((m) => m.key === key).map((m) => m.value),
        expected,
        `per-key order for ${key}`,
      );
    }

    // The group committed its offsets with the broker's group coordinator.
    await consumer.stop();
    const offsets = await eventually(
      'committed offsets',
      async () => {
        const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const total = entry?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) ?? 0;
        return total === 10 ? total : undefined;
      },
      { intervalMs: 250 },
    );
    assert.equal(offsets, 10);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
