import { baseConfigSchema, databaseConfigSchema, kafkaConfigSchema } from '@shoplab/chassis';
import { z } from 'zod';

export const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  .extend({
    SERVICE_NAME: z.string().default('history'),
    HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8086),
    DB_NAME: databaseConfigSchema.shape.DB_NAME.default('shoplab_history'),
    /** The order service's events: an order's items, total, creation and end (confirmed or cancelled). */
    ORDER_EVENTS_TOPIC: z.string().min(1).default('order.events'),
    /**
     * Consumer group of the order-events consumer (the first generation's; a rebuild adds
     * `-g<n>`). A second deployment on the same Kafka (a test stack) needs its own.
     */
    ORDER_EVENTS_GROUP: z.string().min(1).default('history-order-events'),
    /** The payment service's events: the order's payment state. */
    PAYMENT_EVENTS_TOPIC: z.string().min(1).default('payment.events'),
    /** Consumer group of the payment-events consumer (as ORDER_EVENTS_GROUP). */
    PAYMENT_EVENTS_GROUP: z.string().min(1).default('history-payment-events'),
    /** Attempts of one event before it goes to `<topic>.dlq`. */
    EVENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
    /**
     * retention.ms the service sets on its source topics at start (ADR 22): -1 keeps every event,
     * which a rebuild replays. Empty: leave the topics' retention as it is.
     */
    SOURCE_TOPICS_RETENTION_MS: z
      .string()
      .default('-1')
      .refine((v) => v === '' || /^-1$|^\d+$/.test(v), 'a number of milliseconds, -1 or empty'),
  });

export type HistoryConfig = z.infer<typeof configSchema>;
