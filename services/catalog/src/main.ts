// config → kit → database (+ seed) → Kafka producer and outbox relay → buildApp → startService.
import {
  consumerIntake,
  createEventing,
  createServiceKit,
  loadConfig,
  poolConfig,
  startService,
} from '@shoplab/chassis';
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
  const { kafka, relayIntake, producerPool } = createEventing(kit, { relayPool });

  const app = await buildApp({
    kit,
    prisma,
    // No Kafka in the readiness check: with the outbox, catalog serves (and its events wait)
    // while Kafka is down; being taken out of discovery for it would fail every checkout.
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
    intake: [orderEvents, relayIntake],
    pools: [
      producerPool,
      { name: 'relay-pool', close: () => relayPool.end() },
      { name: 'prisma', close: () => prisma.$disconnect() },
    ],
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
