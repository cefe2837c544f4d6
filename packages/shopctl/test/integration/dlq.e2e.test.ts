// `shopctl dlq` against the LIVE Kafka: messages put on a DLQ are listed, redriven to their
// source topic (key, value and headers kept, x-redriven-at added) once each — a second
// redrive copies nothing. Uses topics of its own, deleted afterwards.
// Run under the live-stack lock: flock -o /tmp/shoplab-live.lock bash scripts/test.sh dlq.e2e
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { eventually } from '@shoplab/chassis/testing';
import { Kafka, type KafkaMessage, logLevel, Partitioners } from 'kafkajs';
import { discardDlq, listDlq, REDRIVEN_HEADER, redriveDlq } from '../../src/dlq';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new Kafka({ clientId: 'shopctl-dlq-e2e', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3_000 });

async function kafkaIsUp(): Promise<boolean> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Every message now on `topic` (a throw-away group, from the beginning). */
async function readAll(topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `shopctl-dlq-e2e-${randomUUID()}` });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
  try {
    await eventually(
      () => `${expected} message(s) on ${topic} (${seen.length} so far)`,
      () => (seen.length >= expected ? seen : undefined),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // anything more would show up too
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

test('messages on a DLQ are listed, then redriven to their source topic exactly once each', async (t) => {
  if (!(await kafkaIsUp())) {
    t.skip(`Kafka (${brokers}) is not up: start the stack (make up)`);
    return;
  }
  const source = `shopctl-e2e-${randomUUID().slice(0, 8)}.events`;
  const dlq = `${source}.dlq`;
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await admin.createTopics({ topics: [{ topic: source }, { topic: dlq }], waitForLeaders: true });
    await producer.connect();
    const ids = [randomUUID(), randomUUID()];
    await producer.send({
      topic: dlq,
      messages: ids.map((id, i) => ({
        key: `order-${i}`,
        value: JSON.stringify({ orderId: `order-${i}` }),
        headers: {
          ce_id: id,
          ce_type: 'shop.order.confirmed.v1',
          'x-error': 'injected failure',
          'x-error-attempts': '5',
          'x-original-topic': source,
          'x-consumer-group': 'cart.order-events',
        },
      })),
    });

    const [listed] = await listDlq({ topic: source });
    assert.equal(listed?.count, 2);
    assert.equal(listed?.pending, 2);
    assert.deepEqual(
      listed?.messages.map((m) => [m.eventId, m.reason, m.attempts, m.sourceTopic]),
      ids.map((id) => [id, 'injected failure', 5, source]),
    );

    const first = await redriveDlq({ topic: dlq, max: 1 });
    assert.deepEqual(
      first.redriven.map((r) => r.eventId),
      [ids[0]],
    );
    assert.equal(first.remaining, 1);
    const rest = await redriveDlq({ topic: dlq });
    assert.deepEqual(
      rest.redriven.map((r) => r.eventId),
      [ids[1]],
    );
    assert.equal((await redriveDlq({ topic: dlq })).redriven.length, 0, 'nothing is redriven twice');
    assert.equal((await listDlq({ topic: dlq }))[0]?.pending, 0);

    const copies = await readAll(source, 2);
    assert.deepEqual(
      copies.map((m) => [m.key?.toString(), m.headers?.ce_id?.toString(), m.value?.toString()]),
      ids.map((id, i) => [`order-${i}`, id, JSON.stringify({ orderId: `order-${i}` })]),
    );
    for (const copy of copies) assert.ok(copy.headers?.[REDRIVEN_HEADER], 'the copy carries the redrive header');

    // A message that can never succeed is discarded: marked handled, not copied.
    await producer.send({ topic: dlq, messages: [{ key: 'poison', value: 'not a CloudEvent' }] });
    assert.equal((await listDlq({ topic: dlq }))[0]?.pending, 1);
    assert.equal(await discardDlq({ topic: dlq }), 1);
    assert.equal((await listDlq({ topic: dlq }))[0]?.pending, 0);
    assert.equal((await redriveDlq({ topic: dlq })).redriven.length, 0);
    assert.equal((await readAll(source, 2)).length, 2, 'the discarded message was not copied');

    // Two groups parked their own copies of one source message, and a poison message was parked
    // with 0 attempts: the redrive copies the source message back once and passes over the rest.
    const again = randomUUID();
    const parkedBy = (group: string) => ({
      key: 'order-2',
      value: JSON.stringify({ orderId: 'order-2' }),
      headers: {
        ce_id: again,
        ce_type: 'shop.order.confirmed.v1',
        'x-error': 'injected failure',
        'x-error-attempts': '5',
        'x-original-topic': source,
        'x-original-partition': '0',
        'x-original-offset': '17',
        'x-consumer-group': group,
        'x-dead-letter-reason': 'failed',
      },
    });
    await producer.send({
      topic: dlq,
      messages: [
        parkedBy('cart-order-events'),
        {
          key: 'poison-2',
          value: 'not a CloudEvent',
          headers: { 'x-error-attempts': '0', 'x-dead-letter-reason': 'poison', 'x-original-topic': source },
        },
        parkedBy('catalog-order-events'),
      ],
    });
    const merged = await redriveDlq({ topic: dlq });
    assert.deepEqual(
      merged.redriven.map((r) => r.eventId),
      [again],
    );
    assert.deepEqual(merged.skipped, { poison: 1, copies: 1 });
    assert.equal(merged.remaining, 0);
    assert.equal((await listDlq({ topic: dlq }))[0]?.pending, 0, 'what was passed over is marked handled');
    const after = await readAll(source, 3);
    assert.deepEqual(
      after.map((m) => m.key?.toString()).sort(),
      ['order-0', 'order-1', 'order-2'],
      'one copy back, the poison message not at all',
    );
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [source, dlq] }).catch(() => undefined);
    await admin.disconnect();
  }
});
