import type { GrpcClient, Instance, ServiceRegistry } from '@shoplab/chassis';
import type { cartV1, catalogV1, orderV1, paymentV1, userV1 } from '@shoplab/contracts';

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

/** Every downstream the gateway talks to. */
export interface Downstreams {
  user: GrpcClient<typeof userV1.UserServiceService>;
  catalog: GrpcClient<typeof catalogV1.CatalogServiceService>;
  cart: GrpcClient<typeof cartV1.CartServiceService>;
  order: GrpcClient<typeof orderV1.OrderServiceService>;
  payment: GrpcClient<typeof paymentV1.PaymentServiceService>;
  rest: RestPort;
  /** The HTTP instances of every downstream (REST, `/readyz`, `/admin/chaos`). */
  httpRegistry: ServiceRegistry;
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
