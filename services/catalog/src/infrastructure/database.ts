// The catalog's Prisma client and the mapping of its database failures to ShopErrors a caller
// can act on (both the chassis' building blocks: createPrismaClient, mapDatabaseError).
import {
  createPrismaClient,
  type DatabaseSettings,
  mapDatabaseError as mapServiceDatabaseError,
} from '@shoplab/chassis';
import { type Prisma, PrismaClient } from '../generated/prisma/client';

export { PrismaClient };
export type CatalogPrisma = PrismaClient;
export type CatalogTransaction = Prisma.TransactionClient;

export function createCatalogPrisma(settings: DatabaseSettings): CatalogPrisma {
  return createPrismaClient(PrismaClient, settings);
}

/** A ShopError for a database failure callers may act on; anything else is returned unchanged. */
export function mapDatabaseError(err: unknown): unknown {
  return mapServiceDatabaseError(err, 'catalog');
}
