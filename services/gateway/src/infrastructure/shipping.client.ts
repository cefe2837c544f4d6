import { createGrpcClient, type GrpcClient } from '@shoplab/chassis';
import { shippingV1 } from '@shoplab/contracts';
import { CALLER, type DownstreamClientSettings, READ_RETRY_BACKOFF } from './grpc-deps';

export type ShippingClient = GrpcClient<typeof shippingV1.ShippingServiceService>;

/** shipping.v1.ShippingService: an order's shipment for the order page. The gateway only reads (tracks). */
export function createShippingClient(settings: DownstreamClientSettings): ShippingClient {
  return createGrpcClient(
    shippingV1.ShippingServiceClient,
    {
      caller: CALLER,
      target: 'shipping',
      registry: settings.registry,
      deadlineMs: settings.deadlineMs,
      retry: { idempotentMethods: ['trackShipment', 'quote'], retries: settings.retries, ...READ_RETRY_BACKOFF },
      ...(settings.breaker ? { breaker: settings.breaker } : {}),
    },
    settings.deps,
  );
}
