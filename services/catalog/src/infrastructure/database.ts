// The catalog's Prisma client (the chassis' createPrismaClient). Its database failures are mapped
// to ShopErrors by the chassis' HTTP and gRPC error paths, as every service's are.
import { createPrismaClient, type DatabaseSettings } from '@shoplab/chassis';
import { type Prisma, PrismaClient } from '../generated/prisma/client';

export { PrismaClient };
export type CatalogPrisma = PrismaClient;
export type CatalogTransaction = Prisma.TransactionClient;

export function createCatalogPrisma(settings: DatabaseSettings): CatalogPrisma {
  return createPrismaClient(PrismaClient, settings);
}
