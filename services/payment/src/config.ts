import {
  baseConfigSchema,
  databaseConfigSchema,
  grpcConfigSchema,
  kafkaConfigSchema,
  twoPhaseInquiryConfigSchema,
} from '@shoplab/chassis';
import { z } from 'zod';
import { CARD_NETWORK_MODES } from './application/card-network';

export const configSchema = baseConfigSchema
  .extend(databaseConfigSchema.shape)
  .extend(grpcConfigSchema.shape)
  .extend(kafkaConfigSchema.shape)
  // A participant of the two-phase checkout asks order about transactions it held prepared too long.
  .extend(twoPhaseInquiryConfigSchema.shape)
  .extend({
    /** The order service's local gRPC address (the two-phase coordinator) unless STATIC_SERVICES says otherwise. */
    STATIC_SERVICES: baseConfigSchema.shape.STATIC_SERVICES.default({ order: ['127.0.0.1:9085'] }),
    SERVICE_NAME: z.string().default('payment'),
    HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8084),
    GRPC_PORT: grpcConfigSchema.shape.GRPC_PORT.default(9084),
    DB_NAME: databaseConfigSchema.shape.DB_NAME.default('shoplab_payment'),
    /** Simulated card-processor latency applied to Authorize and Capture (the fault exercises raise it). */
    PAYMENT_LATENCY_MS: z.coerce.number().int().min(0).max(120_000).default(50),
    /** A snapshot of a payment every this many events of its stream (0: none); loading reads it and the events after it. */
    PAYMENT_SNAPSHOT_EVERY: z.coerce.number().int().min(0).max(1_000).default(3),
    /** Times a command re-reads its payment after a version conflict before it answers SHOP_CONFLICT (ABORTED). */
    /** The catalog's stock events: a choreographed checkout's payment is captured on stock_committed (application/choreography.ts). */
    CATALOG_EVENTS_TOPIC: z.string().min(1).default('catalog.events'),
    /** Attempts of one catalog event before it goes to `<CATALOG_EVENTS_TOPIC>.dlq`. */
    CATALOG_EVENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(40).default(20),
    PAYMENT_APPEND_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
    /** Who decides an authorization: the card network through the ambassador, straight, or payment's own table (ADR 36). */
    CARD_NETWORK_MODE: z.enum(CARD_NETWORK_MODES).default('in-process'),
    /** The ambassador beside payment (HAProxy on 127.0.0.1): timeouts, retries and the circuit for the card network. */
    CARD_NETWORK_AMBASSADOR_URL: z.url().default('http://127.0.0.1:18090'),
    /** One call through the ambassador, its own retries inside. */
    CARD_NETWORK_AMBASSADOR_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(4_000),
    /** The card network itself (direct mode). */
    CARD_NETWORK_URL: z.url().default('http://127.0.0.1:8090'),
    /** Direct mode: one attempt's bound, and the retries after a failed attempt (same idempotency key). */
    CARD_NETWORK_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(700),
    CARD_NETWORK_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  });

export type PaymentConfig = z.infer<typeof configSchema>;
