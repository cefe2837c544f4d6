import { createPrismaClient as createServicePrismaClient, type DatabaseSettings } from '@shoplab/chassis';
import { PrismaClient } from '../generated/prisma/client';

export { PrismaClient };

/** The Prisma client of the order database, through the chassis' driver adapter. */
export function createPrismaClient(settings: DatabaseSettings): PrismaClient {
  return createServicePrismaClient(PrismaClient, settings);
}
