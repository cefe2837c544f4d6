// Builds the user service against a scratch database on the real PostgreSQL, the way main.ts
// does minus listening on fixed ports, Kafka and signal handling.
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServiceKit, generateKeyPairSetting, StaticRegistry } from '@shoplab/chassis';
import { createScratchDatabase, type ScratchDatabase } from '@shoplab/chassis/testing';
import { buildApp, type UserApp } from '../../src/app';
import { loadUserConfig, type UserConfig } from '../../src/config';
import { createPrismaClient, type PrismaClient } from '../../src/infrastructure/database';

export const MIGRATIONS_DIR = resolve(__dirname, '../../../prisma/migrations');
/** The user-token key pair of this run (the service signs with the private half). */
export const USER_KEYS = generateKeyPairSetting();
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestService extends UserApp {
  config: UserConfig;
  db: ScratchDatabase;
  prisma: PrismaClient;
  /** Every slowdown wait the login asked for, in order (the wait really happens too). */
  waits: number[];
  /** Moves the service's clock forward. */
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

/** The user service on a fresh scratch database; `env` overrides settings (e.g. LOGIN_*). */
export async function startTestService(env: Record<string, string> = {}): Promise<TestService> {
  const db = await createScratchDatabase({ prefix: 'user_test', migrationsDir: MIGRATIONS_DIR });
  const config = loadUserConfig({
    ADMIN_TOKEN,
    JWT_PRIVATE_KEY: USER_KEYS.privateKey,
    DB_NAME: db.settings.database,
    HTTP_PORT: '0',
    GRPC_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    OTEL_SDK_DISABLED: 'true',
    // Scaled down from 2^17 so the tests' many registrations stay quick (the cost is a setting).
    PASSWORD_SCRYPT_N: '16384',
    PASSWORD_HASH_CONCURRENCY: '4',
    ...env,
  });
  const kit = createServiceKit(config, { registry: new StaticRegistry() });
  const prisma = createPrismaClient(db.settings);
  const waits: number[] = [];
  let offsetMs = 0;
  const app = await buildApp({
    kit,
    prisma,
    now: () => new Date(Date.now() + offsetMs),
    wait: async (ms) => {
      waits.push(ms);
      await sleep(ms);
    },
  });
  await app.http.ready();
  return {
    ...app,
    config,
    db,
    prisma,
    waits,
    advanceClock: (ms) => {
      offsetMs += ms;
    },
    close: async () => {
      await app.http.close();
      await app.grpc.shutdown(1_000);
      await prisma.$disconnect();
      await db.drop();
    },
  };
}

let counter = 0;
/** A fresh email per test, so tests never share a user or a login counter. */
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}.${process.pid}.${counter}.${Date.now()}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';
