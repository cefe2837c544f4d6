// The cart service process: config → kit → database and Kafka → buildApp → startService.
import {
  createDatabase,
  createEventing,
  createServiceKit,
  loadConfig,
  prismaConsumerIntake,
  startService,
} from '@shoplab/chassis';
import { buildApp } from './app';
import { configSchema } from './config';
import { PrismaClient } from './generated/prisma/client';
import { createCatalogClient, GrpcProductCatalog } from './infrastructure/catalog.client';
import { createOrderEventsConsumer } from './infrastructure/order-events.consumer';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const db = createDatabase(config, PrismaClient);
  const { prisma } = db;
  const { kafka, relayIntake, producerPool } = createEventing(kit, { relayPool: db.relayPool });

  const catalogClient = createCatalogClient(kit, {
    deadlineMs: config.CATALOG_DEADLINE_MS,
    retries: config.CATALOG_RETRIES,
  });
  const app = await buildApp({ kit, prisma, catalog: new GrpcProductCatalog(catalogClient) });
  // A confirmed order takes its purchase out of the buyer's cart (groupId cart-order-events).
  const orderEvents = prismaConsumerIntake('order-events-consumer', createOrderEventsConsumer, {
    kafka,
    prisma,
    kit,
    topic: config.ORDER_EVENTS_TOPIC,
    groupId: config.ORDER_EVENTS_GROUP,
    maxAttempts: config.ORDER_EVENTS_MAX_ATTEMPTS,
  });
  await startService(kit, {
    http: app.http,
    grpc: app.grpc,
    // Stopped in this order: the consumer finishes its in-flight event (its outbox rows commit
    // with it), then the relay stops.
    intake: [orderEvents, relayIntake],
    pools: [{ name: 'catalog-client', close: () => catalogClient.close() }, producerPool, ...db.pools],
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
