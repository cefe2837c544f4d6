export {
  CatalogTypesAsTextClient,
  createPrismaAdapter,
  type DatabaseSettings,
  OfflinePrismaPg,
  poolConfig,
} from './prisma';
