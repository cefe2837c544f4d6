// The user service process: config → kit → database and Kafka → buildApp → startService.
import {
  ConfigError,
  createProducer,
  createServiceKit,
  kafkaLogCreator,
  OutboxRelay,
  startService,
} from '@shoplab/chassis';
import { Kafka } from 'kafkajs';
import { buildApp } from './app';
import { loadUserConfig } from './config';
import { createPgPool, createPrismaClient, databaseSettings } from './infrastructure/database';

async function main(): Promise<void> {
  const config = loadUserConfig();
  const kit = createServiceKit(config);
  const { logger } = kit;
  const settings = databaseSettings(config);
  const prisma = createPrismaClient(settings);
  const pool = createPgPool(settings);
  const kafka = new Kafka({
    clientId: config.KAFKA_CLIENT_ID ?? kit.instanceId,
    brokers: config.KAFKA_BROKERS,
    logCreator: kafkaLogCreator(logger),
  });
  const producer = createProducer(kafka, { logger });
  const relay = new OutboxRelay({
    pool,
    producer,
    logger,
    metrics: kit.metrics,
    chaos: kit.chaos,
    pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
  });

  const { http, grpc } = await buildApp({ kit, prisma });
  await startService(kit, {
    http,
    grpc,
    intake: [{ name: 'outbox-relay', start: () => relay.start(), stop: () => relay.stop() }],
    pools: [
      { name: 'kafka-producer', close: () => producer.disconnect() },
      { name: 'pg', close: () => pool.end() },
      { name: 'prisma', close: () => prisma.$disconnect() },
    ],
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('user service failed to start', err);
  process.exit(1);
});
