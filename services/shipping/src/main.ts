// The shipping service process: config → kit → database → buildApp → startService, with the
// order-events consumer as intake. It publishes nothing (no outbox, no relay).
import {
  createDatabase,
  createKafkaClient,
  createServiceKit,
  loadConfig,
  prismaConsumerIntake,
  startService,
} from '@shoplab/chassis';
import { buildApp } from './app';
import { configSchema } from './config';
import { PrismaClient } from './generated/prisma/client';
import { createOrderEventsConsumer, type OrderEventsConsumerOptions } from './infrastructure/order-events.consumer';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const db = createDatabase(config, PrismaClient);
  const kafka = createKafkaClient(kit);
  const app = await buildApp({ kit, prisma: db.prisma });
  const parcel = { country: config.SHIPPING_DEFAULT_COUNTRY, gramsPerUnit: config.SHIPPING_GRAMS_PER_UNIT };
  const orderEvents = prismaConsumerIntake<PrismaClient>(
    'order-events-consumer',
    (wiring) => createOrderEventsConsumer({ ...wiring, shipping: app.shipping, parcel } as OrderEventsConsumerOptions),
    {
      kafka,
      prisma: db.prisma,
      kit,
      topic: config.ORDER_EVENTS_TOPIC,
      groupId: config.ORDER_EVENTS_GROUP,
      maxAttempts: config.ORDER_EVENTS_MAX_ATTEMPTS,
    },
  );
  await startService(kit, { http: app.http, grpc: app.grpc, intake: [orderEvents], pools: db.pools });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
