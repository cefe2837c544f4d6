// Fixtures for the messaging and outbox tests against the real local Kafka and PostgreSQL:
// scratch topics and schemas with random names, a bounded poll, and a Kafka outage that
// always ends with Kafka running again.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import pg from 'pg';
import { createLogger, type Logger } from '../../src/logging';
import { PROCESSED_EVENTS_DDL } from '../../src/messaging';
import { OUTBOX_DDL } from '../../src/outbox';
import { kafkaBrokers, testDatabase } from './stack';

const run = promisify(execFile);
const repoRoot = resolve(__dirname, '../../../../..');

/** The chassis' one bounded poll (`testing` entry), as the messaging and outbox tests use it. */
export { eventually } from '../../src/testing/eventually';

/** W3C trace context and async context propagation, as the telemetry bootstrap installs them. */
export function installTracePropagation(): void {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** A logger that prints only when TEST_LOG_LEVEL asks for it. */
export function testLogger(): Logger {
  return createLogger({ service: 'chassis-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

export function testKafka(): Kafka {
  return new Kafka({
    clientId: `chassis-test-${randomUUID().slice(0, 8)}`,
    brokers: kafkaBrokers,
    // Quiet: the outage test makes kafkajs log every refused connection.
    logLevel: logLevel.NOTHING,
    // Fail fast: kafkajs nests this retrier inside the producer's and the consumer's own.
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 3 },
  });
}

export function randomName(prefix: string): string {
  return `${prefix}${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Creates topics with 3 partitions (by default). */
export async function createTopics(kafka: Kafka, topics: string[], numPartitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Deletes topics, best effort. Call it after every producer that wrote to them is disconnected:
 * a connected kafkajs producer refreshes their metadata, and with auto-creation on that
 * re-creates them.
 */
export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics, timeout: 10_000 });
  } catch {
    // Best effort: a topic that is already gone is fine.
  } finally {
    await admin.disconnect();
  }
}

/** Reads a topic from the beginning with a throwaway group, collecting every message it sees. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
): Promise<{ messages: KafkaMessage[]; stop: () => Promise<void> }> {
  const consumer = kafka.consumer({ groupId: randomName('chassis-test-reader-'), maxWaitTimeInMs: 250 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      messages.push(message);
    },
  });
  return {
    messages,
    stop: async () => {
      await consumer.stop();
      await consumer.disconnect();
    },
  };
}

/** A schema of its own in shoplab_test with the outbox and processed_events tables, and a pool using it. */
export async function scratchSchema(): Promise<{ schema: string; pool: pg.Pool; drop: () => Promise<void> }> {
  const schema = randomName('chassis_msg_');
  const pool = new pg.Pool({ ...testDatabase, max: 8, options: `-c search_path=${schema}` });
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(OUTBOX_DDL);
  await pool.query(PROCESSED_EVENTS_DDL);
  return {
    schema,
    pool,
    drop: async () => {
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
      await pool.end();
    },
  };
}

async function infra(...args: string[]): Promise<void> {
  await run('bash', ['infra/local/infra.sh', ...args], { cwd: repoRoot, timeout: 180_000 });
}

/**
 * Stops the local Kafka, runs `during`, and starts Kafka again whatever happened. Keep
 * `during` short: other engineers' tests share this broker.
 */
export async function withKafkaStopped<T>(during: () => Promise<T>): Promise<T> {
  try {
    await infra('down', 'kafka');
    return await during();
  } finally {
    await infra('up', 'kafka');
  }
}
