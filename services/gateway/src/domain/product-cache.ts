import type { ProductView } from './views';

/**
 * The last product details the catalog gave us, kept for `ttlMs`, so a product page can
 * still be shown (without live stock) while the catalog is down. Bounded: the oldest entry
 * goes first when full.
 */
export class ProductCache {
  private readonly entries = new Map<string, { product: ProductView; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  put(product: ProductView): void {
    this.entries.delete(product.id);
    this.entries.set(product.id, { product, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get(id: string): ProductView | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.product;
  }

  get size(): number {
    return this.entries.size;
  }
}
