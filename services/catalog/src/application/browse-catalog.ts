// Browsing: pages of products, single products, categories.
import { ShopError } from '@shoplab/chassis/errors';
import {
  type CategorySummary,
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  decodePopularCursor,
  encodeCursor,
  encodePopularCursor,
  MAX_PAGE_SIZE,
  type Product,
  type ProductPage,
} from '../domain/product';
import type { ProductReader } from './ports';

export interface ListProductsInput {
  category?: string | undefined;
  q?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
  /** `id` (default) or `popular`: most units sold in confirmed orders first, then by id. */
  sort?: ProductSort | undefined;
}

export const PRODUCT_SORTS = ['id', 'popular'] as const;
export type ProductSort = (typeof PRODUCT_SORTS)[number];

export class BrowseCatalog {
  constructor(private readonly products: ProductReader) {}

  /** A page ordered by id; the cursor continues after the page's last id with the same filters. */
  async list(input: ListProductsInput): Promise<ProductPage> {
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new ShopError('SHOP_VALIDATION_FAILED', `limit must be between 1 and ${MAX_PAGE_SIZE}`, { field: 'limit' });
    }
    const category = input.category?.trim() || undefined;
    const text = input.q?.trim() || undefined;
    if (input.sort === 'popular') return this.listPopular({ limit, category, text, cursor: input.cursor });
    const afterId = input.cursor ? decodeCursor(input.cursor) : undefined;
    // One extra row tells whether another page follows.
    const rows = await this.products.list({
      limit: limit + 1,
      ...(category ? { category } : {}),
      ...(text ? { text } : {}),
      ...(afterId ? { afterId } : {}),
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
  }

  private async listPopular(input: {
    limit: number;
    category: string | undefined;
    text: string | undefined;
    cursor: string | undefined;
  }): Promise<ProductPage> {
    const after = input.cursor ? decodePopularCursor(input.cursor) : undefined;
    const rows = await this.products.listPopular({
      limit: input.limit + 1,
      ...(input.category ? { category: input.category } : {}),
      ...(input.text ? { text: input.text } : {}),
      ...(after ? { after } : {}),
    });
    const page = rows.slice(0, input.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(({ unitsSold: _unitsSold, ...product }) => product),
      nextCursor:
        rows.length > input.limit && last ? encodePopularCursor({ id: last.id, unitsSold: last.unitsSold }) : null,
    };
  }

  async get(id: string): Promise<Product> {
    const product = await this.products.get(id);
    if (!product) throw new ShopError('SHOP_NOT_FOUND', `No product ${id}`, { productId: id });
    return product;
  }

  /** The products that exist, in the order asked, and the ids that do not. */
  async getMany(ids: readonly string[]): Promise<{ products: Product[]; missingIds: string[] }> {
    const unique = [...new Set(ids)];
    if (unique.length > MAX_PAGE_SIZE) {
      throw new ShopError('SHOP_VALIDATION_FAILED', `At most ${MAX_PAGE_SIZE} ids per batch`, { field: 'ids' });
    }
    const found = new Map((await this.products.getMany(unique)).map((p) => [p.id, p]));
    return {
      products: unique.flatMap((id) => found.get(id) ?? []),
      missingIds: unique.filter((id) => !found.has(id)),
    };
  }

  categories(): Promise<CategorySummary[]> {
    return this.products.categories();
  }
}
