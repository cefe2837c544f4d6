// ensureRetention on the real Kafka: the source topics keep every event (retention.ms -1) for a
// rebuild, and the overrides a topic already had survive (AlterConfigs replaces the whole set).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type Admin, ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { ensureRetention } from '../../src/infrastructure/retention';

const kafka = new Kafka({
  clientId: 'history-retention-test',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  logLevel: logLevel.NOTHING,
});
const topic = `order.events.retention-test-${randomUUID().slice(0, 8)}`;
let admin: Admin;

async function topicConfig(): Promise<Record<string, string>> {
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
  });
  return Object.fromEntries((described.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
}

before(async () => {
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: 1,
        configEntries: [
          { name: 'retention.ms', value: '60000' },
          { name: 'max.message.bytes', value: '524288' },
        ],
      },
    ],
  });
});

after(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

test('sets retention.ms to -1 and keeps the other overrides; a second run changes nothing', async () => {
  assert.equal((await topicConfig())['retention.ms'], '60000');
  assert.deepEqual(await ensureRetention(kafka, [topic], '-1'), [topic]);
  const config = await topicConfig();
  assert.equal(config['retention.ms'], '-1');
  assert.equal(config['max.message.bytes'], '524288');
  assert.deepEqual(await ensureRetention(kafka, [topic], '-1'), []);
});
