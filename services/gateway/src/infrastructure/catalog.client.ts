import { createGrpcClient, type GrpcClient } from '@shoplab/chassis';
import { catalogV1 } from '@shoplab/contracts';
import { CALLER, type DownstreamClientSettings, READ_RETRY_BACKOFF } from './grpc-deps';

export type CatalogClient = GrpcClient<typeof catalogV1.CatalogServiceService>;

/** catalog.v1.CatalogService: product details, prices and live stock. The gateway only reads; its read methods are retried. */
export function createCatalogClient(settings: DownstreamClientSettings): CatalogClient {
  return createGrpcClient(
    catalogV1.CatalogServiceClient,
    {
      caller: CALLER,
      target: 'catalog',
      registry: settings.registry,
      deadlineMs: settings.deadlineMs,
      retry: {
        idempotentMethods: ['getProduct', 'batchGetProducts', 'listProducts'],
        retries: settings.retries,
        ...READ_RETRY_BACKOFF,
      },
      ...(settings.breaker ? { breaker: settings.breaker } : {}),
    },
    settings.deps,
  );
}
