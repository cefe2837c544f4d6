// config → kit → database (+ seed) → Kafka producer and outbox relay → buildApp → startService.
import {
  consumerIntake,
  createProducer,
  createServiceKit,
  kafkaLogCreator,
  loadConfig,
  OutboxRelay,
  poolConfig,
  startService,
} from '@shoplab/chassis';
import { Kafka } from 'kafkajs';
import pg from 'pg';
import { buildApp } from './app';
import { configSchema } from './config';
import { createCatalogPrisma } from './infrastructure/database';
import { createOrderEventsConsumer } from './infrastructure/order-events.consumer';
import { seedCatalog } from './infrastructure/seed';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const { logger } = kit;
  const db = {
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
    maxConnections: config.DB_POOL_MAX,
  };
  const prisma = createCatalogPrisma(db);
  if (config.SEED_CATALOG) {
    const seeded = await seedCatalog(prisma);
    logger.info(seeded, 'catalog seed applied');
  }

  // The relay has its own small pool: publishing must not wait behind a burst of stock commands.
  const relayPool = new pg.Pool({ ...poolConfig({ ...db, maxConnections: 3 }) });
  const kafka = new Kafka({
    clientId: config.KAFKA_CLIENT_ID ?? `${config.SERVICE_NAME}-${kit.instanceId}`,
    brokers: config.KAFKA_BROKERS,
    logCreator: kafkaLogCreator(logger),
  });
  const producer = createProducer(kafka, { logger });
  const relay = new OutboxRelay({ pool: relayPool, producer, logger, metrics: kit.metrics, chaos: kit.chaos });

  const app = await buildApp({
    kit,
    prisma,
    // Connecting is cheap once connected (it resolves at once); a broker that is down shows here.
    readiness: { kafka: () => producer.connect() },
  });
  // Confirmed orders feed the sold counters (groupId catalog-order-events).
  const orderEvents = consumerIntake('order-events-consumer', {
    kafka,
    topics: [config.ORDER_EVENTS_TOPIC],
    logger,
    create: () =>
      createOrderEventsConsumer({
        kafka,
        prisma,
        kit,
        topic: config.ORDER_EVENTS_TOPIC,
        groupId: config.ORDER_EVENTS_GROUP,
        maxAttempts: config.ORDER_EVENTS_MAX_ATTEMPTS,
      }),
  });
  await startService(kit, {
    http: app.http,
    grpc: app.grpc,
    intake: [orderEvents, { name: 'outbox-relay', start: () => relay.start(), stop: () => relay.stop() }],
    pools: [
      { name: 'kafka-producer', close: () => producer.disconnect() },
      { name: 'relay-pool', close: () => relayPool.end() },
      { name: 'prisma', close: () => prisma.$disconnect() },
    ],
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
