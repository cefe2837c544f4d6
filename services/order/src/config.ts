import { baseConfigSchema, databaseConfigSchema, grpcConfigSchema, kafkaConfigSchema } from '@shoplab/chassis';
import { z } from 'zod';

/** A base64 string that decodes to exactly 32 bytes (an AES-256 key); parsed into a Buffer. */
const aes256Key = z.string().transform((value, ctx) => {
  const key = Buffer.from(value, 'base64');
  if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== value.trim().replace(/=+$/, '')) {
    ctx.addIssue({ code: 'custom', message: 'must be 32 bytes, base64 encoded (e.g. `openssl rand -base64 32`)' });
    return z.NEVER;
  }
  return key;
});

const deadlineMs = z.coerce.number().int().min(50).max(60_000);

export const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(grpcConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    SERVICE_NAME: z.string().default('order'),
    HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8085),
    GRPC_PORT: grpcConfigSchema.shape.GRPC_PORT.default(9085),
    DB_NAME: databaseConfigSchema.shape.DB_NAME.default('shoplab_order'),
    /** gRPC addresses of the downstreams (REGISTRY_MODE=static): their default local ports. */
    STATIC_SERVICES: baseConfigSchema.shape.STATIC_SERVICES.unwrap().prefault(
      'cart=127.0.0.1:9083,catalog=127.0.0.1:9082,user=127.0.0.1:9081,payment=127.0.0.1:9084',
    ),
    /** Verifies the users' JWTs (HS256, shared with the user service). */
    JWT_SECRET: z.string().min(16, 'at least 16 characters'),
    /** Seals the card between checkout and the saga's Authorize step (AES-256-GCM); also keys the request fingerprints. */
    CARD_ENCRYPTION_KEY: aes256Key,
    /** Budget of one cart.GetCart call at checkout, retries included. */
    CART_DEADLINE_MS: deadlineMs.default(1_500),
    /** Budget of one catalog.BatchGetProducts call at checkout, retries included. */
    CATALOG_DEADLINE_MS: deadlineMs.default(1_500),
    /** How long a saga may keep retrying transient failures before it compensates (saga_instances.deadline_at). */
    SAGA_DEADLINE_MS: z.coerce.number().int().min(1_000).default(300_000),
  });

export type OrderConfig = z.infer<typeof configSchema>;
