// Keeps the source topics' events for a rebuild (ADR 22): sets their retention.ms at start.
// AlterConfigs replaces a topic's whole set of overrides, so the overrides it already has are
// sent along unchanged.
import type { Logger } from '@shoplab/chassis';
import { ConfigResourceTypes, type Kafka } from 'kafkajs';

/** kafkajs' ConfigSource for a value set on the topic itself. */
const TOPIC_CONFIG_SOURCE = 1;

/** Sets retention.ms = `retentionMs` on each topic that has another value; returns the topics changed. */
export async function ensureRetention(kafka: Kafka, topics: string[], retentionMs: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
    });
    const changed: string[] = [];
    for (const resource of described.resources) {
      const current = resource.configEntries.find((e) => e.configName === 'retention.ms');
      if (current?.configValue === retentionMs) continue;
      const overrides = resource.configEntries
        .filter((e) => e.configSource === TOPIC_CONFIG_SOURCE && e.configName !== 'retention.ms')
        .map((e) => ({ name: e.configName, value: e.configValue }));
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: resource.resourceName,
            configEntries: [...overrides, { name: 'retention.ms', value: retentionMs }],
          },
        ],
      });
      changed.push(resource.resourceName);
    }
    return changed;
  } finally {
    await admin.disconnect();
  }
}

/** ensureRetention in the background, retried while Kafka (or a topic) is not there yet. */
export function retentionIntake(kafka: Kafka, topics: string[], retentionMs: string, logger: Logger) {
  let stopped = false;
  return {
    name: 'source-topics-retention',
    start: async () => {
      if (retentionMs === '') return;
      void (async () => {
        for (let attempt = 1; !stopped && attempt <= 60; attempt++) {
          try {
            const changed = await ensureRetention(kafka, topics, retentionMs);
            logger.info({ topics, changed, retentionMs }, 'source topics keep their events for a rebuild');
            return;
          } catch (err) {
            logger.warn({ err, attempt }, 'could not set the source topics retention yet; retrying');
            await new Promise((resolve) => setTimeout(resolve, 5_000).unref());
          }
        }
      })();
    },
    stop: async () => {
      stopped = true;
    },
  };
}
