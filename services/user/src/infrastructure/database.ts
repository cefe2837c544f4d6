import { createPrismaAdapter, type DatabaseSettings, poolConfig } from '@shoplab/chassis';
import pg from 'pg';
import type { UserConfig } from '../config';
import { PrismaClient } from '../generated/prisma/client';

export type { PrismaClient } from '../generated/prisma/client';

export function databaseSettings(config: UserConfig): DatabaseSettings {
  return {
    host: config.DB_HOST,
    port: config.DB_PORT,
    user: config.DB_USER,
    password: config.DB_PASSWORD,
    database: config.DB_NAME,
    maxConnections: config.DB_POOL_MAX,
  };
}

/** The Prisma client of the user database (through the chassis driver adapter). */
export function createPrismaClient(settings: DatabaseSettings): PrismaClient {
  return new PrismaClient({ adapter: createPrismaAdapter(settings) });
}

/** A small pg pool for the outbox relay and the readiness check (Prisma keeps its own pool). */
export function createPgPool(settings: DatabaseSettings, max = 3): pg.Pool {
  return new pg.Pool({ ...poolConfig(settings), max });
}
