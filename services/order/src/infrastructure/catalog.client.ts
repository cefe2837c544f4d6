// catalog.v1.CatalogService, as the order service uses it: BatchGetProducts at checkout for the
// current names and prices (a read, so retried), and the saga's stock commands. Those carry
// their idempotency key in the request and the `idempotency-key` header and are not retried
// here: the saga retries them itself, each attempt on its timeline.
import { createGrpcClient, type GrpcClient, type ServiceKit, ShopError } from '@shoplab/chassis';
import { catalogV1 } from '@shoplab/contracts';
import type { CommandOptions, ProductCatalog, StockReservations } from '../application/ports';
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

export class GrpcStockReservations implements StockReservations {
  constructor(private readonly client: CatalogGrpcClient) {}

  async reserve(reservationId: string, lines: { productId: string; quantity: number }[], options: CommandOptions) {
    await this.client.call(
      'reserveStock',
      { idempotencyKey: options.idempotencyKey, reservationId, lines },
      command(options),
    );
  }

  async commit(reservationId: string, options: CommandOptions) {
    await this.client.call('commitStock', { idempotencyKey: options.idempotencyKey, reservationId }, command(options));
  }

  async release(reservationId: string, options: CommandOptions): Promise<'released' | 'committed' | 'restocked'> {
    try {
      await this.client.call(
        'releaseStock',
        { idempotencyKey: options.idempotencyKey, reservationId },
        command(options),
      );
      return 'released';
    } catch (err) {
      // The catalog refuses to release a reservation that is no longer RESERVED, and says what it is.
      if (err instanceof ShopError && err.code === 'SHOP_RESERVATION_INVALID_STATE') {
        if (err.details?.status === 'COMMITTED') return 'committed';
        if (err.details?.status === 'RESTOCKED') return 'restocked';
      }
      throw err;
    }
  }

  async restock(reservationId: string, options: CommandOptions) {
    await this.client.call(
      'restockCommitted',
      { idempotencyKey: options.idempotencyKey, reservationId },
      command(options),
    );
  }
}

function command(options: CommandOptions) {
  return { deadlineMs: options.deadlineMs, idempotencyKey: options.idempotencyKey };
}
