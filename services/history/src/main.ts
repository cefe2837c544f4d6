// The history service process: config → kit → database and Kafka → buildApp → startService.
import { createDatabase, createKafkaClient, createServiceKit, loadConfig, startService } from '@shoplab/chassis';
import { buildApp } from './app';
import { configSchema } from './config';
import { PrismaClient } from './generated/prisma/client';
import { retentionIntake } from './infrastructure/retention';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const db = createDatabase(config, PrismaClient);
  // The read side publishes nothing (no outbox, no relay, no producer of its own): a Kafka
  // client for its consumers and the admin reads of the lag and the rebuild.
  const kafka = createKafkaClient(kit);
  const app = await buildApp({ kit, prisma: db.prisma, kafka });
  await startService(kit, {
    http: app.http,
    intake: [
      retentionIntake(
        kafka,
        [config.ORDER_EVENTS_TOPIC, config.PAYMENT_EVENTS_TOPIC],
        config.SOURCE_TOPICS_RETENTION_MS,
        kit.logger,
      ),
      app.projector,
    ],
    pools: db.pools,
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
