import type { ProductView } from './views';

/** A remembered product and how old it is: the seconds of an HTTP `Age` header. */
export interface CachedProduct {
  product: ProductView;
  /** Milliseconds since the catalog gave these details. */
  ageMs: number;
}

/**
 * The last product details the catalog gave us, kept for `ttlMs`, so a product page can
 * still be shown (without live stock) while the catalog is down, or from memory when a client
 * asks for it (`Cache-Control: only-if-cached`). Bounded: the oldest entry goes first when full.
 */
export class ProductCache {
  private readonly entries = new Map<string, { product: ProductView; storedAt: number; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  put(product: ProductView): void {
    const storedAt = this.now();
    this.entries.delete(product.id);
    this.entries.set(product.id, { product, storedAt, expiresAt: storedAt + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get(id: string): ProductView | undefined {
    return this.entry(id)?.product;
  }

  /** The remembered details of `id` with their age, unless older than the TTL. */
  entry(id: string): CachedProduct | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const now = this.now();
    if (entry.expiresAt <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return { product: entry.product, ageMs: now - entry.storedAt };
  }

  get size(): number {
    return this.entries.size;
  }
}
