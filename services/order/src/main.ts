// The order service process: config → kit → database, Kafka, downstream clients → buildApp →
// startService (listen, register, and the shutdown order of docs/style.md#shutdown-order).
import {
  ConfigError,
  createDatabase,
  createEventing,
  createServiceKit,
  loadConfig,
  prismaConsumerIntake,
  startService,
} from '@shoplab/chassis';
import { buildApp } from './app';
import { configSchema } from './config';
import { createCartClient } from './infrastructure/cart.client';
import { createCatalogClient } from './infrastructure/catalog.client';
import { PrismaClient } from './infrastructure/database';
import { createPaymentClient } from './infrastructure/payment.client';
import { createPaymentEventsConsumer } from './infrastructure/payment-events.consumer';
import { createUserClient } from './infrastructure/user.client';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const db = createDatabase(config, PrismaClient);
  const { prisma } = db;
  const { kafka, relayIntake, producerPool } = createEventing(kit, { relayPool: db.relayPool });
  const cart = createCartClient(kit, config.CART_DEADLINE_MS);
  const catalog = createCatalogClient(kit, config.CATALOG_DEADLINE_MS);
  const user = createUserClient(kit, config.USER_DEADLINE_MS);
  const payment = createPaymentClient(kit, config.PAYMENT_DEADLINE_MS);

  const { http, grpc, saga, endWatches, twoPhase } = await buildApp({ kit, prisma, cart, catalog, user, payment });
  // The payment service's events go on the orders' timelines (groupId order-payment-events).
  const paymentEvents = prismaConsumerIntake('payment-events-consumer', createPaymentEventsConsumer, {
    kafka,
    prisma,
    kit,
    topic: config.PAYMENT_EVENTS_TOPIC,
    groupId: config.PAYMENT_EVENTS_GROUP,
    maxAttempts: config.PAYMENT_EVENTS_MAX_ATTEMPTS,
  });
  await startService(kit, {
    http,
    grpc,
    // Stopped in this order: the runner finishes and records its in-flight attempts (their
    // events land in the outbox), the consumer finishes its in-flight event, then the relay stops.
    // The open WatchOrder streams end first: the gateway falls back to reading the order.
    intake: [
      { name: 'order-watches', stop: () => endWatches() },
      // In-doubt two-phase transactions a crash left are finished before any saga resumes.
      { name: 'two-phase-recovery', start: async () => void (await twoPhase.recover()), stop: () => {} },
      { name: 'saga-runner', start: () => saga.start(), stop: () => saga.stop() },
      paymentEvents,
      relayIntake,
    ],
    pools: [
      {
        name: 'grpc-clients',
        close: () => {
          cart.close();
          catalog.close();
          user.close();
          payment.close();
        },
      },
      producerPool,
      ...db.pools,
    ],
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
