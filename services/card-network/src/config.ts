import { baseConfigSchema } from '@shoplab/chassis';
import { z } from 'zod';

export const configSchema = baseConfigSchema.extend({
  SERVICE_NAME: z.string().default('card-network'),
  HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8090),
  /** Every authorization waits this long first (the network's own round trip); faults add more at runtime. */
  CARD_NETWORK_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(10),
  /** A share of authorizations refused with a 503 before anything is decided (the fault switch changes it at runtime). */
  CARD_NETWORK_ERROR_RATE: z.coerce.number().min(0).max(1).default(0),
  /** A share of authorizations decided but answered this late (CARD_NETWORK_SLOW_MS): the answer a caller gave up on. */
  CARD_NETWORK_SLOW_RATE: z.coerce.number().min(0).max(1).default(0),
  CARD_NETWORK_SLOW_MS: z.coerce.number().int().min(0).max(120_000).default(2_000),
  /** Idempotency keys remembered (with their answers); the oldest are forgotten first. */
  CARD_NETWORK_KEY_CAPACITY: z.coerce.number().int().positive().default(100_000),
});

export type CardNetworkConfig = z.infer<typeof configSchema>;
