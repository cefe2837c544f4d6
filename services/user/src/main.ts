// The user service process: config → kit → database and Kafka → buildApp → startService.
import {
  ConfigError,
  createDatabase,
  createEventing,
  createServiceKit,
  prismaConsumerIntake,
  startService,
} from '@shoplab/chassis';
import { buildApp } from './app';
import { loadUserConfig } from './config';
import { PrismaClient } from './infrastructure/database';
import { createOrderEventsConsumer } from './infrastructure/order-events.consumer';

async function main(): Promise<void> {
  const config = loadUserConfig();
  const kit = createServiceKit(config);
  const db = createDatabase(config, PrismaClient);
  const { prisma } = db;
  const { kafka, relayIntake, producerPool } = createEventing(kit, {
    relayPool: db.relayPool,
    pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
  });

  const { http, grpc } = await buildApp({ kit, prisma });
  // Confirmed and cancelled orders go to the notification log (groupId user-order-events).
  const orderEvents = prismaConsumerIntake('order-events-consumer', createOrderEventsConsumer, {
    kafka,
    prisma,
    kit,
    topic: config.ORDER_EVENTS_TOPIC,
    groupId: config.ORDER_EVENTS_GROUP,
    maxAttempts: config.ORDER_EVENTS_MAX_ATTEMPTS,
  });
  await startService(kit, {
    http,
    grpc,
    intake: [orderEvents, relayIntake],
    pools: [producerPool, ...db.pools],
  });
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('user service failed to start', err);
  process.exit(1);
});
