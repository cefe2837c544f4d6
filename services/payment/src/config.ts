import { baseConfigSchema, databaseConfigSchema, grpcConfigSchema, kafkaConfigSchema } from '@shoplab/chassis';
import { z } from 'zod';

export const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(grpcConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    SERVICE_NAME: z.string().default('payment'),
    HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8084),
    GRPC_PORT: grpcConfigSchema.shape.GRPC_PORT.default(9084),
    DB_NAME: databaseConfigSchema.shape.DB_NAME.default('shoplab_payment'),
    /** Simulated card-processor latency applied to Authorize and Capture (the fault exercises raise it). */
    PAYMENT_LATENCY_MS: z.coerce.number().int().min(0).max(120_000).default(50),
    /** A snapshot of a payment every this many events of its stream (0: none); loading reads it and the events after it. */
    PAYMENT_SNAPSHOT_EVERY: z.coerce.number().int().min(0).max(1_000).default(3),
    /** Times a command re-reads its payment after a version conflict before it answers SHOP_CONFLICT (ABORTED). */
    PAYMENT_APPEND_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  });

export type PaymentConfig = z.infer<typeof configSchema>;
