import { createGrpcClient, type GrpcClient } from '@shoplab/chassis';
import { orderV1 } from '@shoplab/contracts';
import { CALLER, type DownstreamClientSettings, READ_RETRY_BACKOFF } from './grpc-deps';

export type OrderClient = GrpcClient<typeof orderV1.OrderServiceService>;

/** order.v1.OrderService: orders and their saga timeline. The gateway only reads; its read methods are retried. */
export function createOrderClient(settings: DownstreamClientSettings): OrderClient {
  return createGrpcClient(
    orderV1.OrderServiceClient,
    {
      caller: CALLER,
      target: 'order',
      registry: settings.registry,
      deadlineMs: settings.deadlineMs,
      retry: { idempotentMethods: ['getOrder', 'listOrders'], retries: settings.retries, ...READ_RETRY_BACKOFF },
      ...(settings.breaker ? { breaker: settings.breaker } : {}),
    },
    settings.deps,
  );
}
