// catalog.v1.CatalogService, as checkout uses it: BatchGetProducts for the current names and
// prices (a read, so retried). The saga's stock commands will join this file.
import { createGrpcClient, type GrpcClient, type ServiceKit } from '@shoplab/chassis';
import { catalogV1 } from '@shoplab/contracts';
import type { ProductCatalog } from '../application/ports';
import type { PricedProduct } from '../domain/order';
import { dependencyUnavailable } from './dependency-error';

export type CatalogGrpcClient = GrpcClient<typeof catalogV1.CatalogServiceService>;

export function createCatalogClient(kit: ServiceKit, deadlineMs: number): CatalogGrpcClient {
  return createGrpcClient(
    catalogV1.CatalogServiceClient,
    {
      caller: kit.config.SERVICE_NAME,
      target: 'catalog',
      registry: kit.registry,
      deadlineMs,
      retry: {
        idempotentMethods: ['getProduct', 'batchGetProducts', 'listProducts'],
        retries: 2,
        baseDelayMs: 50,
        maxDelayMs: 400,
      },
    },
    { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger, chaos: kit.chaos },
  );
}

export class GrpcProductCatalog implements ProductCatalog {
  constructor(
    private readonly client: CatalogGrpcClient,
    private readonly logger: ServiceKit['logger'],
  ) {}

  async getProducts(ids: readonly string[]): Promise<Map<string, PricedProduct>> {
    let products: catalogV1.Product[];
    try {
      ({ products } = await this.client.call('batchGetProducts', { ids: [...ids] }));
    } catch (err) {
      throw dependencyUnavailable('catalog', err, this.logger);
    }
    const byId = new Map<string, PricedProduct>();
    for (const p of products) {
      if (!p.price)
        throw dependencyUnavailable('catalog', new Error(`product ${p.id} came without a price`), this.logger);
      byId.set(p.id, { id: p.id, name: p.name, price: { amount: p.price.amount, currency: p.price.currency } });
    }
    return byId;
  }
}
