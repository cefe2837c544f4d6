import { createGrpcClient, type GrpcClient } from '@shoplab/chassis';
import { cartV1 } from '@shoplab/contracts';
import { CALLER, type DownstreamClientSettings, READ_RETRY_BACKOFF } from './grpc-deps';

export type CartClient = GrpcClient<typeof cartV1.CartServiceService>;

/** cart.v1.CartService: the cart summary of /me. The gateway only reads; its read methods are retried. */
export function createCartClient(settings: DownstreamClientSettings): CartClient {
  return createGrpcClient(
    cartV1.CartServiceClient,
    {
      caller: CALLER,
      target: 'cart',
      registry: settings.registry,
      deadlineMs: settings.deadlineMs,
      retry: { idempotentMethods: ['getCart'], retries: settings.retries, ...READ_RETRY_BACKOFF },
      ...(settings.breaker ? { breaker: settings.breaker } : {}),
    },
    settings.deps,
  );
}
