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

/** A product page's answer: live from the catalog (`ageMs: null`) or from the gateway's cache. */
export interface ProductAnswer {
  product: ProductView & { degraded?: DegradedPart[] };
  /** How old the remembered details are; null when the catalog answered just now. */
  ageMs: number | null;
}

export interface ProductListQuery {
  category?: string | undefined;
  q?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Product reads through the catalog, remembering details for when the catalog is down. */
export class ProductQueries {
  /**
   * Whether a product page falls back on the remembered details when the catalog fails (PA);
   * switched off, it answers 503 like the list (PC): the before/after switch of exercise 13,
   * `PUT /api/v1/admin/product-cache`. Not persisted.
   */
  fallback = true;

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
   * last TTL, the remembered details are served with `available: null, degraded: ['stock']`
   * (available rather than consistent: docs/patterns/cap-pacelc.md). With `maxStaleMs` (the
   * client's `Cache-Control: max-stale`) details remembered at most that long ago are served
   * as they were, stock included, without asking the catalog: the client chose latency over
   * consistency. A product not remembered (or remembered longer ago) is read live.
   */
  async get(id: string, options: { maxStaleMs?: number | undefined } = {}): Promise<ProductAnswer> {
    if (options.maxStaleMs !== undefined) {
      const cached = this.cache.entry(id);
      if (cached && cached.ageMs <= options.maxStaleMs) return { product: cached.product, ageMs: cached.ageMs };
    }
    try {
      const res = await this.catalog.call('getProduct', { id });
      if (!res.product) throw new ShopError('SHOP_NOT_FOUND', `No product ${id}`, { productId: id });
      const product = productView(res.product);
      this.cache.put(product);
      return { product, ageMs: null };
    } catch (err) {
      if (isRefusal(err)) throw err;
      const cached = this.fallback ? this.cache.entry(id) : undefined;
      if (!cached) throw essentialFailure(err, 'catalog');
      this.logger.warn({ productId: id, code: (err as ShopError).code }, 'catalog failed; serving cached product');
      return { product: { ...cached.product, available: null, degraded: ['stock'] }, ageMs: cached.ageMs };
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
