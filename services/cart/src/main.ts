// The cart service process: config → kit → database and Kafka → buildApp → startService.
import {
  consumerIntake,
  createEventing,
  createPrismaAdapter,
  createServiceKit,
  loadConfig,
  poolConfig,
  startService,
} from '@shoplab/chassis';
import pg from 'pg';
import { buildApp } from './app';
import { configSchema } from './config';
import { PrismaClient } from './generated/prisma/client';
import { createCatalogClient, GrpcProductCatalog } from './infrastructure/catalog.client';
import { createOrderEventsConsumer } from './infrastructure/order-events.consumer';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const db = {
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
    maxConnections: config.DB_POOL_MAX,
  };
  const prisma = new PrismaClient({ adapter: createPrismaAdapter(db) });
  // The relay's own small pool: one connection per cycle plus its LISTEN connection.
  const relayPool = new pg.Pool({ ...poolConfig(db), max: 3 });
  const { kafka, relayIntake, producerPool } = createEventing(kit, { relayPool });

  const catalogClient = createCatalogClient(kit, {
    deadlineMs: config.CATALOG_DEADLINE_MS,
    retries: config.CATALOG_RETRIES,
  });
  const app = await buildApp({ kit, prisma, catalog: new GrpcProductCatalog(catalogClient) });
  // A confirmed order takes its purchase out of the buyer's cart (groupId cart-order-events).
  const orderEvents = consumerIntake('order-events-consumer', {
    kafka,
    topics: [config.ORDER_EVENTS_TOPIC],
    logger: kit.logger,
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
    // Stopped in this order: the consumer finishes its in-flight event (its outbox rows commit
    // with it), then the relay stops.
    intake: [orderEvents, relayIntake],
    pools: [
      { name: 'catalog-client', close: () => catalogClient.close() },
      producerPool,
      { name: 'prisma', close: () => prisma.$disconnect() },
      { name: 'relay-pool', close: () => relayPool.end() },
    ],
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
