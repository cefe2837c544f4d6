import { baseConfigSchema, databaseConfigSchema, grpcConfigSchema, kafkaConfigSchema } from '@shoplab/chassis';
import { z } from 'zod';

export const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(grpcConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    SERVICE_NAME: z.string().default('cart'),
    HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8083),
    GRPC_PORT: grpcConfigSchema.shape.GRPC_PORT.default(9083),
    DB_NAME: databaseConfigSchema.shape.DB_NAME.default('shoplab_cart'),
    /** Verifies the users' tokens (HS256); the user service signs them with the same secret. */
    JWT_SECRET: z.string().min(16, 'at least 16 characters'),
    /** The catalog's local gRPC address unless STATIC_SERVICES says otherwise. */
    STATIC_SERVICES: baseConfigSchema.shape.STATIC_SERVICES.default({ catalog: ['127.0.0.1:9082'] }),
    /** Time budget of one catalog lookup, retries included. */
    CATALOG_DEADLINE_MS: z.coerce.number().int().positive().default(800),
    /** Retries of a catalog lookup on transient errors (BatchGetProducts is idempotent). */
    CATALOG_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  });

export type CartConfig = z.infer<typeof configSchema>;
