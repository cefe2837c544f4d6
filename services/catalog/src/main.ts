// config → kit → database (+ seed) → Kafka producer and outbox relay → buildApp → startService.
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
import {
  CHOREOGRAPHY_ORDER_GROUP,
  CHOREOGRAPHY_PAYMENT_GROUP,
  createChoreographyConsumer,
} from './infrastructure/choreography.consumer';
import { PrismaClient } from './infrastructure/database';
import { createOrderEventsConsumer } from './infrastructure/order-events.consumer';
import { seedCatalog } from './infrastructure/seed';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const { logger } = kit;
  const db = createDatabase(config, PrismaClient);
  const { prisma } = db;
  if (config.SEED_CATALOG) {
    const seeded = await seedCatalog(prisma);
    logger.info(seeded, 'catalog seed applied');
  }
  const { kafka, relayIntake, producerPool } = createEventing(kit, { relayPool: db.relayPool });

  const app = await buildApp({
    kit,
    prisma,
    // No Kafka in the readiness check: with the outbox, catalog serves (and its events wait)
    // while Kafka is down; being taken out of discovery for it would fail every checkout.
  });
  // Confirmed orders feed the sold counters (groupId catalog-order-events).
  const orderEvents = prismaConsumerIntake('order-events-consumer', createOrderEventsConsumer, {
    kafka,
    prisma,
    kit,
    topic: config.ORDER_EVENTS_TOPIC,
    groupId: config.ORDER_EVENTS_GROUP,
    maxAttempts: config.ORDER_EVENTS_MAX_ATTEMPTS,
  });
  // A choreographed checkout's stock (application/choreography.ts): reserved on order.created,
  // committed or released on the payment's events, released on order.cancelled.
  const choreography = (topic: string, groupId: string) =>
    prismaConsumerIntake(
      `choreography-${topic}-consumer`,
      (wiring) => createChoreographyConsumer({ ...wiring, stock: app.stock }),
      { kafka, prisma, kit, topic, groupId, maxAttempts: config.ORDER_EVENTS_MAX_ATTEMPTS },
    );
  const choreographyOrders = choreography(config.ORDER_EVENTS_TOPIC, CHOREOGRAPHY_ORDER_GROUP);
  const choreographyPayments = choreography(config.PAYMENT_EVENTS_TOPIC, CHOREOGRAPHY_PAYMENT_GROUP);
  await startService(kit, {
    http: app.http,
    grpc: app.grpc,
    intake: [orderEvents, choreographyOrders, choreographyPayments, relayIntake, app.twoPhaseInquiry],
    pools: [producerPool, ...db.pools],
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
