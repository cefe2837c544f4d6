// The payment service process: config → kit → database and Kafka → buildApp → startService.
import {
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
  const { relayIntake, producerPool } = createEventing(kit, { relayPool });

  const app = await buildApp({ kit, prisma });
  await startService(kit, {
    http: app.http,
    grpc: app.grpc,
    intake: [relayIntake],
    pools: [
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
