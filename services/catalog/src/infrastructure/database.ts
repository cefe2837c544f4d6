// The catalog's Prisma client (through the chassis' driver adapter) and the mapping of
// database failures to ShopErrors a caller can act on.
import { createPrismaAdapter, type DatabaseSettings, ShopError } from '@shoplab/chassis';
import { Prisma, PrismaClient } from '../generated/prisma/client';

export type CatalogPrisma = PrismaClient;
export type CatalogTransaction = Prisma.TransactionClient;

export function createCatalogPrisma(settings: DatabaseSettings): CatalogPrisma {
  return new PrismaClient({ adapter: createPrismaAdapter(settings) });
}

/** Prisma codes that mean "try again": the database is unreachable or busy. */
const UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2037']);
/** A write conflict or deadlock: the transaction was rolled back and may be retried as it is. */
const CONFLICT = new Set(['P2034']);

/** A ShopError for a database failure callers may retry; anything else is returned unchanged. */
export function mapDatabaseError(err: unknown): unknown {
  if (err instanceof ShopError) return err;
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE.has(err.code)) {
      return new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'The catalog database is unavailable', undefined, {
        cause: err,
      });
    }
    if (CONFLICT.has(err.code)) {
      return new ShopError('SHOP_CONFLICT', 'A concurrent change conflicted; retry', undefined, { cause: err });
    }
  }
  if (err instanceof Prisma.PrismaClientInitializationError) {
    return new ShopError('SHOP_DEPENDENCY_UNAVAILABLE', 'The catalog database is unavailable', undefined, {
      cause: err,
    });
  }
  return err;
}
