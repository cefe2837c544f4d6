// The payment service process: config → kit → database and Kafka → buildApp → startService.
import { createDatabase, createEventing, createServiceKit, loadConfig, startService } from '@shoplab/chassis';
import { buildApp } from './app';
import { configSchema } from './config';
import { PrismaClient } from './generated/prisma/client';

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const kit = createServiceKit(config);
  const db = createDatabase(config, PrismaClient);
  const { relayIntake, producerPool } = createEventing(kit, { relayPool: db.relayPool });

  const app = await buildApp({ kit, prisma: db.prisma });
  await startService(kit, {
    http: app.http,
    grpc: app.grpc,
    intake: [relayIntake],
    pools: [producerPool, ...db.pools],
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
