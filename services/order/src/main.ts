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
import { AesGcmCardVault } from './infrastructure/card-vault';
import { createCartClient } from './infrastructure/cart.client';
import { createCatalogClient } from './infrastructure/catalog.client';
import {
  CHOREOGRAPHY_CATALOG_GROUP,
  CHOREOGRAPHY_PAYMENT_GROUP,
  choreographyDeadlineIntake,
  createChoreographyConsumer,
} from './infrastructure/choreography.consumer';
import { PrismaClient } from './infrastructure/database';
import { createPaymentClient, GrpcPayments } from './infrastructure/payment.client';
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
  // A choreographed checkout's reactions (domain/choreography.ts): to the catalog's stock events
  // (recorded on the timeline too) and to the payment events (already recorded by the consumer above).
  const choreographyDeps = {
    payments: new GrpcPayments(payment),
    vault: new AesGcmCardVault(config.CARD_ENCRYPTION_KEY),
    paymentDeadlineMs: config.PAYMENT_DEADLINE_MS,
  };
  const choreographyCatalog = prismaConsumerIntake(
    'choreography-catalog-consumer',
    (wiring) => createChoreographyConsumer({ ...wiring, deps: { ...choreographyDeps, recordEvents: true } }),
    {
      kafka,
      prisma,
      kit,
      topic: config.CATALOG_EVENTS_TOPIC,
      groupId: CHOREOGRAPHY_CATALOG_GROUP,
      maxAttempts: config.CHOREOGRAPHY_MAX_ATTEMPTS,
    },
  );
  const choreographyPayment = prismaConsumerIntake(
    'choreography-payment-consumer',
    (wiring) => createChoreographyConsumer({ ...wiring, deps: { ...choreographyDeps, recordEvents: false } }),
    {
      kafka,
      prisma,
      kit,
      topic: config.PAYMENT_EVENTS_TOPIC,
      groupId: CHOREOGRAPHY_PAYMENT_GROUP,
      maxAttempts: config.CHOREOGRAPHY_MAX_ATTEMPTS,
    },
  );
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
      choreographyCatalog,
      choreographyPayment,
      choreographyDeadlineIntake({
        prisma,
        logger: kit.logger,
        deadlineMs: config.CHOREOGRAPHY_DEADLINE_MS,
        intervalMs: config.CHOREOGRAPHY_DEADLINE_SWEEP_MS,
      }),
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
