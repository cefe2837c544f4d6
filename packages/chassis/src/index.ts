export * from './chaos';
export * from './config';
export * from './errors';
export * from './lifecycle';
export * from './logging';
export * from './metrics';
export {
  CatalogTypesAsTextClient,
  createPrismaAdapter,
  type DatabaseSettings,
  OfflinePrismaPg,
  poolConfig,
} from './prisma';
