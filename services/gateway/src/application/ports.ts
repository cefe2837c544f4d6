import type { GrpcClient, Instance, ServiceRegistry } from '@shoplab/chassis';
import type { cartV1, catalogV1, orderV1, paymentV1, shippingV1, userV1 } from '@shoplab/contracts';

/** A REST call to a downstream; a 4xx/5xx answer or a transport failure rejects with a ShopError. */
export interface RestPort {
  request<T = unknown>(
    target: string,
    req: {
      method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
      path: string;
      headers?: Record<string, string | undefined>;
      body?: unknown;
      deadlineMs?: number;
    },
  ): Promise<{ status: number; headers: Headers; body: T }>;
}

/** The call paths a bulkhead keeps apart: the composition reads, and checkout. */
export type CallPath = 'reads' | 'checkout';

/** The bulkheads' switch and their compartments now (`shared`: the one pool used while they are off). */
export interface BulkheadStatus {
  enabled: boolean;
  compartments: {
    name: CallPath | 'shared';
    maxConcurrent: number;
    maxQueue: number;
    active: number;
    queued: number;
  }[];
}

/** Runs a call in its path's compartment; a full compartment refuses with SHOP_BULKHEAD_FULL. */
export interface CallGuard {
  run<T>(path: CallPath, fn: () => Promise<T>): Promise<T>;
  status(): BulkheadStatus;
  /** Off: every guarded call shares one pool (the before of the before/after switch). */
  setEnabled(enabled: boolean): BulkheadStatus;
  /** New limits per path (the shared pool is their sum); calls already admitted finish where they are. */
  resize(limits: Record<CallPath, { maxConcurrent: number; maxQueue: number }>): BulkheadStatus;
}

/** order.v1.OrderService/WatchOrder: the order after each change, until it ends or the stream does. */
export interface OrderWatchPort {
  watch(
    request: orderV1.WatchOrderRequest,
    /** `authorization`: the user's `Bearer` header, forwarded so the order service checks the user. */
    options: { deadlineMs: number; signal: AbortSignal; authorization?: string },
  ): AsyncIterable<orderV1.Order>;
}

/** Every downstream the gateway talks to. */
export interface Downstreams {
  user: GrpcClient<typeof userV1.UserServiceService>;
  catalog: GrpcClient<typeof catalogV1.CatalogServiceService>;
  cart: GrpcClient<typeof cartV1.CartServiceService>;
  order: GrpcClient<typeof orderV1.OrderServiceService>;
  payment: GrpcClient<typeof paymentV1.PaymentServiceService>;
  /** The order page's shipment (services/shipping). */
  shipping: GrpcClient<typeof shippingV1.ShippingServiceService>;
  rest: RestPort;
  /** The order's changes as a stream (the order events' `streaming` mode). */
  orderWatch: OrderWatchPort;
  /** The bulkheads around the composition reads and checkout. */
  bulkheads: CallGuard;
  /** The HTTP instances of every downstream (REST, `/readyz`, `/admin/chaos`). */
  httpRegistry: ServiceRegistry;
  /** Where each downstream's admin routes are (`/admin/chaos`, the audit's): adminBaseUrlOf an instance. */
  adminRegistry: ServiceRegistry;
  close(): void;
}

/** The verified caller of a user route. */
export interface Caller {
  userId: string;
  /** The `Authorization` header as received, forwarded to the downstreams' REST APIs. */
  authorization: string;
}

/** `http://host:port` of an instance (IPv6 literals in brackets). */
export function baseUrlOf(instance: Instance): string {
  const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
  return `http://${host}:${instance.port}`;
}
