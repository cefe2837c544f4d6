import {
  baseConfigSchema,
  databaseConfigSchema,
  grpcConfigSchema,
  kafkaConfigSchema,
  publicKeySetting,
} from '@shoplab/chassis';
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
    /** The user service's public key: verifies the users' tokens (EdDSA; only the user service signs). */
    JWT_PUBLIC_KEY: publicKeySetting,
    /** The catalog's local gRPC address unless STATIC_SERVICES says otherwise. */
    STATIC_SERVICES: baseConfigSchema.shape.STATIC_SERVICES.default({ catalog: ['127.0.0.1:9082'] }),
    /** Time budget of one catalog lookup, retries included. */
    CATALOG_DEADLINE_MS: z.coerce.number().int().positive().default(800),
    /** Retries of a catalog lookup on transient errors (BatchGetProducts is idempotent). */
    CATALOG_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    /** The order service's events: a confirmed order takes its purchase out of the buyer's cart. */
    ORDER_EVENTS_TOPIC: z.string().min(1).default('order.events'),
    /**
     * Consumer group of the order-events consumer. Every instance of one deployment shares it; a
     * second deployment on the same Kafka (a test stack) needs its own, or the two split the events.
     */
    ORDER_EVENTS_GROUP: z.string().min(1).default('cart-order-events'),
    /** Attempts of one order event before it goes to `<ORDER_EVENTS_TOPIC>.dlq`. */
    ORDER_EVENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  });

export type CartConfig = z.infer<typeof configSchema>;
