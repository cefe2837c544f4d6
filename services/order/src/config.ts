import {
  baseConfigSchema,
  databaseConfigSchema,
  grpcConfigSchema,
  kafkaConfigSchema,
  publicKeySetting,
} from '@shoplab/chassis';
import { z } from 'zod';
import { CHECKOUT_MODES, DEFAULT_CHECKOUT_MODE } from './domain/checkout-mode';

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
    /** The user service's public key: verifies the users' JWTs (EdDSA; only the user service signs). */
    JWT_PUBLIC_KEY: publicKeySetting,
    /** Seals the card between checkout and the saga's Authorize step (AES-256-GCM); also keys the request fingerprints. */
    CARD_ENCRYPTION_KEY: aes256Key,
    /** Budget of one cart.GetCart call at checkout, retries included. */
    CART_DEADLINE_MS: deadlineMs.default(1_500),
    /** Budget of one catalog.BatchGetProducts call at checkout, retries included. */
    CATALOG_DEADLINE_MS: deadlineMs.default(1_500),
    /** Checkouts that run at once; more wait in line (ADR 16). */
    CHECKOUT_MAX_CONCURRENT: z.coerce.number().int().min(1).max(256).default(4),
    /** Checkouts that wait for a slot at most; one more is refused at once with 503 + Retry-After. */
    CHECKOUT_MAX_QUEUE: z.coerce.number().int().min(0).max(10_000).default(64),
    /** The longest a checkout waits in line (less when the caller's X-Request-Timeout-Ms leaves less). */
    CHECKOUT_MAX_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(1_500),
    /** The part of the caller's deadline a checkout needs once it runs: the wait in line leaves it. */
    CHECKOUT_RESERVE_MS: z.coerce.number().int().min(0).max(60_000).default(500),
    /** Budget of one user.v1 call of the saga (GetUser, ValidateAddress). */
    USER_DEADLINE_MS: deadlineMs.default(1_500),
    /** Budget of one payment.v1 call of the saga (Authorize, Capture, Void, Refund, GetPayment). */
    PAYMENT_DEADLINE_MS: deadlineMs.default(5_000),
    /**
     * A WatchOrder stream reads its order again this often without being told of a change: the
     * progress another order instance's runner (or a payment event) made reaches it this late.
     */
    WATCH_ORDER_RESYNC_MS: z.coerce.number().int().min(100).default(5_000),
    /** The saga runner's polling fallback (it is also woken in-process right after checkout). */
    SAGA_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(500),
    /**
     * The time a step's participant has to come back, from the step's first attempt: the step
     * compensates only when an attempt started at or after it still fails (ADR 14).
     */
    SAGA_STEP_DEADLINE_MS: z.coerce.number().int().min(100).default(15_000),
    /** First retry delay of a step or compensation; doubles per attempt, with jitter. */
    SAGA_RETRY_BASE_MS: z.coerce.number().int().min(1).default(200),
    /** Largest retry delay (compensations retry forever at most this far apart). */
    SAGA_RETRY_MAX_MS: z.coerce.number().int().min(1).default(10_000),
    /** How long a runner holds a saga while one attempt runs; another runner takes it over after that. */
    SAGA_LEASE_MS: z.coerce.number().int().min(100).default(30_000),
    /**
     * Sagas one runner works on at once. A saga mostly waits for its participants (a step holds a
     * database connection only for its two single-statement writes), so this is a queue bound, not
     * a CPU one: at 8, checkouts at 10/s queue before their first step (ADR 31). At 32 the sagas
     * resumed after a restart ran beside the checkouts in one process and one pool of
     * DB_POOL_MAX, and a checkout right after the restart waited past the gateway's 2 s: 8 until
     * the sagas yield to the checkouts (ADR 31, "What is next").
     */
    SAGA_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
    /**
     * The checkout mode a new order gets until `PUT /v1/admin/checkout-mode` switches it
     * (domain/checkout-mode.ts; recorded on each order). Only modes this service runs are accepted.
     */
    CHECKOUT_MODE: z.enum(CHECKOUT_MODES).default(DEFAULT_CHECKOUT_MODE),
    /**
     * A two-phase transaction still undecided this long after it began is decided ABORT when a
     * participant asks about it (presumed abort); before that, or while this instance runs it, the
     * participant is told UNKNOWN and holds on. Longer than both prepares' budgets (CATALOG_ and PAYMENT_DEADLINE_MS).
     */
    TWO_PHASE_DECISION_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
    /** The catalog's stock events: a choreographed checkout's orders react to them (domain/choreography.ts). */
    CATALOG_EVENTS_TOPIC: z.string().min(1).default('catalog.events'),
    /**
     * Attempts of one event by the choreography's consumers before it goes to the DLQ. High: a
     * choreographed order whose stock_reserved is dead-lettered while payment is down is cancelled at
     * CHOREOGRAPHY_DEADLINE_MS, not confirmed (backoff capped at 5 s: about 80 s of payment down).
     */
    CHOREOGRAPHY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(40).default(20),
    /**
     * A choreographed order still PENDING this long after it was placed is cancelled
     * (choreography.consumer.ts, cancelOverdueChoreographies): nothing else ends an order whose
     * event was dead-lettered. Longer than the consumers' retries (about 80 s of payment down).
     */
    CHOREOGRAPHY_DEADLINE_MS: z.coerce.number().int().min(500).default(300_000),
    /** How often the order service looks for choreographed orders past that deadline. */
    CHOREOGRAPHY_DEADLINE_SWEEP_MS: z.coerce.number().int().min(50).default(5_000),
    /** The payment service's events: recorded on the orders' timelines. */
    PAYMENT_EVENTS_TOPIC: z.string().min(1).default('payment.events'),
    /**
     * Consumer group of the payment-events consumer. Every instance of one deployment shares it; a
     * second deployment on the same Kafka (a test stack) needs its own, or the two split the events.
     */
    PAYMENT_EVENTS_GROUP: z.string().min(1).default('order-payment-events'),
    /** Attempts of one payment event before it goes to `<PAYMENT_EVENTS_TOPIC>.dlq`. */
    PAYMENT_EVENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  })
  .refine((c) => c.SAGA_LEASE_MS > 3 * Math.max(c.USER_DEADLINE_MS, c.CATALOG_DEADLINE_MS, c.PAYMENT_DEADLINE_MS), {
    // A runner still waiting for an answer must not lose its saga to another runner; one
    // attempt makes up to three calls (a void that turns into a refund).
    message: 'must be longer than three times the longest of USER_, CATALOG_ and PAYMENT_DEADLINE_MS',
    path: ['SAGA_LEASE_MS'],
  })
  .refine((c) => c.SAGA_RETRY_MAX_MS >= c.SAGA_RETRY_BASE_MS, {
    message: 'must be at least SAGA_RETRY_BASE_MS',
    path: ['SAGA_RETRY_MAX_MS'],
  });

export type OrderConfig = z.infer<typeof configSchema>;
