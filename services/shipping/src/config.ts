import { baseConfigSchema, databaseConfigSchema, grpcConfigSchema, kafkaConfigSchema } from '@shoplab/chassis';
import { z } from 'zod';

const share = z.coerce.number().int().min(0).max(100);

export const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(grpcConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    SERVICE_NAME: z.string().default('shipping'),
    HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8087),
    GRPC_PORT: grpcConfigSchema.shape.GRPC_PORT.default(9087),
    DB_NAME: databaseConfigSchema.shape.DB_NAME.default('shoplab_shipping'),
    /** The legacy shipping system's SOAP endpoint (its WSDL at `<url>?wsdl`). */
    LEGACY_SHIPPING_URL: z.url().default('http://127.0.0.1:8089/soap/shipping'),
    /** Timeout of one SOAP call to the legacy system. */
    LEGACY_SHIPPING_TIMEOUT_MS: z.coerce.number().int().positive().default(3_000),
    /** The strangler's start: percent of quotes and of creations the native implementation answers. */
    NATIVE_QUOTE_SHARE: share.default(0),
    NATIVE_CREATE_SHARE: share.default(0),
    /** The native implementation's shipment timeline (the legacy system's defaults). */
    NATIVE_TRANSIT_AFTER_MS: z.coerce.number().int().positive().default(120_000),
    NATIVE_DELIVER_AFTER_MS: z.coerce.number().int().positive().default(600_000),
    /** The order service's events: a confirmed order gets a shipment. */
    ORDER_EVENTS_TOPIC: z.string().min(1).default('order.events'),
    ORDER_EVENTS_GROUP: z.string().min(1).default('shipping-order-events'),
    ORDER_EVENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
    /** Orders carry no address in ShopLab: every confirmed order ships to this country… */
    SHIPPING_DEFAULT_COUNTRY: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .default('US'),
    /** …weighing this much per unit ordered. */
    SHIPPING_GRAMS_PER_UNIT: z.coerce.number().int().min(1).max(30_000).default(400),
  });

export type ShippingConfig = z.infer<typeof configSchema>;
