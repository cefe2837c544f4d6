import { baseConfigSchema, publicKeySetting } from '@shoplab/chassis';
import { z } from 'zod';

/** The services the gateway calls, in the order the admin pages list them. */
export const DOWNSTREAMS = ['user', 'catalog', 'cart', 'payment', 'order'] as const;
export type Downstream = (typeof DOWNSTREAMS)[number];

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** `name=host:port,…`, parsed like STATIC_SERVICES (a name may repeat for several instances). */
const addressList = (fallback: string) => baseConfigSchema.shape.STATIC_SERVICES.unwrap().prefault(fallback);

export const configSchema = baseConfigSchema.extend({
  SERVICE_NAME: z.string().default('gateway'),
  HTTP_PORT: baseConfigSchema.shape.HTTP_PORT.default(8080),
  /** The user service's public key: verifies the users' tokens (only the user service can sign them). */
  JWT_PUBLIC_KEY: publicKeySetting,
  /** gRPC addresses of the downstreams in static registry mode. */
  STATIC_SERVICES: addressList(
    'user=127.0.0.1:9081,catalog=127.0.0.1:9082,cart=127.0.0.1:9083,payment=127.0.0.1:9084,order=127.0.0.1:9085,shipping=127.0.0.1:9087',
  ),
  /**
   * HTTP addresses of the downstreams in static mode: REST proxying (user, cart, order, history)
   * and `/readyz` at /admin/services (chaos forwarding too when ADMIN_SERVICES is unset). Under
   * Consul the registered instances' address and port are used instead.
   */
  HTTP_SERVICES: addressList(
    'user=127.0.0.1:8081,catalog=127.0.0.1:8082,cart=127.0.0.1:8083,payment=127.0.0.1:8084,order=127.0.0.1:8085,history=127.0.0.1:8086',
  ),
  /**
   * The downstreams' admin listeners in static mode (`name=host:port`): chaos forwarding and the
   * audit (the native stack: 127.0.0.1:7081 …, infra/local/services.sh; kind: user:7081 …).
   * Unset: HTTP_SERVICES (a service without ADMIN_PORT serves its admin routes there). Under
   * Consul each instance's registered `admin_port`.
   */
  ADMIN_SERVICES: baseConfigSchema.shape.STATIC_SERVICES.unwrap().optional(),
  // Time budget of one call to each downstream (gRPC retries included; REST the same budget).
  USER_DEADLINE_MS: ms(2_000),
  CATALOG_DEADLINE_MS: ms(800),
  CART_DEADLINE_MS: ms(1_000),
  PAYMENT_DEADLINE_MS: ms(800),
  ORDER_DEADLINE_MS: ms(2_000),
  /** The order history (the read side, REST only): a search, its lag, one document. */
  HISTORY_DEADLINE_MS: ms(2_000),
  /** Shipping (the order page's shipment, tracked where it is held: the legacy SOAP system is slow-ish). */
  SHIPPING_DEADLINE_MS: ms(1_500),
  /**
   * Checkouts in flight at the order service at once; one more is refused at once with 503 and
   * Retry-After (docs/adr/0016-checkout-load-shedding.md).
   */
  CHECKOUT_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(16),
  /** Retries of idempotent (read) gRPC calls, within the deadline. */
  GRPC_READ_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  /** Requests per minute per client (the verified user id, else the IP). */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  /** Requests per minute per address, signed in or not, beside the per-user budget. */
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE: z.coerce.number().int().positive().default(1_200),
  /** Requests per minute per address to /auth/* (registration and login). */
  RATE_LIMIT_AUTH_PER_MINUTE: z.coerce.number().int().positive().default(20),
  /**
   * Addresses (comma-separated) the per-address budgets do not apply to; each user's budget still
   * does. None by default; the native stack names 127.0.0.1, where the tests', exercises' and
   * benchmarks' shoppers all come from (docs/architecture.md#trust-boundaries).
   */
  RATE_LIMIT_EXEMPT_ADDRESSES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a.length > 0),
    ),
  /**
   * Which proxies' X-Forwarded-For names the client (fastify's trustProxy): `false` (the peer is
   * the client: the native stack), or comma-separated addresses/CIDRs of the proxies in front
   * (compose and kind: the web front end's or the ingress' network). Never `true` on a port
   * clients reach directly: anyone could then name any address and dodge the per-address budgets.
   */
  TRUST_PROXY: z.string().default('false'),
  /** How long product details stay usable as a fallback when the catalog does not answer. */
  PRODUCT_CACHE_TTL_MS: ms(60_000),
  PRODUCT_CACHE_MAX_ENTRIES: z.coerce.number().int().positive().default(1_000),
  /** Order events stream: how often the order is polled, and the keep-alive comment interval. */
  ORDER_EVENTS_POLL_MS: ms(500),
  /**
   * How the order events learn of changes (docs/patterns/streaming.md): `streaming` watches the
   * order over gRPC (WatchOrder), `polling` reads it every ORDER_EVENTS_POLL_MS (the before).
   * Switchable at runtime: PUT /api/v1/admin/order-events {mode}.
   */
  ORDER_EVENTS_MODE: z.enum(['streaming', 'polling']).default('streaming'),
  /** One WatchOrder call's deadline; at its end the gateway reads the order and watches again. */
  ORDER_WATCH_DEADLINE_MS: ms(60_000),
  /**
   * Bulkheads (docs/patterns/bulkhead.md): the composition reads (the order page's payment, the
   * profile's cart summary) and checkout each get a compartment of concurrent calls and a queue;
   * a call beyond both is refused at once. Off (BULKHEADS_ENABLED=false or PUT
   * /api/v1/admin/bulkheads {enabled:false}), every guarded call shares one pool of the sizes added up.
   */
  BULKHEADS_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  READS_BULKHEAD_MAX_CONCURRENT: z.coerce.number().int().min(1).max(10_000).default(8),
  READS_BULKHEAD_MAX_QUEUE: z.coerce.number().int().min(0).max(10_000).default(8),
  CHECKOUT_BULKHEAD_MAX_CONCURRENT: z.coerce.number().int().min(1).max(10_000).default(16),
  /** No queue: a checkout that cannot start is refused at once with Retry-After (docs/adr/0016-checkout-load-shedding.md). */
  CHECKOUT_BULKHEAD_MAX_QUEUE: z.coerce.number().int().min(0).max(10_000).default(0),
  ORDER_EVENTS_HEARTBEAT_MS: ms(15_000),
  /** Order event streams open at once per user, and in all; one more is 429 SHOP_TOO_MANY_STREAMS. */
  ORDER_EVENTS_MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(4),
  ORDER_EVENTS_MAX_STREAMS: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /** A stream ends after this long even if its order has not (the client reconnects: `retry:`). */
  ORDER_EVENTS_MAX_LIFETIME_MS: ms(15 * 60_000),
  /** Upper bound of the wait between reads while the order service keeps failing (it doubles from ORDER_EVENTS_POLL_MS). */
  ORDER_EVENTS_MAX_BACKOFF_MS: ms(30_000),
});

export type GatewayConfig = z.infer<typeof configSchema>;

/** The deadline configured for a downstream. */
export function deadlineOf(config: GatewayConfig, service: Downstream): number {
  const byService: Record<Downstream, number> = {
    user: config.USER_DEADLINE_MS,
    catalog: config.CATALOG_DEADLINE_MS,
    cart: config.CART_DEADLINE_MS,
    payment: config.PAYMENT_DEADLINE_MS,
    order: config.ORDER_DEADLINE_MS,
  };
  return byService[service];
}
