// The catalog, as the cart calls it: BatchGetProducts over gRPC with a deadline, retries (it is
// idempotent) and the chassis breaker per (cart, catalog). Anything but a clear "no such
// product" means we could not check the line, which the cart answers with 503.
import { createGrpcClient, type GrpcClient, type ServiceKit } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis/errors';
import { catalogV1 } from '@shoplab/contracts';
import type { ProductCatalog } from '../application/ports';
import type { ProductInfo } from '../domain/cart';

export type CatalogClient = GrpcClient<typeof catalogV1.CatalogServiceService>;

export function createCatalogClient(
  kit: Pick<ServiceKit, 'registry' | 'metrics' | 'breakers' | 'logger' | 'chaos'> & {
    config: { SERVICE_NAME: string };
  },
  settings: { deadlineMs: number; retries: number },
): CatalogClient {
  return createGrpcClient(
    catalogV1.CatalogServiceClient,
    {
      caller: kit.config.SERVICE_NAME,
      target: 'catalog',
      registry: kit.registry,
      deadlineMs: settings.deadlineMs,
      retry: { idempotentMethods: ['batchGetProducts'], retries: settings.retries, baseDelayMs: 25, maxDelayMs: 200 },
    },
    { metrics: kit.metrics, breakers: kit.breakers, logger: kit.logger, chaos: kit.chaos },
  );
}

export class GrpcProductCatalog implements ProductCatalog {
  constructor(private readonly client: CatalogClient) {}

  async getProduct(productId: string): Promise<ProductInfo> {
    let response: catalogV1.BatchGetProductsResponse;
    try {
      response = await this.client.call('batchGetProducts', { ids: [productId] });
    } catch (err) {
      if (err instanceof ShopError && err.code === 'SHOP_NOT_FOUND') throw unknownProduct(productId);
      throw new ShopError(
        'SHOP_DEPENDENCY_UNAVAILABLE',
        'The catalog cannot confirm the product right now; try again shortly',
        { dependency: 'catalog', ...(err instanceof ShopError ? { cause: err.code } : {}) },
        { cause: err },
      );
    }
    const product = response.products.find((p) => p.id === productId);
    if (!product?.price) throw unknownProduct(productId);
    return { id: product.id, price: product.price, available: product.available };
  }
}

function unknownProduct(productId: string): ShopError {
  return new ShopError('SHOP_NOT_FOUND', `No product ${productId}`, { productId });
}
