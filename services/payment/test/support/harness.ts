// A payment service on a scratch database, with a real gRPC client pointed at it.
import { join } from 'node:path';
import {
  BreakerRegistry,
  createGrpcClient,
  createLogger,
  createMetrics,
  createPrismaClient,
  createServiceKit,
  type GrpcClient,
  loadConfig,
  StaticRegistry,
} from '@shoplab/chassis';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import { paymentV1 } from '@shoplab/contracts';
import pg from 'pg';
import { buildApp, type PaymentApp } from '../../src/app';
import { configSchema } from '../../src/config';
import { PrismaClient } from '../../src/generated/prisma/client';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const migrationsDir = join(__dirname, '../../../prisma/migrations');

export type PaymentClient = GrpcClient<typeof paymentV1.PaymentServiceService>;

export interface RunningPayment {
  app: PaymentApp;
  client: PaymentClient;
  close(): Promise<void>;
}

export async function scratchDatabase(): Promise<{ db: ScratchDatabase; prisma: PrismaClient; pool: pg.Pool }> {
  const db = await createScratchDatabase({ prefix: 'payment_test', migrationsDir });
  // createPrismaClient, as main.ts's createDatabase: the store's commands use its pool (pgPoolOf).
  const prisma = createPrismaClient(PrismaClient, db.settings);
  const pool = new pg.Pool({ ...db.settings, max: 4 });
  return { db, prisma, pool };
}

/** Builds and starts the gRPC side of the service (HTTP is used through inject()). */
export async function startPayment(
  prisma: PrismaClient,
  options: { latencyMs?: number; eventsTopic?: string; deadlineMs?: number; snapshotEvery?: number } = {},
): Promise<RunningPayment> {
  const config = loadConfig(configSchema, {
    ADMIN_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    PAYMENT_LATENCY_MS: String(options.latencyMs ?? 0),
    ...(options.snapshotEvery !== undefined ? { PAYMENT_SNAPSHOT_EVERY: String(options.snapshotEvery) } : {}),
    OTEL_SDK_DISABLED: 'true',
  });
  const kit = createServiceKit(config, { registry: new StaticRegistry() });
  const app = await buildApp({ kit, prisma, ...(options.eventsTopic ? { eventsTopic: options.eventsTopic } : {}) });
  const port = await app.grpc.start();
  const breakers = new BreakerRegistry();
  const client = createGrpcClient(
    paymentV1.PaymentServiceClient,
    {
      caller: 'order',
      target: 'payment',
      registry: new StaticRegistry({ payment: [`127.0.0.1:${port}`] }),
      deadlineMs: options.deadlineMs ?? 5_000,
    },
    { metrics: createMetrics('order'), breakers, logger: createLogger({ service: 'order', level: 'silent' }) },
  );
  return {
    app,
    client,
    close: async () => {
      client.close();
      breakers.close();
      await app.grpc.shutdown(1_000);
      await app.http.close();
    },
  };
}
