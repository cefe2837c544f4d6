import {
  createPgPool as createServicePgPool,
  createPrismaClient as createServicePrismaClient,
  type DatabaseSettings,
} from '@shoplab/chassis';
import type pg from 'pg';
import { PrismaClient } from '../generated/prisma/client';

export { PrismaClient };

/** The Prisma client of the user database (through the chassis driver adapter). */
export function createPrismaClient(settings: DatabaseSettings): PrismaClient {
  return createServicePrismaClient(PrismaClient, settings);
}

/** A small pg pool with the chassis' relabelling client (the tests' raw SQL). */
export function createPgPool(settings: DatabaseSettings, max = 3): pg.Pool {
  return createServicePgPool(settings, max);
}
