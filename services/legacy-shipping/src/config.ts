import { baseConfigSchema } from '@shoplab/chassis';
import { z } from 'zod';

export const configSchema = baseConfigSchema.extend({
  SERVICE_NAME: z.string().default('legacy-shipping'),
  HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8089),
  /** Every SOAP operation waits this long first: the legacy system is slow-ish. */
  LEGACY_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(120),
  /** A booked consignment shows IN TRANSIT (20) after this long… */
  LEGACY_TRANSIT_AFTER_MS: z.coerce.number().int().positive().default(120_000),
  /** …and DELIVERED (30) after this long. */
  LEGACY_DELIVER_AFTER_MS: z.coerce.number().int().positive().default(600_000),
  /** Consignments the in-memory book keeps; the oldest are forgotten first. */
  LEGACY_BOOK_CAPACITY: z.coerce.number().int().positive().default(50_000),
});

export type LegacyShippingConfig = z.infer<typeof configSchema>;
