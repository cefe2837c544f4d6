export * from './access-log';
export * from './admin-audit';
export * from './allowed-callers';
export * from './auth';
export * from './chaos';
export * from './clock';
export * from './config';
export * from './database';
export * from './discovery';
export * from './errors';
export * from './eventing';
export * from './grpc-client';
export * from './grpc-server';
export * from './http';
export * from './input';
export * from './keys';
export * from './lifecycle';
export * from './logging';
export * from './messaging';
export * from './metrics';
export * from './openapi';
export * from './outbox';
export * from './prepared-transactions';
export {
  CatalogTypesAsTextClient,
  createPrismaAdapter,
  type DatabaseSettings,
  OfflinePrismaPg,
  poolConfig,
} from './prisma';
export * from './prisma-consumer';
export * from './resilience';
export * from './service';
export * from './service-auth';
export * from './two-phase-inquiry';
