import {
  baseConfigSchema,
  databaseConfigSchema,
  grpcConfigSchema,
  kafkaConfigSchema,
  twoPhaseInquiryConfigSchema,
} from '@shoplab/chassis';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(grpcConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  // A participant of the two-phase checkout asks order about transactions it held prepared too long.
  .extend(twoPhaseInquiryConfigSchema.shape)
  .extend({
    /** The order service's local gRPC address (the two-phase coordinator) unless STATIC_SERVICES says otherwise. */
    STATIC_SERVICES: baseConfigSchema.shape.STATIC_SERVICES.default({ order: ['127.0.0.1:9085'] }),
    SERVICE_NAME: z.string().default('catalog'),
    HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8082),
    GRPC_PORT: grpcConfigSchema.shape.GRPC_PORT.default(9082),
    DB_NAME: databaseConfigSchema.shape.DB_NAME.default('shoplab_catalog'),
    /** Insert the demo products (src/infrastructure/seed-data.ts) that are missing, at start. */
    SEED_CATALOG: bool.default(true),
    /** How long a stock command may wait for a database connection before it fails as UNAVAILABLE. */
    STOCK_TX_MAX_WAIT_MS: z.coerce.number().int().positive().default(10_000),
    /** Upper bound of each statement of a stock transaction, lock waits included (statement_timeout). */
    STOCK_TX_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
    /** The order service's events: confirmed orders feed the per-product sold counters. */
    ORDER_EVENTS_TOPIC: z.string().min(1).default('order.events'),
    /** The payment service's events: a choreographed checkout commits or releases its stock on them. */
    PAYMENT_EVENTS_TOPIC: z.string().min(1).default('payment.events'),
    /**
     * Consumer group of the order-events consumer. Every instance of one deployment shares it; a
     * second deployment on the same Kafka (a test stack) needs its own, or the two split the events.
     */
    ORDER_EVENTS_GROUP: z.string().min(1).default('catalog-order-events'),
    /** Attempts of one order event before it goes to `<ORDER_EVENTS_TOPIC>.dlq`. */
    ORDER_EVENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  });

export type CatalogConfig = z.infer<typeof configSchema>;
