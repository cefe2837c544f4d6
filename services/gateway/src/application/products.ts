import type { Logger } from '@shoplab/chassis';
import { ShopError } from '@shoplab/chassis';
import type { ProductCache } from '../domain/product-cache';
import { type DegradedPart, type ProductView, productView } from '../domain/views';
import { essentialFailure, isRefusal } from './degrade';
import type { Downstreams } from './ports';

export interface ProductPage {
  items: ProductView[];
  nextCursor: string | null;
}

export interface ProductListQuery {
  category?: string | undefined;
  q?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Product reads through the catalog, remembering details for when the catalog is down. */
export class ProductQueries {
  constructor(
    private readonly catalog: Downstreams['catalog'],
    private readonly cache: ProductCache,
    private readonly logger: Logger,
  ) {}

  async list(query: ProductListQuery): Promise<ProductPage> {
    try {
      const res = await this.catalog.call('listProducts', {
        category: query.category ?? '',
        query: query.q ?? '',
        limit: query.limit,
        cursor: query.cursor ?? '',
      });
      const items = res.products.map(productView);
      for (const p of items) this.cache.put(p);
      return { items, nextCursor: res.nextCursor || null };
    } catch (err) {
      throw essentialFailure(err, 'catalog');
    }
  }

  /**
   * One product with its live stock. When the catalog fails and the product was seen in the
   * last TTL, the remembered details are served with `available: null, degraded: ['stock']`.
   */
  async get(id: string): Promise<ProductView & { degraded?: DegradedPart[] }> {
    try {
      const res = await this.catalog.call('getProduct', { id });
      if (!res.product) throw new ShopError('SHOP_NOT_FOUND', `No product ${id}`, { productId: id });
      const product = productView(res.product);
      this.cache.put(product);
      return product;
    } catch (err) {
      if (isRefusal(err)) throw err;
      const cached = this.cache.get(id);
      if (!cached) throw essentialFailure(err, 'catalog');
      this.logger.warn({ productId: id, code: (err as ShopError).code }, 'catalog failed; serving cached product');
      return { ...cached, available: null, degraded: ['stock'] };
    }
  }

  /** Details of many products by id (unknown ids are left out). Rejects when the catalog fails. */
  async byIds(ids: readonly string[]): Promise<Map<string, ProductView>> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map();
    const res = await this.catalog.call('batchGetProducts', { ids: unique });
    const out = new Map<string, ProductView>();
    for (const p of res.products) {
      const view = productView(p);
      this.cache.put(view);
      out.set(view.id, view);
    }
    return out;
  }
}
