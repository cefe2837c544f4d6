// The payment service process: config → kit → database and Kafka → buildApp → startService.
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
import { CHOREOGRAPHY_CATALOG_GROUP, createChoreographyConsumer } from './infrastructure/choreography.consumer';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const db = createDatabase(config, PrismaClient);
  const { kafka, relayIntake, producerPool } = createEventing(kit, { relayPool: db.relayPool });

  const app = await buildApp({ kit, prisma: db.prisma });
  // A choreographed checkout's capture, on the catalog's stock_committed (application/choreography.ts).
  const choreography = prismaConsumerIntake(
    'choreography-catalog-consumer',
    (wiring) => createChoreographyConsumer({ ...wiring, payments: app.payments }),
    {
      kafka,
      prisma: db.prisma,
      kit,
      topic: config.CATALOG_EVENTS_TOPIC,
      groupId: CHOREOGRAPHY_CATALOG_GROUP,
      maxAttempts: config.CATALOG_EVENTS_MAX_ATTEMPTS,
    },
  );
  await startService(kit, {
    http: app.http,
    grpc: app.grpc,
    // The two-phase checkout: prepared authorizations held too long are asked about (order decides).
    intake: [choreography, relayIntake, app.twoPhaseInquiry],
    pools: [producerPool, ...db.pools],
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
