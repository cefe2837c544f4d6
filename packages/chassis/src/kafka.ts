// Kafka plumbing shared by producers and consumers: kafkajs' log lines in the service's logger,
// and the topics a service needs created before it starts.
import type { Kafka } from 'kafkajs';
import type { Logger } from './logging';

/** Routes kafkajs' own log lines into a pino logger (pass as `logCreator` to `new Kafka`). */
export function kafkaLogCreator(logger: Logger) {
  const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = { 1: 'error', 2: 'warn', 4: 'info', 5: 'debug' };
  return () =>
    ({
      namespace,
      level,
      log,
    }: {
      namespace: string;
      level: number;
      log: { message: string; [key: string]: unknown };
    }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      logger[levels[level] ?? 'info']({ kafka: namespace, ...extra }, message);
    };
}

/**
 * Creates the topics a service produces or consumes if they are missing (with their `.dlq`
 * twins when asked), so a consumer never starts against a topic that does not exist yet.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[],
  options: { numPartitions?: number; withDlq?: boolean } = {},
): Promise<void> {
  const wanted = [...new Set(options.withDlq ? topics.flatMap((t) => [t, `${t}.dlq`]) : topics)];
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: options.numPartitions ?? 3 })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}
